/**
 * The public API end to end in Chromium: CosyVoice with its real workers (LM, flow, vocoder) on the tiny fixture
 * package, with and without cross-origin isolation (projects), on WASM (WebGPU: webgpu-pipeline.browser.test.ts).
 *
 * Most tests share one loaded instance (`sharedPage`): what they check is the instance's behaviour over many requests,
 * and a load is most of a short test's time. Tests that need a load of their own (other options, a crash) open their
 * own page; those whose subject does not depend on cross-origin isolation run in one project.
 */
import { floats, ints, maxAbsDiff, need } from '../helpers/npz.ts';
import { E2E_TOLERANCE, expectedAudio, goldenRequest, LONG_STREAM, MODES, seedOf } from '../helpers/request-goldens.ts';
import type { Page } from '@playwright/test';
import { expect, sharedPage, test } from './fixtures.ts';
import { e2e, GOLDEN_VOICE, SEED, texts, VOICE, ZH } from './tiny-golden.ts';

/** The golden text and seed synthesised offline on `page`'s instance give the reference audio and its WAV. */
async function expectReferenceOffline(page: Page): Promise<void> {
  const offline = await page.evaluate(({ text, seed }) => window.tts.synthesize(text, seed), { text: ZH, seed: SEED });
  const reference = floats(need(e2e, 'offline_wave'));
  expect(offline.samples.length).toBe(reference.length);
  expect(maxAbsDiff(Float32Array.from(offline.samples), reference)).toBeLessThan(1e-4);
  expect(offline.wavBytes).toBe(44 + 2 * reference.length);
}

