/**
 * The demo as a user meets it: built by global setup (Vite build → build/demo) and served from the sub-path `/demo/`
 * by the plain test server *without* isolation headers, driven through its own controls. One page walks through the
 * whole app in order (`serial`: each step starts where the last one left it), because installing the service worker
 * and loading the model are most of each step's cost: isolation by the service worker, the manifest, a hard reload,
 * accessibility, a voice from the microphone, a voice from a file whose played audio is `stream()`'s, offline use,
 * and deleting the cached model.
 *
 * Only in the `not-isolated` project: the demo's isolation is its service worker's doing whatever the server sends,
 * so the `isolated` project (a server with COOP/COEP) would run the same page again; the not-isolated server is the
 * plain static host the demo is meant for.
 *
 * The browser's fake microphone plays the shared zero-shot prompt in a loop (launch flags below).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { BrowserContext, Page } from '@playwright/test';
import { build } from 'esbuild';
import { decodeWav, encodeWav } from '../../src/dsp/index.ts';
import { parseManifest } from '../../src/loader/manifest.ts';
import { fileKey, manifestKey, MODEL_CACHE_NAME } from '../../src/loader/store.ts';
import type { CosyVoice } from '../../src/cosyvoice.ts';
import type { VoiceProfile } from '../../src/index.ts';
import type { PlaybackCapture } from '../helpers/playback-capture.ts';
import { explainPlayback } from '../helpers/played-audio.ts';
import { ISOLATED_STATUS, PROMPT, TEXT, cloneFromFile, loadTinyModel, openDemo, speak } from './demo-page.ts';
import { expect, test as base } from './fixtures.ts';
import { ROOT } from './server.ts';

/** The prompt as 16-bit PCM WAV, the format Chromium's fake capture device reads. */
const source = decodeWav(readFileSync(PROMPT));
const FAKE_CAPTURE = join(mkdtempSync(join(tmpdir(), 'fake-mic-')), 'prompt.wav');
writeFileSync(FAKE_CAPTURE, encodeWav(source.samples, source.sampleRate));

const test = base.extend({
  launchOptions: [
    async ({ launchOptions }, use) => {
      await use({
        ...launchOptions,
        args: [
          ...(launchOptions.args ?? []),
          '--use-fake-ui-for-media-stream',
          '--use-fake-device-for-media-stream',
          `--use-file-for-fake-audio-capture=${FAKE_CAPTURE}`,
        ],
      });
    },
    { scope: 'worker' },
  ],
});

/** What the page offers the test: the demo's state (main.ts) and, once injected, the playback recorder. */
declare global {
  interface Window {
    __demo: { tts: CosyVoice | undefined; voice: VoiceProfile | undefined };
    __capture: { capturePlayback(node: AudioNode): Promise<PlaybackCapture> };
    __recording: PlaybackCapture;
  }
}

const TINY_DIR = join(ROOT, 'build/demo/models/tiny');
const SEED = 42;
/** Render quanta recorded after speak() resolves: more than the fade-out ramp (asserted), so all of it is seen. */
const TAIL_QUANTA = 4;
const RENDER_QUANTUM = 128;

/** Counts the main frame's document loads (the first visit and every reload). */
function countDocumentLoads(page: Page): { readonly count: number } {
  const loads = { count: 0 };
  page.on('load', () => {
    loads.count += 1;
  });
  return loads;
}

/** Mean of each `factor` consecutive samples (a crude low-pass and decimation, enough to line two signals up). */
function decimate(samples: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(Math.floor(samples.length / factor));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let k = 0; k < factor; k++) sum += samples[i * factor + k] as number;
    out[i] = sum / factor;
  }
  return out;
}

/** Highest normalised cross-correlation of `part` against every position of `whole` played in a loop. */
function bestCorrelation(part: Float32Array, whole: Float32Array): number {
  let partEnergy = 0;
  for (const x of part) partEnergy += x * x;
  let best = 0;
  for (let lag = 0; lag < whole.length; lag++) {
    let dot = 0;
    let energy = 0;
    for (let i = 0; i < part.length; i++) {
      const y = whole[(lag + i) % whole.length] as number;
      dot += (part[i] as number) * y;
      energy += y * y;
    }
    best = Math.max(best, dot / Math.sqrt(partEnergy * energy + 1e-20));
  }
  return best;
}

