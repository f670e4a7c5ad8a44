/**
 * The published package in real consumer apps (house style §11 "Integration"). scripts/integration.ts packs the
 * package, installs the tarball into copies of test/integration/{vite-app,webpack-app} outside the repository and
 * builds them; this spec then checks, in Chromium:
 *
 * - each production build, served with and without COOP/COEP, synthesises the tiny fixture's reference audio for the
 *   golden seed and text (offline), and plays the same number of frames through the AudioWorklet (speak());
 * - the package's default workers, ORT's wasm (the CPU build only) and, when isolated, ORT's wasm threads all load
 *   from the app's own bundle output: no 4xx/5xx, no page errors, no console errors;
 * - the Vite dev server (with the config the README gives) does the same from node_modules;
 * - importing the installed package in bare Node (SSR) works and touches no globals.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { APPS, ROOT, WORK_DIR } from '../../scripts/integration.ts';
import { parseManifest } from '../../src/loader/manifest.ts';
import { serializeVoice } from '../../src/models/voice/voice-profile.ts';
import { startServer } from '../browser/server.ts';
import { floats, maxAbsDiff, need, readNpz } from '../helpers/npz.ts';
import { goldenVoice } from '../helpers/voice.ts';

const GOLDEN = join(ROOT, 'test/fixtures/golden');
const TINY_PACKAGE = join(ROOT, 'test/fixtures/tiny-package');
const ASSETS = join(WORK_DIR, 'test-assets');
const e2e = readNpz(join(GOLDEN, 'e2e.npz'));
const REFERENCE = floats(need(e2e, 'offline_wave'));
const SEED = Number((need(e2e, 'seed').data as BigInt64Array)[0]);
const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
/** Stage workers of the default (split) topology. */
const STAGE_WORKERS = 3;
/** wasm threads per stage requested by the page (used only when cross-origin isolated). */
const THREADS = 2;

/** What the apps' main.js publishes as `window.cosyvoiceResult`. */
type AppResult =
  | {
      readonly ok: true;
      readonly crossOriginIsolated: boolean;
      readonly placement: Record<string, { device: string; dtype: string }>;
      readonly events: string[];
      readonly sampleRate: number;
      readonly samples: number[];
      readonly transport: string;
      readonly framesPlayed: number;
    }
  | { readonly ok: false; readonly code?: string; readonly message: string };

/** How each app's bundler names what it emits (URL paths relative to the app's root). */
interface Layout {
  /** The three stage workers. */
  readonly worker: RegExp;
  /** The script ORT starts its wasm threads (workers named `em-pthread`) from. */
  readonly pthreadScript: RegExp;
  /** ORT's CPU wasm. */
  readonly wasm: RegExp;
}

const LAYOUTS: Record<(typeof APPS)[number] | 'vite-dev', Layout> = {
  // Vite keeps names: assets/lm.worker-<hash>.js; a wasm thread starts ORT's own chunk (its import.meta.url)
  'vite-app': {
    worker: /^assets\/(lm|flow|vocoder)\.worker-[\w-]+\.js$/,
    pthreadScript: /^assets\/ort\.wasm\.bundle\.min-[\w-]+\.js$/,
    wasm: /^assets\/ort-wasm-simd-threaded-[\w-]+\.wasm$/,
  },
  // webpack numbers its chunks; ORT's `new URL('ort.wasm.bundle.min.mjs', import.meta.url)` becomes an emitted
  // <hash>.mjs asset (a copy of ORT's self-contained module) that the wasm threads start from
  'webpack-app': {
    worker: /^\d+\.main\.js$/,
    pthreadScript: /^[0-9a-f]+\.mjs$/,
    wasm: /^[0-9a-f]+\.wasm$/,
  },
  // Vite dev serves the installed files themselves
  'vite-dev': {
    worker: /^node_modules\/cosyvoice-web\/dist\/esm\/workers\/(lm|flow|vocoder)\.worker\.js\?worker_file&type=module$/,
    pthreadScript: /^node_modules\/onnxruntime-web\/dist\/ort\.wasm\.bundle\.min\.mjs(\?v=\w+)?$/,
    wasm: /^node_modules\/onnxruntime-web\/dist\/ort-wasm-simd-threaded\.wasm$/,
  },
};