test.describe('CosyVoice on WASM, one instance for many requests', () => {
  const shared = sharedPage('tts');
  let created: Awaited<ReturnType<typeof window.tts.create>> | undefined;
  test.beforeAll(async () => {
    created = await shared().evaluate(() => window.tts.create({ device: 'wasm', dtype: 'fp32' }));
    await shared().evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
  });

  test('loads with progress that adds up, and delivers the reference audio for the seed', async () => {
    const page = shared();
    expect(created?.ok).toBe(true);
    if (created?.ok !== true) return;
    expect(Object.values(created.placement).map((p) => p.device)).toEqual(['wasm', 'wasm', 'wasm', 'wasm']);
    // progress: one load-start whose total is the sum of the files, every file reported done at its size
    const start = created.events.find((e) => e['type'] === 'load-start') as {
      totalBytes: number;
      files: Array<{ file: string; bytes: number }>;
    };
    expect(start.totalBytes).toBe(start.files.reduce((n, f) => n + f.bytes, 0));
    const done = created.events.filter((e) => e['type'] === 'file-done').map((e) => e['file']);
    expect(new Set(done)).toEqual(new Set(start.files.map((f) => f.file)));
    const last = created.events.filter((e) => e['type'] === 'load-progress').at(-1);
    expect(last).toMatchObject({ loaded: start.totalBytes, total: start.totalBytes, fraction: 1 });
    expect(created.events.filter((e) => e['type'] === 'session-ready')).toHaveLength(3);
    expect(created.events.at(-1)?.['type']).toBe('ready');

    await expectReferenceOffline(page);

    const streamed = await page.evaluate(({ text, seed }) => window.tts.stream(text, seed), { text: ZH, seed: SEED });
    expect(streamed.chunks.map((c) => c.length)).toEqual(ints(need(e2e, 'stream_chunk_samples')));
    expect(maxAbsDiff(Float32Array.from(streamed.chunks.flat()), floats(need(e2e, 'stream_wave')))).toBeLessThan(1e-4);
    // each chunk says what it says and where it starts; only the last is final; the events carry the same
    const starts = streamed.chunks.map((_, i) => streamed.chunks.slice(0, i).flat().length / 24000);
    expect(streamed.meta).toEqual(
      streamed.chunks.map((_, i) => ({ text: ZH, startTime: starts[i], final: i === streamed.chunks.length - 1 })),
    );
    expect(streamed.events).toEqual(streamed.meta.map(({ text, startTime }) => ({ text, startTime })));
  });

  test('speak(): audio reaches the worklet and plays before synthesis ends; abort silences it and the workers stay usable', async ({
    isolated,
  }) => {
    const page = shared();
    const long = `${ZH}${ZH}${ZH}`;
    const spoken = await page.evaluate(({ text, seed }) => window.tts.speak(text, seed), { text: long, seed: 3 });
    expect(spoken.error).toBeUndefined();
    expect(spoken.transport).toBe(isolated ? 'sab' : 'port');
    expect(spoken.chunkLog.length).toBeGreaterThan(2);
    // the first chunk was already audible when the last chunk was synthesised
    expect(spoken.chunkLog.at(-1)?.framesPlayed ?? 0).toBeGreaterThan(0);
    expect(spoken.firstAudioMs).toBeGreaterThan(0);
    const offline = await page.evaluate(({ text, seed }) => window.tts.stream(text, seed), { text: long, seed: 3 });
    expect(spoken.framesPlayed).toBe(offline.chunks.flat().length);

    for (const by of ['abort', 'stop'] as const) {
      const interrupted = await page.evaluate(
        ({ text, seed, by }) => window.tts.speak(text, seed, { afterChunks: 1, by }),
        { text: long, seed: 3, by },
      );
      expect(interrupted.error).toBe('AbortError');
      expect(interrupted.framesPlayedLater).toBe(interrupted.framesPlayed); // silent after the abort / stop
      expect(interrupted.framesPlayed).toBeLessThan(offline.chunks.flat().length);
    }

    const again = await page.evaluate(({ text, seed }) => window.tts.synthesize(text, seed), { text: ZH, seed: SEED });
    expect(maxAbsDiff(Float32Array.from(again.samples), floats(need(e2e, 'offline_wave')))).toBeLessThan(1e-4);
  });

  test(
    'speak(): the vocoder worker feeds the ring itself, so audio plays while the main thread is blocked',
    { tag: '@isolated-only' },
    async () => {
      const page = shared();
      const long = `${ZH}${ZH}${ZH}`;
      // The deadline only bounds a failure: the loop ends as soon as the worklet has played a frame.
      const result = await page.evaluate(({ text, seed }) => window.tts.speakWhileBlocked(text, seed, 20_000), {
        text: long,
        seed: 3,
      });
      expect(result.error).toBeUndefined();
      expect(result.playedWhileBlocked).toBeGreaterThan(0);
      const offline = await page.evaluate(({ text, seed }) => window.tts.stream(text, seed), { text: long, seed: 3 });
      expect(result.framesPlayed).toBe(offline.chunks.flat().length);
    },
  );

  test('20 consecutive utterances without memory growth', { tag: '@isolated-only' }, async () => {
    const page = shared();
    const run = (n: number) =>
      page.evaluate(
        async ({ text, n }) => {
          for (let i = 0; i < n; i++) await window.tts.stream(text, i);
        },
        { text: ZH, n },
      );
    // warm-up: the first utterances grow the wasm heaps and JIT caches (measured 114.8 → 119.3 MB over the first 20,
    // then flat within ±0.2 MB for 80 more); a leak would show as steady growth after it
    await run(20);
    const before = await page.evaluate(() => window.tts.memory());
    await run(20);
    const after = await page.evaluate(() => window.tts.memory());
    expect(before).toBeGreaterThan(0);
    console.log(`memory: ${(before / 1e6).toFixed(1)} MB → ${(after / 1e6).toFixed(1)} MB after 20 more utterances`);
    expect(after - before).toBeLessThan(0.01 * before);
  });

  test(
    'a long stream (≥ 6 chunks) under the upstream, small-first-hop and bounded-context schedules',
    { tag: '@isolated-only' }, // the request goldens do not play audio: isolation changes nothing they check
    async () => {
      test.setTimeout(600_000); // three 406-token streams: 2.2 min measured alone at load average 18 on 2 cores
      const page = shared();
      const long = goldenRequest('long_stream');
      const seed = seedOf(need(LONG_STREAM, 'seed'));
      const stride = ints(need(LONG_STREAM, 'wave_stride'))[0] ?? 0;
      for (const [name, streaming] of Object.entries(long.schedules ?? {})) {
        const request = { ...long, options: { ...long.options, streaming } };
        const got = await page.evaluate((a) => window.tts.goldenRequest(a.request, a.seed, a.stride), {
          request,
          seed,
          stride,
        });
        const expected = expectedAudio(LONG_STREAM, name, stride);
        expect(got.chunkSamples.length).toBeGreaterThanOrEqual(6);
        expect(got.chunkSamples).toEqual(expected.chunkSamples);
        expect(got.tokens).toBe(ints(need(LONG_STREAM, 'tokens')).length);
        expect(maxAbsDiff(Float32Array.from(got.wave), expected.wave)).toBeLessThan(E2E_TOLERANCE);
      }
    },
  );

  test(
    'every mode: cross-lingual, instruct, tags, multi-segment text, bistream held open then released',
    { tag: '@isolated-only' }, // as above
    async () => {
      test.setTimeout(600_000); // five requests: 1.6 min measured alone at load average 18 on 2 cores
      const page = shared();
      const stride = ints(need(MODES, 'wave_stride'))[0] ?? 0;
      for (const mode of ['cross_lingual', 'instruct', 'tags', 'multi_segment', 'bistream']) {
        const request = goldenRequest(mode);
        const seed = seedOf(need(MODES, `${mode}.seed`));
        const got = await page.evaluate((a) => window.tts.goldenRequest(a.request, a.seed, a.stride), {
          request,
          seed,
          stride,
        });
        const expected = expectedAudio(MODES, mode, stride);
        const tokens = ints(need(MODES, `${mode}.tokens`));
        expect(got.tokens).toBe(tokens.length);
        if (request.call === 'synthesize') {
          expect(got.segmentTokens.flat()).toEqual(tokens);
          expect(got.chunkSamples).toEqual([expected.chunkSamples.reduce((n, c) => n + c, 0)]);
        } else {
          expect(got.chunkSamples).toEqual(expected.chunkSamples);
        }
        expect(got.heldFirst).toBe(request.opening !== undefined);
        expect(maxAbsDiff(Float32Array.from(got.wave), expected.wave)).toBeLessThan(E2E_TOLERANCE);
      }
    },
  );
});