/** The prompt of the first saved voice in the demo's IndexedDB, as WAV bytes. */
function savedPrompt(page: Page): Promise<number[]> {
  return page.evaluate(
    () =>
      new Promise<number[]>((resolve, reject) => {
        const open = indexedDB.open('cosyvoice-demo');
        open.onerror = () => {
          reject(open.error ?? new Error('indexedDB.open failed'));
        };
        open.onsuccess = () => {
          const all = open.result.transaction('voices').objectStore('voices').getAll();
          all.onerror = () => {
            reject(all.error ?? new Error('getAll failed'));
          };
          all.onsuccess = () => {
            const prompt = (all.result as { prompt?: Blob }[])[0]?.prompt;
            if (prompt === undefined) reject(new Error('no saved prompt'));
            else
              void prompt.arrayBuffer().then((bytes) => {
                resolve(Array.from(new Uint8Array(bytes)));
              });
          };
        };
      }),
  );
}

/** Downloads the WAV of the current text and seed through the page's button; returns its bytes. */
async function downloadWav(page: Page): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-btn')]);
  return readFileSync(await download.path());
}

test.describe('@not-isolated-only the built demo, step by step on one page', () => {
  test.describe.configure({ mode: 'serial' });

  let context: BrowserContext;
  let page: Page;
  let url: string;
  let firstLoads: number;
  const errors: string[] = [];
  /** While offline the browser logs each request that fails (the library's network-first manifest fetch): expected. */
  let isOffline = false;

  test.beforeAll(async ({ browser, server }) => {
    url = server.url;
    context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !(isOffline && m.text().startsWith('Failed to load resource: net::'))) {
        errors.push(m.text());
      }
    });
    const loads = countDocumentLoads(page);
    await openDemo(page, url);
    firstLoads = loads.count;
  });

  test.afterAll(async () => {
    await context.close();
    expect(errors).toEqual([]);
  });

  test('it becomes cross-origin isolated through its service worker, reloading once', async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
    expect(firstLoads).toBe(2);
    // the document itself came without the headers: isolation is the service worker's doing
    const direct = await page.request.get(`${url}/demo/`);
    expect(direct.headers()['cross-origin-embedder-policy']).toBeUndefined();
  });

  test('its web app manifest works under a sub-path', async () => {
    const href = await page.locator('link[rel="manifest"]').getAttribute('href');
    expect(href).not.toBeNull();
    const manifestUrl = new URL(href ?? '', `${url}/demo/`).href;
    const manifest = (await (await page.request.get(manifestUrl)).json()) as {
      start_url: string;
      scope: string;
      theme_color: string;
      icons: { src: string; sizes: string; purpose?: string }[];
    };
    expect(new URL(manifest.start_url, manifestUrl).href).toBe(`${url}/demo/`);
    expect(new URL(manifest.scope, manifestUrl).href).toBe(`${url}/demo/`);
    expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
    expect(
      manifest.icons.map((icon) => `${icon.sizes}${icon.purpose === undefined ? '' : ` ${icon.purpose}`}`),
    ).toEqual(expect.arrayContaining(['192x192', '512x512', '512x512 maskable']));
    for (const icon of manifest.icons) {
      const response = await page.request.get(new URL(icon.src, manifestUrl).href);
      expect(response.headers()['content-type'], icon.src).toBe('image/png');
      const size = Number(icon.sizes.split('x')[0]);
      const png = await response.body();
      // PNG IHDR: width and height as big-endian uint32 at bytes 16 and 20
      expect([png.readUInt32BE(16), png.readUInt32BE(20)], icon.src).toEqual([size, size]);
    }
  });

  test('a hard reload (bypassing the service worker) is recovered with one reload, no loop', async () => {
    const loads = countDocumentLoads(page);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Page.reload', { ignoreCache: true });
    await expect(page.locator('#app-status')).toHaveText(ISOLATED_STATUS);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(loads.count).toBe(2);
    await cdp.detach();
  });

  test('with the model loaded: no serious accessibility violation, every control reachable by keyboard', async () => {
    await loadTinyModel(page);
    const results = await new AxeBuilder({ page }).analyze();
    const serious = results.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    expect(serious).toEqual([]);

    const controls = await page
      .locator('button:visible:enabled, input:visible:enabled, select:visible:enabled, textarea:visible:enabled')
      .evaluateAll((elements) => elements.map((element, i) => element.id || `#${i} ${element.outerHTML.slice(0, 60)}`));
    expect(controls.length).toBeGreaterThan(10);
    const reached = new Set<string>();
    await page.locator('body').focus();
    for (let i = 0; i < controls.length + 5; i++) {
      await page.keyboard.press('Tab');
      reached.add(
        await page.evaluate(() => {
          const element = document.activeElement;
          if (element === null) return '';
          const all = [...document.querySelectorAll('button, input, select, textarea')].filter(
            (e) => !(e as HTMLButtonElement).disabled && (e as HTMLElement).offsetParent !== null,
          );
          return element.id || `#${all.indexOf(element)} ${element.outerHTML.slice(0, 60)}`;
        }),
      );
    }
    expect(controls.filter((control) => !reached.has(control))).toEqual([]);
  });

  test('a voice recorded from the microphone is trimmed, cloned, saved, and is that recording', async () => {
    await page.click('#record');
    await expect(page.locator('#record')).toHaveText('Stop recording');
    await expect(page.locator('#record-time')).toHaveText(/^([5-9]|10)\.\d s$/);
    expect(await page.locator('#level').evaluate((meter: HTMLMeterElement) => meter.value)).toBeGreaterThan(0);
    await page.click('#record');
    await expect(page.locator('#prompt-status')).toHaveText(/^\d+\.\d s of speech \(trimmed/);
    await page.click('#clone');
    await expect(page.locator('#voice-status')).toHaveText(
      /^Voice ready: \d+\.\d s prompt, cross-lingual \(no transcript\)\.$/,
      { timeout: 60_000 },
    );
    await page.fill('#voice-name', 'Microphone');
    await page.click('#save-voice');
    await expect(page.locator('#voice-list .voice-name')).toHaveText(['Microphone']);

    const recorded = decodeWav(new Uint8Array(await savedPrompt(page)));
    expect(recorded.sampleRate % 8000).toBe(0);
    expect(source.sampleRate % 8000).toBe(0);
    const part = decimate(recorded.samples, recorded.sampleRate / 8000);
    const whole = decimate(source.samples, source.sampleRate / 8000);
    // Window by window (1 s each): the fake device restarts its loop with a gap of about 10 ms, so the recording as
    // a whole never lines up with the file at one lag. Each second of it must be found in the source nearly intact
    // (opus coding and resampling leave a normalised correlation of 0.97-0.99; another sound would give far less).
    const windows = Math.floor(part.length / 8000);
    expect(windows).toBeGreaterThanOrEqual(3);
    for (let w = 0; w < windows; w++) {
      expect(bestCorrelation(part.subarray(w * 8000, (w + 1) * 8000), whole), `second ${w}`).toBeGreaterThan(0.9);
    }
    // the browser's automatic gain is off: the level is the file's (measured 3 % apart; toBeCloseTo(1, 1) allows 5 %)
    const peak = (samples: Float32Array): number => samples.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(peak(recorded.samples) / peak(source.samples)).toBeCloseTo(1, 1);
  });

  test("a voice cloned from a file: what speak() plays is stream()'s audio for its seed and voice, sample for sample", async () => {
    await cloneFromFile(page);
    // the playback recorder of the library's own tests, bundled for the page and attached after the demo's player
    const capture = await build({
      entryPoints: [join(ROOT, 'test/helpers/playback-capture.ts')],
      bundle: true,
      format: 'iife',
      globalName: '__capture',
      write: false,
    });
    await page.addScriptTag({ content: capture.outputFiles[0]?.text ?? '' });
    await page.evaluate(async () => {
      const tts = window.__demo.tts;
      if (tts === undefined) throw new Error('no model loaded');
      window.__recording = await window.__capture.capturePlayback((await tts.unlockAudio()).node);
    });
    await speak(page, SEED);
    const heard = await page.evaluate(
      async ({ text, seed, tail }) => {
        const recorded = await window.__recording.finish(tail);
        const { tts, voice } = window.__demo;
        if (tts === undefined || voice === undefined) throw new Error('no model or voice');
        const player = await tts.unlockAudio();
        // the demo's request (speak-section.ts): its voice, the seed, the flow steps selected
        const flowSteps = Number((document.getElementById('flow-steps') as HTMLSelectElement).value);
        const streamed: number[] = [];
        for await (const chunk of tts.stream(text, { voice, seed, flowSteps })) streamed.push(...chunk.samples);
        return {
          recorded: Array.from(recorded),
          streamed,
          fadeFrames: player.fadeFrames,
          contextRate: player.context.sampleRate,
          sampleRate: tts.manifest.config.sampleRate,
        };
      },
      { text: TEXT, seed: SEED, tail: TAIL_QUANTA },
    );
    expect(heard.contextRate).toBe(heard.sampleRate); // no resampling: float32 in, the same float32 out
    expect(TAIL_QUANTA * RENDER_QUANTUM).toBeGreaterThan(heard.fadeFrames);
    expect(heard.streamed.length).toBeGreaterThan(heard.sampleRate); // over a second of audio
    const played = explainPlayback(
      Float32Array.from(heard.recorded),
      Float32Array.from(heard.streamed),
      heard.fadeFrames,
    );
    expect(played.mismatch).toBeUndefined();
    expect(played.consumed).toBe(heard.streamed.length);
    expect(played.runs[0]?.at).toBeGreaterThan(0); // the recording began in silence, before the request
  });

  test('after one online session the app, the model and a saved voice work offline, with the same samples', async () => {
    await page.fill('#voice-name', 'Zero-shot prompt');
    await page.click('#save-voice');
    await expect(page.locator('#voice-status')).toHaveText(
      'Saved “Zero-shot prompt”: it stays in this browser, also offline.',
    );
    await page.fill('#seed', String(SEED));
    const online = await downloadWav(page);

    isOffline = true;
    await context.setOffline(true);
    await page.reload();
    await expect(page.locator('#app-status')).toHaveText(ISOLATED_STATUS);
    await expect(page.locator('#voice-list .voice-name')).toHaveText(['Microphone', 'Zero-shot prompt']);
    await loadTinyModel(page);
    await page.getByRole('button', { name: 'Use voice Zero-shot prompt' }).click();
    await expect(page.locator('#voice-status')).toHaveText(/^Voice ready \(“Zero-shot prompt”\)/);
    await page.fill('#seed', String(SEED));
    const offline = await downloadWav(page);
    // a WAV of real audio: RIFF header plus at least one second of 16-bit samples at 24 kHz
    expect(online.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(online.length).toBeGreaterThan(44 + 2 * 24000);
    expect(offline.equals(online)).toBe(true);
  });

  test('deleting the cached model (offline: through the cached manifest) frees exactly what was cached for it', async () => {
    const manifest = parseManifest(JSON.parse(readFileSync(join(TINY_DIR, 'manifest.json'), 'utf8')));
    const manifestUrl = `${url}/demo/models/tiny/manifest.json`;
    const entries = await page.evaluate(async (name) => {
      const cache = await caches.open(name);
      const out: { key: string; bytes: number }[] = [];
      for (const request of await cache.keys()) {
        out.push({ key: request.url, bytes: (await (await cache.match(request))?.blob())?.size ?? -1 });
      }
      return out;
    }, MODEL_CACHE_NAME);
    // what the loads stored: the manifest and whole files of it (each its exact size), nothing else
    const expected = new Map<string, number>([
      [manifestKey(manifestUrl), readFileSync(join(TINY_DIR, 'manifest.json')).byteLength],
      ...manifest.files.map((file) => [fileKey(file.sha256), file.bytes] as const),
    ]);
    expect(entries.length).toBeGreaterThan(1);
    for (const entry of entries) expect(entry.bytes, entry.key).toBe(expected.get(entry.key));
    const total = entries.reduce((sum, entry) => sum + entry.bytes, 0);

    await page.click('#delete-model');
    await expect(page.locator('#load-status')).toHaveText(
      `Deleted the cached model (${(total / 1e6).toFixed(1)} MB freed); loading downloads it again.`,
    );
    expect(await page.evaluate(async (name) => (await (await caches.open(name)).keys()).length, MODEL_CACHE_NAME)).toBe(
      0,
    );
    // a second time nothing is cached: 0 bytes, even offline with the manifest gone too
    await page.click('#delete-model');
    await expect(page.locator('#load-status')).toHaveText('No cached model.');
    await context.setOffline(false);
    isOffline = false;
  });
});
