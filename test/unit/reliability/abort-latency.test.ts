/**
 * Cancellation at any moment (issue #13.1): an abort that comes from a timer — `AbortSignal.timeout`, a
 * `setTimeout(() => controller.abort())` — must take effect within one LM step / one flow step / one vocoder chunk,
 * which needs the decode loops to let the event loop run. Latency is counted in graph runs started after the abort
 * event, never in wall time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/engine.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { collect } from '../../helpers/audio.ts';
import { floats, need, readNpz } from '../../helpers/npz.ts';
import type { OrtSpy, SpiedGraph } from '../../helpers/ort-spy.ts';
import { spyOrt } from '../../helpers/ort-spy.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';

const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
/** Long enough that no timer-driven abort below can arrive after the request finished. */
const LONG = ZH.repeat(30);
const reference = floats(need(readNpz(join(GOLDEN, 'e2e.npz')), 'offline_wave'));

/**
 * Graph runs that may still start after the abort event: the run of each concurrently running loop that was already
 * past its abort check. The engine runs the LM and the token-to-wave loop side by side, so two.
 */
const RUNS_IN_FLIGHT = 2;

let engine: Engine;
let voice: VoiceProfile;
let spy: OrtSpy;

beforeAll(async () => {
  const pkg = await openPackageDir(TINY_PACKAGE);
  spy = spyOrt(await loadOrt('wasm'));
  engine = await Engine.create(pkg, spy.ort, { device: 'wasm', dtype: 'fp32' });
  voice = goldenVoice(pkg);
});
afterAll(async () => {
  spy.onRun(undefined);
  await engine.dispose();
});

/** Runs `request`, which must reject with `signal`'s reason; returns the graph runs started after the abort event. */
async function runsAfterAbort(signal: AbortSignal, request: () => Promise<unknown>): Promise<number> {
  let atAbort: number | undefined;
  signal.addEventListener('abort', () => (atAbort = spy.runs.length), { once: true });
  const outcome = await request().then(
    () => 'resolved',
    (error: unknown) => error,
  );
  expect(outcome).toBe(signal.reason);
  expect(atAbort).toBeDefined();
  return spy.runs.length - (atAbort ?? 0);
}

/** The engine still speaks correctly afterwards (same length as the golden offline waveform). */
async function stillSpeaks(): Promise<void> {
  spy.onRun(undefined);
  const after = await engine.synthesize(ZH, { voice, seed: 1 });
  expect(after.samples.every(Number.isFinite)).toBe(true);
  expect(after.samples.length).toBeGreaterThan(0);
  const golden = await engine.synthesize(ZH, {
    voice,
    seed: Number((need(readNpz(join(GOLDEN, 'e2e.npz')), 'seed').data as BigInt64Array)[0]),
  });
  expect(golden.samples.length).toBe(reference.length);
}

describe('timer-driven abort takes effect within one step', () => {
  it('AbortSignal.timeout on a long text rejects with the TimeoutError', async () => {
    const signal = AbortSignal.timeout(20);
    const late = await runsAfterAbort(signal, () => engine.synthesize(LONG, { voice, seed: 1, signal }));
    expect((signal.reason as DOMException).name).toBe('TimeoutError');
    expect(late).toBeLessThanOrEqual(RUNS_IN_FLIGHT);
    await stillSpeaks();
  });

  it('setTimeout(() => controller.abort()) during stream() rejects with the AbortError', async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new DOMException('user stop', 'AbortError'));
    }, 20);
    const late = await runsAfterAbort(controller.signal, () =>
      collect(engine.stream(LONG, { voice, seed: 2, signal: controller.signal })),
    );
    expect(late).toBeLessThanOrEqual(RUNS_IN_FLIGHT);
    await stillSpeaks();
  });

  // A timer armed from inside the k-th run of one graph: the abort is a macrotask, so it lands in the middle of that
  // stage's loop only if the loop yields (today's stage-by-stage position is deterministic, not a race on time).
  const stages: ReadonlyArray<[SpiedGraph, number]> = [
    ['llm', 3],
    ['flow_step', 4],
    ['hift_decoder', 1],
  ];
  for (const [graph, k] of stages) {
    for (const api of ['synthesize', 'stream'] as const) {
      it(`an abort timer armed in ${graph} run ${k} (${api}) stops the request within one step`, async () => {
        const controller = new AbortController();
        const earlier = spy.runs.filter((r) => r.graph === graph).length;
        spy.onRun((run) => {
          if (run.graph === graph && run.index === earlier + k) {
            setTimeout(() => {
              controller.abort(new DOMException(`stop in ${graph}`, 'AbortError'));
            }, 0);
          }
        });
        const options = { seed: 3, signal: controller.signal };
        const late = await runsAfterAbort(controller.signal, () =>
          api === 'stream'
            ? collect(engine.stream(LONG, { voice, ...options }))
            : engine.synthesize(LONG, { voice, ...options }),
        );
        expect(late).toBeLessThanOrEqual(RUNS_IN_FLIGHT);
        await stillSpeaks();
      });
    }
  }
});