test.describe('CosyVoice on WASM, a load of its own', () => {
  // cloning runs in its own worker (topology 'merged' here): isolation only changes its thread count
  test('clones a voice from a real recording in a worker', { tag: '@isolated-only' }, async ({ openPage }) => {
    const page = await openPage('tts');
    await page.evaluate(() => window.tts.create({ device: 'wasm', dtype: 'fp32', topology: 'merged' }));
    const cloned = await page.evaluate(
      (transcript) => window.tts.clone('/shared-data/prompts/zero_shot_prompt.wav', transcript),
      texts['prompt']?.text ?? '',
    );
    expect(cloned.promptTokens).toEqual(Array.from(GOLDEN_VOICE.promptTokens));
    expect(maxAbsDiff(Float32Array.from(cloned.embedding), GOLDEN_VOICE.embedding)).toBeLessThan(1e-4);
    await page.evaluate(() => window.tts.dispose());
  });

  // the Cache API store does not depend on isolation
  test(
    'files are cached after the first load and verified from the cache the next time',
    { tag: '@not-isolated-only' },
    async ({ openPage }) => {
      const page = await openPage('tts');
      const first = await page.evaluate(() => window.tts.create({ device: 'wasm', dtype: 'fp32', cache: 'cache-api' }));
      await page.evaluate(() => window.tts.dispose());
      const second = await page.evaluate(() =>
        window.tts.create({ device: 'wasm', dtype: 'fp32', cache: 'cache-api' }),
      );
      expect(first.ok && second.ok).toBe(true);
      const done = (events: Array<Record<string, unknown>>) => events.filter((e) => e['type'] === 'file-done');
      expect(done(first.events).length).toBeGreaterThan(0);
      expect(done(first.events).every((e) => e['fromCache'] === false)).toBe(true);
      expect(done(second.events).map((e) => e['file'])).toEqual(
        expect.arrayContaining(done(first.events).map((e) => e['file'])),
      );
      expect(done(second.events).every((e) => e['fromCache'] === true)).toBe(true);
      await page.evaluate(() => window.tts.dispose());
    },
  );

  // a worker's crash is handled on the main thread whatever the isolation
  test(
    'a crashed worker rejects the pending request and is restarted: the same instance speaks; one that crashes on every start ends the instance',
    { tag: '@isolated-only' },
    async ({ openPage }) => {
      test.setTimeout(360_000); // two loads, a restart and three failed starts on a loaded 2-core machine
      const page = await openPage('tts');
      const reference = floats(need(e2e, 'offline_wave'));
      const speaks = async (label: string) => {
        const audio = await page.evaluate(({ text, seed }) => window.tts.synthesize(text, seed), {
          text: ZH,
          seed: SEED,
        });
        expect(maxAbsDiff(Float32Array.from(audio.samples), reference), label).toBeLessThan(1e-4);
      };
      await page.evaluate(() => window.tts.create({ device: 'wasm', dtype: 'fp32' }));
      await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
      const crash = await page.evaluate(({ text }) => window.tts.crashDuringStream(text, 1), { text: ZH.repeat(4) });
      // the first chunk came out of the opening text alone (a text stream is spoken while it arrives); the request
      // made after the crash waited for the new flow worker
      expect(crash).toMatchObject({
        firstWhileHeld: true,
        pending: 'ERR_WORKER_CRASHED',
        later: 'resolved',
        recovered: [{ stages: ['flow'], attempts: 1 }],
      });
      // the library handled the worker's error (no uncaught error reaches the page: openPage asserts that)
      expect(crash.workerError).toMatch(/crashed on purpose \(test hook\) \(handled: true\)$/);
      expect(crash.message).toMatch(/^The flow worker crashed: .*crashed on purpose \(test hook\)/);
      await speaks('the same instance after the restart');
      // a flow worker that crashes while starting, three times in a row: given up, not restarted for ever
      await page.evaluate(() => {
        window.tts.crashNextStarts('flow', 3);
      });
      const again = await page.evaluate(({ text }) => window.tts.crashDuringStream(text, 1), { text: ZH.repeat(4) });
      expect(again).toMatchObject({ pending: 'ERR_WORKER_CRASHED', later: 'ERR_WORKER_CRASHED', recovered: [] });
      expect(again.laterMessage).toMatch(
        /restarting it failed 3 times in a row \(last: The flow worker crashed: .*crashed while starting \(test hook\)\)/,
      );
      await page.evaluate(() => window.tts.dispose());
      const created = await page.evaluate(() => window.tts.create({ device: 'wasm', dtype: 'fp32' }));
      expect(created.ok).toBe(true);
      await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
      await speaks('a new instance');
      await page.evaluate(() => window.tts.dispose());
    },
  );

  test(
    'a gzip-compressed package (format version 2) loads and says what the plain one says',
    { tag: '@isolated-only' }, // decoding happens in the stage workers either way
    async ({ openPage }) => {
      const page = await openPage('tts');
      const created = await page.evaluate(() =>
        window.tts.create({ model: '/tiny-package-gz/', device: 'wasm', dtype: 'fp32' }),
      );
      expect(created.ok).toBe(true);
      const start = created.events.find((e) => e['type'] === 'load-start') as { files: Array<{ file: string }> };
      expect(start.files.some((f) => f.file.endsWith('.gz'))).toBe(true);
      await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
      await expectReferenceOffline(page);
      await page.evaluate(() => window.tts.dispose());
    },
  );

  test('a corrupted model file is rejected with ERR_ASSET_INTEGRITY', async ({ openPage }) => {
    const page = await openPage('tts');
    const created = await page.evaluate(() => window.tts.create({ model: '/corrupt/fixtures/tiny-package/' }));
    expect(created).toMatchObject({ ok: false, code: 'ERR_ASSET_INTEGRITY' });
  });
});
