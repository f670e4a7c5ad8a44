/**
 * The browser half of the bad-input/fault table (issue #13.6), through the public `CosyVoice` API on the tiny test
 * package: every fault ends in its typed code (or the signal's `AbortError`), never a hang, and then the page speaks
 * the reference audio for the seed — on the same instance wherever one exists (a fault while loading leaves none, so
 * the next load on the same page must work; a killed worker is restarted by the instance). Network faults are made
 * with Playwright's `page.route` (which sees the workers' requests); cache faults are in storage.browser.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page, Route } from '@playwright/test';
import { maxAbsDiff } from '../helpers/npz.ts';
import { expect, sharedPage, test } from './fixtures.ts';
import { GOLDEN_VOICE, manifest, REFERENCE, SEED, texts, TINY_PACKAGE, VOICE, ZH } from './tiny-golden.ts';

const PROMPT_TEXT = texts['prompt']?.text ?? '';
const PROMPT_URL = '/shared-data/prompts/zero_shot_prompt.wav';

/**
 * Time budget per model load (workers started, files fetched, sessions created, maybe a synthesis after it): measured
 * up to ~40 s on a loaded 2-core machine, so 3× that. Each test's timeout is this times the loads it makes.
 */
const LOAD_BUDGET_MS = 120_000;

/** The fp32 file of a graph of the package. */
function graphFile(graph: 'flow_step' | 'speech_tokenizer'): string {
  const file = manifest.graphs[graph]?.fp32?.file;
  if (file === undefined) throw new Error(`the tiny package has no fp32 ${graph}`);
  return file;
}

/** A model file's bytes as the package has them. */
function packageFile(path: string): Buffer {
  return readFileSync(join(TINY_PACKAGE, path));
}

/** Network faults on one package file, made in the route handler. */
const NETWORK_FAULTS = [
  {
    fault: 'HTTP 404',
    code: 'ERR_ASSET_FETCH',
    handle: (route: Route) => route.fulfill({ status: 404, body: 'not found' }),
  },
  {
    fault: 'HTTP 500',
    code: 'ERR_ASSET_FETCH',
    handle: (route: Route) => route.fulfill({ status: 500, body: 'server error' }),
  },
  {
    // the server's copy is cut short: a consistent response with fewer bytes than the manifest's size
    fault: 'a truncated file',
    code: 'ERR_ASSET_INTEGRITY',
    handle: (route: Route, path: string) => {
      const bytes = packageFile(path);
      return route.fulfill({ status: 200, body: bytes.subarray(0, bytes.length >> 1) });
    },
  },
  {
    // the connection drops mid-body on every attempt: the loader resumes with Range requests, then gives up
    fault: 'a connection cut mid-body',
    code: 'ERR_ASSET_FETCH',
    handle: (route: Route, path: string) =>
      route.continue({ url: `${route.request().url()}?abortAfter=${packageFile(path).length >> 3}` }),
  },
  {
    fault: 'a hash mismatch (one byte changed, same size)',
    code: 'ERR_ASSET_INTEGRITY',
    handle: (route: Route, path: string) => {
      const bytes = Buffer.from(packageFile(path));
      bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
      return route.fulfill({ status: 200, body: bytes });
    },
  },
] as const;

/** Routes requests for `path` through `handle` until the returned function removes the route. */
async function faultOn(
  page: Page,
  path: string,
  handle: (route: Route, path: string) => Promise<void>,
): Promise<() => Promise<void>> {
  const pattern = new RegExp(`/${path.replace(/\./g, '\\.')}$`);
  const handler = (route: Route) => handle(route, path);
  await page.route(pattern, handler);
  return () => page.unroute(pattern, handler);
}

/** Synthesises on the loaded instance and expects the reference audio for the seed. */
async function expectReferenceAudio(page: Page, label: string): Promise<void> {
  const audio = await page.evaluate(({ text, seed }) => window.tts.trySynthesize(text, seed), { text: ZH, seed: SEED });
  expect(audio.ok, `${label}: ${audio.ok ? '' : audio.message}`).toBe(true);
  if (!audio.ok) return;
  expect(audio.value.length, label).toBe(REFERENCE.length);
  expect(maxAbsDiff(Float32Array.from(audio.value), REFERENCE), label).toBeLessThan(1e-4);
}

/** Loads the package (Cache API: the later loads read it back), loads the golden voice, expects the reference audio. */
async function loadAndExpectReferenceAudio(page: Page, label: string): Promise<void> {
  const created = await page.evaluate(() => window.tts.create({ cache: 'cache-api' }));
  expect(created.ok, created.ok ? '' : created.message).toBe(true);
  await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
  await expectReferenceAudio(page, label);
}

/**
 * One page and, after the load-fault rows, one loaded instance (the golden voice loaded) for every row: each row
 * asserts that the instance it leaves speaks the reference audio, which is what the next row starts from.
 *
 * One project (`@not-isolated-only`): no row depends on cross-origin isolation. Isolation changes only the playback
 * transport (no row plays audio) and the wasm thread count (1 in both projects on a 2-core machine); a fault, an
 * abort or a killed worker is handled on the main thread whatever the threads. The not-isolated project ran this file
 * faster (332 s vs 385 s before the rows shared a page).
 */
