/**
 * The variants in Chromium (issue #9.6). Backend parity: each fp32 / fp16w / int8 / q4 graph of the tiny fixture
 * package gives the same outputs on the WebGPU EP (SwiftShader's adapter here) as on the WASM EP for the same seeded inputs
 * (pages/variants.ts: one session per graph and EP, one run each). `dtype: 'auto'` on wasm: the public API in Chromium
 * gives the tokens and audio of the Node golden (test/helpers/auto-golden.ts).
 */
import type { Page } from '@playwright/test';
import { AUTO_SAMPLE_TOLERANCE, readAutoGolden } from '../helpers/auto-golden.ts';
import { runAutoGolden } from './auto-golden-run.ts';
import { expect, test } from './fixtures.ts';
import type { BackendDiff, ParityRequest } from './pages/api.ts';

const GRAPHS = ['embed_speech', 'llm', 'flow_encoder', 'flow_step', 'flow_step_incremental'] as const;

/**
 * Bounds on max |WebGPU − WASM| ÷ max |WASM| per output. Measured (2026-12-04, SwiftShader; seeded inputs at two
 * sizes, the larger one 55 tokens / 110 frames): the embedding lookups are exact (0 for every variant). fp32 and q4
 * are float compute (q4 dequantises its 4-bit weights in the kernel) and differ alike: llm ≤ 1.7e-4 (present.1.key;
 * logits 1.0e-4), flow_encoder ≤ 1.5e-6, flow_step ≤ 8.2e-7, flow_step_incremental ≤ 1.2e-5 — bounds ~6× those; fp16w
 * (fp32 arithmetic on fp16-stored weights, cast at load) is float compute too, held to the same bounds.
 * int8 quantises activations per run from their min/max, so a last-bit difference upstream can move a value by one
 * quantisation step, and which values flip depends on the input: measured ≤ 6.7e-3 (flow_encoder mu;
 * flow_step_incremental present_kv 4.3e-3, flow_step 1.7e-4 at one size and 6.5e-8 at the other, llm 1.6e-4) — one
 * bound for every int8 graph, 6× the largest.
 */
const LOOKUP_BOUND = 1e-6;
const INT8_BOUND = 4e-2;
const FLOAT_BOUND: Readonly<Record<Exclude<(typeof GRAPHS)[number], 'embed_speech'>, number>> = {
  llm: 1e-3,
  flow_encoder: 1e-5,
  flow_step: 1e-5,
  flow_step_incremental: 1e-4,
};

/** fp16w (fp16-stored weights, fp32 arithmetic) ships for the flow and vocoder stages only. */
const FP16W_GRAPHS: ReadonlySet<string> = new Set(['flow_encoder', 'flow_step', 'flow_step_incremental']);

function bound(graph: (typeof GRAPHS)[number], dtype: 'fp32' | 'fp16w' | 'int8' | 'q4'): number {
  if (graph === 'embed_speech') return LOOKUP_BOUND;
  return dtype === 'int8' ? INT8_BOUND : FLOAT_BOUND[graph];
}

const relative = (d: BackendDiff): number => d.maxDiff / d.maxAbs;

// Graph-level, single-threaded on the page's main thread: cross-origin isolation changes nothing here, so one
// project runs it. One page for every test (serial); each test creates and releases its own graph's sessions.
test.describe('backend parity of the graph variants @isolated-only', () => {
  test.describe.configure({ mode: 'serial' });
  let page: Page;
  const errors: Error[] = [];
  const compare = (r: ParityRequest): Promise<BackendDiff[]> =>
    page.evaluate((request) => window.variants.compare(request), r);

  test.beforeAll(async ({ browser, server }) => {
    page = await browser.newPage();
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`${server.url}/page/variants`);
    await page.waitForFunction(() => (globalThis as { testReady?: boolean }).testReady === true);
  });
  test.afterAll(async () => {
    await page.close();
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  for (const graph of GRAPHS) {
    const dtypes = FP16W_GRAPHS.has(graph)
      ? (['fp32', 'fp16w', 'int8', 'q4'] as const)
      : (['fp32', 'int8', 'q4'] as const);
    test(`${graph}: ${dtypes.join(', ')} give the WASM outputs on WebGPU`, async () => {
      for (const dtype of dtypes) {
        const diffs = await compare({ graph, dtype, seed: 7 });
        expect(diffs.length, `${graph} ${dtype} outputs`).toBeGreaterThan(0);
        for (const d of diffs) {
          const where = `${d.file} ${d.output}: max diff ${d.maxDiff} at scale ${d.maxAbs}`;
          expect(d.sameSize, where).toBe(true);
          expect(d.maxAbs, where).toBeGreaterThan(0);
          expect(relative(d), where).toBeLessThanOrEqual(bound(graph, dtype));
        }
      }
    });
  }

  // The comparison sees a one-element fault inside a graph: one of the 4800 values of `mu` (the estimator's
  // condition) off by 0.1 on WebGPU only moves x_next by 8.2e-5 of its scale, 8× flow_step's q4 bound. (A fault that
  // small hides under the int8 bound: int8 parity catches gross kernel faults, q4 parity fine ones.)
  test('a one-element fault on WebGPU exceeds the q4 bound', async () => {
    const faulty = await compare({
      graph: 'flow_step',
      dtype: 'q4',
      seed: 7,
      perturbOnWebGpu: { input: 'mu', index: 123, delta: 0.1 },
    });
    const xNext = faulty.find((d) => d.output === 'x_next');
    expect(xNext && relative(xNext)).toBeGreaterThan(bound('flow_step', 'q4'));
  });
});

// The wasm path does not depend on isolation for its numbers (the unit test's Node run is single-threaded too), so
// one project runs it; the isolated project already runs the parity tests above.
test("device 'wasm', dtype 'auto': the quantised variants give the Node golden's tokens and audio @not-isolated-only", async ({
  openPage,
}) => {
  const page = await openPage('tts');
  expect(await runAutoGolden(page, readAutoGolden('wasm'), 'wasm')).toBeLessThanOrEqual(AUTO_SAMPLE_TOLERANCE);
  await page.evaluate(() => window.tts.dispose());
});
