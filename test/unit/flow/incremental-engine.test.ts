/**
 * `incrementalFlow` through the whole pipeline (`Engine.stream`) on the tiny fixture: the audio with and without the
 * incremental flow is the same within the end-to-end tolerance, the incremental graph really runs by default and not
 * with `incrementalFlow: false`, and the option is validated where it enters.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Engine } from '../../../src/engine/engine.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import type { OrtInferenceSession } from '../../../src/runtime/ort.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { collect, joinSamples } from '../../helpers/audio.ts';
import { floats, maxAbsDiff, need, readNpz } from '../../helpers/npz.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';
import { readFileSync } from 'node:fs';

/** The end-to-end audio tolerance of the engine tests (flow mel ≤ 1.3e-6 and HiFT ≤ 5e-6 against torch). */
const E2E_TOLERANCE = 1e-4;

const e2e = readNpz(join(GOLDEN, 'e2e.npz'));
const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
const SEED = Number((need(e2e, 'seed').data as BigInt64Array)[0]);

let engine: Engine;
let voice: VoiceProfile;
/** Runs of sessions with a `past_kv` and a `dt` input (`flow_step_incremental`). */
let incrementalRuns = 0;

beforeAll(async () => {
  const pkg = await openPackageDir(TINY_PACKAGE);
  const ort = await loadOrt('wasm');
  const counted = {
    ...ort,
    InferenceSession: {
      ...ort.InferenceSession,
      create: async (...args: Parameters<typeof ort.InferenceSession.create>): Promise<OrtInferenceSession> => {
        const session = await ort.InferenceSession.create(...args);
        if (!session.inputNames.includes('past_kv')) return session;
        return new Proxy(session, {
          get(target, key, receiver) {
            if (key !== 'run') return Reflect.get(target, key, receiver) as unknown;
            return (...run: Parameters<OrtInferenceSession['run']>) => {
              incrementalRuns++;
              return target.run(...run);
            };
          },
        });
      },
    },
  } as typeof ort;
  engine = await Engine.create(pkg, counted, { device: 'wasm', dtype: 'fp32' });
  voice = goldenVoice(pkg);
});
afterAll(async () => {
  await engine.dispose();
});

describe('Engine.stream with and without incrementalFlow', () => {
  it('gives the same audio (and the reference streaming audio) for upstream schedule and a small first hop', async () => {
    const reference = floats(need(e2e, 'stream_wave'));
    for (const streaming of [{}, { firstHop: 10 }]) {
      const before = incrementalRuns;
      const cached = await collect(engine.stream(ZH, { voice, seed: SEED, streaming }));
      const cachedRuns = incrementalRuns - before;
      const baseline = await collect(engine.stream(ZH, { voice, seed: SEED, streaming, incrementalFlow: false }));
      expect(incrementalRuns - before).toBe(cachedRuns); // none with the option off
      expect(cachedRuns).toBeGreaterThan(0);
      expect(cached.map((c) => c.samples.length)).toEqual(baseline.map((c) => c.samples.length));
      const err = maxAbsDiff(joinSamples(cached), joinSamples(baseline));
      console.log(`${JSON.stringify(streaming)}: ${cached.length} chunks, audio max|Δ| ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(E2E_TOLERANCE);
      if (Object.keys(streaming).length === 0) {
        expect(maxAbsDiff(joinSamples(cached), reference)).toBeLessThanOrEqual(E2E_TOLERANCE);
      }
    }
  });

  it('refuses a non-boolean incrementalFlow and suggests the right spelling of a typo', async () => {
    await expect(
      collect(engine.stream(ZH, { voice, incrementalFlow: 'no' as unknown as boolean })),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      message: expect.stringMatching(/incrementalFlow must be true or false/) as unknown,
    });
    await expect(
      collect(engine.stream(ZH, { voice, incrementalflow: false } as unknown as { voice: VoiceProfile })),
    ).rejects.toMatchObject({ message: expect.stringMatching(/Did you mean "incrementalFlow"/) as unknown });
  });
});