test.describe('fault table (browser, public API)', { tag: '@not-isolated-only' }, () => {
  const shared = sharedPage('tts');

  test('load faults: network faults on a model file (before any session exists in any worker) and aborts at each step are typed; the next load speaks', async () => {
    test.setTimeout(LOAD_BUDGET_MS * (NETWORK_FAULTS.length + 3 + 1));
    const page = shared();
    const victim = graphFile('flow_step'); // fetched by the flow worker while the others load
    const sessions = () => page.evaluate(() => window.tts.sessionsCreated());
    for (const { fault, code, handle } of NETWORK_FAULTS) {
      const unroute = await faultOn(page, victim, handle);
      const before = await sessions();
      const created = await page.evaluate(() => window.tts.create({ cache: 'cache-api' }));
      await unroute();
      // every file of every worker is verified before any worker makes a session (issue #13.5)
      expect(await sessions(), `${fault}: sessions created`).toBe(before);
      expect(created.ok, fault).toBe(false);
      if (created.ok) continue;
      expect(created.code, `${fault}: ${created.message}`).toBe(code);
      expect(created.message, fault).toContain(victim);
    }
    for (const abortOn of ['start', 'download', 'sessions'] as const) {
      const created = await page.evaluate((on) => window.tts.create({ cache: 'none', abortOn: on }), abortOn);
      expect(created.ok ? 'loaded' : created.code, `abort at ${abortOn}`).toBe('AbortError');
    }
    const before = await sessions();
    await loadAndExpectReferenceAudio(page, 'after the load faults');
    // the count is live: a good load announces a session per graph of the LM, flow and vocoder stages
    expect(await sessions()).toBeGreaterThanOrEqual(before + 3);
  });

  test('a request aborted before it starts, while the LM works, or at its first audio: AbortError, then the same instance speaks', async () => {
    test.setTimeout(LOAD_BUDGET_MS * 2); // six short requests on the loaded instance
    const page = shared();
    for (const abortOn of ['before', 'started', 'first-audio'] as const) {
      const aborted = await page.evaluate(({ text, seed, on }) => window.tts.trySynthesize(text, seed, on), {
        text: ZH.repeat(6),
        seed: SEED,
        on: abortOn,
      });
      expect(aborted.ok ? 'resolved' : aborted.code, `abort ${abortOn}`).toBe('AbortError');
      await expectReferenceAudio(page, `after the abort ${abortOn}`);
    }
  });

  test('cloning-model faults are typed and leave the instance speaking; then cloning works', async () => {
    test.setTimeout(LOAD_BUDGET_MS * (2 * NETWORK_FAULTS.length + 1));
    const page = shared();
    const victim = graphFile('speech_tokenizer'); // fetched by the voice worker on the first clone
    for (const { fault, code, handle } of NETWORK_FAULTS) {
      const unroute = await faultOn(page, victim, handle);
      const cloned = await page.evaluate(({ url, text }) => window.tts.tryClone(url, text), {
        url: PROMPT_URL,
        text: PROMPT_TEXT,
      });
      await unroute();
      expect(cloned.ok, fault).toBe(false);
      if (cloned.ok) continue;
      expect(cloned.code, `${fault}: ${cloned.message}`).toBe(code);
      await expectReferenceAudio(page, `after ${fault} while loading the cloning models`);
    }
    // misuse of cloneVoice itself: typed before any work, or the signal's AbortError while it works
    for (const [misuse, code, message] of [
      ['null-options', 'ERR_INVALID_INPUT', /cloneVoice options must be an object/],
      ['typo', 'ERR_INVALID_INPUT', /Did you mean "transcript"\?/],
      ['aborted', 'AbortError', /./],
      ['abort-during', 'AbortError', /./],
    ] as const) {
      const misused = await page.evaluate(({ url, text, how }) => window.tts.tryClone(url, text, how), {
        url: PROMPT_URL,
        text: PROMPT_TEXT,
        how: misuse,
      });
      expect(misused.ok ? 'resolved' : misused.code, misuse).toBe(code);
      if (!misused.ok) expect(misused.message, misuse).toMatch(message);
    }
    const cloned = await page.evaluate(({ url, text }) => window.tts.tryClone(url, text), {
      url: PROMPT_URL,
      text: PROMPT_TEXT,
    });
    expect(cloned).toEqual({ ok: true, value: Array.from(GOLDEN_VOICE.promptTokens) });
    await expectReferenceAudio(page, 'after cloning');
  });

  for (const role of ['lm', 'vocoder'] as const) {
    test(`the ${role} worker terminated mid-request: ERR_WORKER_CRASHED (no hang), then it is restarted and the same instance speaks`, async () => {
      test.setTimeout(LOAD_BUDGET_MS * 2); // a request, a worker's restart and two requests
      const page = shared();
      const killed = await page.evaluate(
        ({ role, text, seed, laterText }) => window.tts.killWorkerDuringStream(role, text, seed, { laterText }),
        { role, text: ZH.repeat(4), seed: SEED, laterText: ZH },
      );
      expect(killed).toMatchObject({
        firstWhileHeld: true,
        pending: 'ERR_WORKER_CRASHED',
        later: 'resolved',
        recovered: [{ stages: [role], attempts: 1 }],
      });
      expect(killed.message).toMatch(new RegExp(`^The ${role} worker crashed: it was terminated`));
      // the request made right after the crash (it waited for the restart) gives the reference audio
      expect(killed.laterSamples.length).toBe(REFERENCE.length);
      expect(maxAbsDiff(Float32Array.from(killed.laterSamples), REFERENCE)).toBeLessThan(1e-4);
    });
  }
});