/** Size of ORT's CPU-only wasm as installed in an app (the one file the `wasm` device may load). */
function cpuWasmBytes(app: string): number {
  return statSync(join(WORK_DIR, app, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm')).size;
}

test.beforeAll(() => {
  for (const app of APPS) {
    const index = join(WORK_DIR, app, 'dist/index.html');
    try {
      statSync(index);
    } catch {
      throw new Error(`${index} is missing: run \`npm run test:integration\` (scripts/integration.ts) first`);
    }
  }
  // the golden voice as a voice file, as an app would have saved it
  const manifest = parseManifest(JSON.parse(readFileSync(join(TINY_PACKAGE, 'manifest.json'), 'utf8')));
  mkdirSync(ASSETS, { recursive: true });
  writeFileSync(join(ASSETS, 'voice.bin'), serializeVoice(goldenVoice({ manifest })));
});

/** Everything the page loaded or failed to load. */
interface Traffic {
  /** Same-origin paths (without the leading slash, with the query) of every response, in order. */
  readonly responses: Array<{ path: string; status: number; bytes: number }>;
  readonly failed: Array<{ url: string; error: string }>;
  readonly workers: string[];
  readonly pageErrors: string[];
  readonly consoleErrors: string[];
}

/** Opens `url` with listeners attached and waits for the app's result. */
async function runApp(page: Page, origin: string, url: string): Promise<{ result: AppResult; traffic: Traffic }> {
  const traffic: Traffic = { responses: [], failed: [], workers: [], pageErrors: [], consoleErrors: [] };
  const local = (u: string): string => (u.startsWith(`${origin}/`) ? u.slice(origin.length + 1) : u);
  page.on('response', (response) => {
    traffic.responses.push({
      path: local(response.url()),
      status: response.status(),
      bytes: Number(response.headers()['content-length'] ?? -1),
    });
  });
  page.on('requestfailed', (request) => {
    traffic.failed.push({ url: local(request.url()), error: request.failure()?.errorText ?? '?' });
  });
  page.on('worker', (worker) => traffic.workers.push(local(worker.url())));
  page.on('pageerror', (error) => traffic.pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') traffic.consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  await page.goto(url);
  await page.waitForFunction(() => 'cosyvoiceResult' in globalThis, null, { timeout: 75_000 });
  const result = await page.evaluate(() => (globalThis as unknown as { cosyvoiceResult: AppResult }).cosyvoiceResult);
  return { result, traffic };
}

function query(threads: number): string {
  return new URLSearchParams({
    model: '/models/tiny/',
    voice: '/test-assets/voice.bin',
    text: ZH,
    seed: String(SEED),
    threads: String(threads),
  }).toString();
}

/** The assertions shared by every served app. `prefix` is where the app's own files live ('' or 'app/'). */
function expectWorkingApp(
  outcome: { result: AppResult; traffic: Traffic },
  options: { isolated: boolean; layout: Layout; prefix: string; wasmBytes: number },
): void {
  const { result, traffic } = outcome;
  const { isolated, layout, prefix } = options;
  expect(result, 'the app reported an error').toMatchObject({ ok: true });
  if (!result.ok) return;

  // nothing broke on the way
  expect(traffic.pageErrors, 'uncaught page errors').toEqual([]);
  expect(traffic.consoleErrors, 'console errors').toEqual([]);
  expect(
    traffic.responses.filter((r) => r.status >= 400),
    'HTTP errors',
  ).toEqual([]);
  // Chromium reports some fully read model downloads of workers as ERR_ABORTED to Playwright; the loader checks
  // every model file's size and SHA-256, so a real failure there fails the page. Nothing else may fail.
  expect(traffic.failed.filter((f) => !(f.url.startsWith('models/tiny/') && f.error === 'net::ERR_ABORTED'))).toEqual(
    [],
  );

  // the audio: the reference waveform of the golden seed, and the same number of frames through the worklet
  expect(result.crossOriginIsolated).toBe(isolated);
  expect(Object.values(result.placement).map((p) => `${p.device}/${p.dtype}`)).toEqual(Array(4).fill('wasm/fp32'));
  expect(result.events.at(-1)).toBe('ready');
  expect(result.sampleRate).toBe(24000);
  expect(result.samples.length).toBe(REFERENCE.length);
  expect(maxAbsDiff(Float32Array.from(result.samples), REFERENCE)).toBeLessThan(1e-4);
  expect(result.framesPlayed).toBe(REFERENCE.length);
  expect(result.transport).toBe(isolated ? 'sab' : 'port');

  // the default worker factories resolved to files the bundler emitted; when isolated, ORT's wasm threads (THREADS
  // per stage requested) start from the bundle too, and without isolation there are none
  const own = (path: string): string => (path.startsWith(prefix) ? path.slice(prefix.length) : `(elsewhere) ${path}`);
  const stageWorkers = traffic.workers.map(own).filter((path) => layout.worker.test(path));
  const otherWorkers = traffic.workers.map(own).filter((path) => !layout.worker.test(path));
  expect(stageWorkers).toHaveLength(STAGE_WORKERS);
  expect(new Set(stageWorkers).size).toBe(STAGE_WORKERS);
  for (const path of otherWorkers) expect(path).toMatch(layout.pthreadScript);
  if (isolated) expect(otherWorkers.length).toBeGreaterThanOrEqual(STAGE_WORKERS * (THREADS - 1));
  else expect(otherWorkers).toEqual([]);

  // ORT's wasm: from the app's own output, the CPU-only build (not the 26–28 MB WebGPU/JSEP ones)
  const wasm = traffic.responses.filter((r) => /\.wasm(\?|$)/.test(r.path));
  expect(wasm.length).toBeGreaterThanOrEqual(1);
  for (const response of wasm) {
    expect(own(response.path)).toMatch(layout.wasm);
    expect(response.bytes).toBe(options.wasmBytes);
  }
}

for (const app of APPS) {
  for (const isolated of [true, false]) {
    test(`${app}: production build, ${isolated ? 'cross-origin isolated' : 'not isolated'}`, async ({ page }) => {
      const server = await startServer({
        isolated,
        mounts: { '/app/': join(WORK_DIR, app, 'dist'), '/models/tiny/': TINY_PACKAGE, '/test-assets/': ASSETS },
      });
      try {
        const outcome = await runApp(page, server.url, `${server.url}/app/index.html?${query(THREADS)}`);
        expectWorkingApp(outcome, { isolated, layout: LAYOUTS[app], prefix: 'app/', wasmBytes: cpuWasmBytes(app) });
      } finally {
        await server.close();
      }
    });
  }

  test(`${app}: the installed package imports in bare Node (SSR)`, () => {
    const dir = join(WORK_DIR, app);
    const run = spawnSync(process.execPath, ['ssr-check.js'], { cwd: dir, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as {
      resolved: string;
      exports: string[];
      dspExports: number;
      textExports: number;
      addedGlobals: string[];
      createError: unknown;
    };
    expect(report.resolved).toBe(`file://${dir}/node_modules/cosyvoice-web/dist/esm/src/index.js`);
    expect(report.exports).toEqual(expect.arrayContaining(['CosyVoice', 'serializeVoice', 'TTSError', 'isAbortError']));
    expect(report.dspExports).toBeGreaterThan(0);
    expect(report.textExports).toBeGreaterThan(0);
    expect(report.addedGlobals).toEqual([]);
    expect(report.createError).toEqual({ name: 'TTSError', code: 'ERR_UNSUPPORTED_ENV', isTTSError: true });
  });
}

/** A free TCP port on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  });
}

test('vite-app: Vite dev server with the documented config, cross-origin isolated', async ({ page }) => {
  const dir = join(WORK_DIR, 'vite-app');
  // the model package and voice file come from the test server, proxied by Vite (test plumbing of vite.config.js)
  const fixtures = await startServer({
    isolated: true,
    mounts: { '/models/tiny/': TINY_PACKAGE, '/test-assets/': ASSETS },
  });
  const port = await freePort();
  // `--force`: a fresh dependency optimisation, as on a first `vite` run
  const vite = spawn(
    process.execPath,
    ['node_modules/vite/bin/vite.js', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--force'],
    { cwd: dir, env: { ...process.env, COSYVOICE_FIXTURES_ORIGIN: fixtures.url }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  vite.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  vite.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  try {
    const origin = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${origin}/`).catch(() => undefined))?.status, { timeout: 20_000 })
      .toBe(200);
    const outcome = await runApp(page, origin, `${origin}/index.html?${query(THREADS)}`);
    expectWorkingApp(outcome, {
      isolated: true,
      layout: LAYOUTS['vite-dev'],
      prefix: '',
      wasmBytes: cpuWasmBytes('vite-app'),
    });
    // the page ran the installed package's files, not a pre-bundled copy
    expect(outcome.traffic.responses.map((r) => r.path)).toContainEqual(
      expect.stringMatching(/^node_modules\/cosyvoice-web\/dist\/esm\/src\/index\.js(\?|$)/),
    );
    // no warnings from Vite about the package (e.g. source maps pointing at unpublished sources)
    expect(log).not.toMatch(/cosyvoice-web/);
  } finally {
    const exited = new Promise((resolve) => vite.once('exit', resolve));
    if (vite.exitCode === null) vite.kill('SIGTERM');
    await exited;
    await fixtures.close();
  }
});
