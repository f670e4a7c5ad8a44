/**
 * Cancellation at any moment in Chromium (issue #13.1): a worker busy in the LM, flow or vocoder loop of the
 * one-realm `Engine` reads a `cancel` message from the page within one step, and the same engine then speaks. Latency
 * is counted in graph runs started after the message arrived, never in wall time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from '../../src/loader/manifest.ts';
import { serializeVoice } from '../../src/models/voice/voice-profile.ts';
import { goldenVoice } from '../helpers/voice.ts';
import { expect, test } from './fixtures.ts';

const ROOT = join(import.meta.dirname, '../..');
const GOLDEN = join(ROOT, 'test/fixtures/golden');
const manifest = parseManifest(
  JSON.parse(readFileSync(join(ROOT, 'test/fixtures/tiny-package/manifest.json'), 'utf8')),
);
const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
const VOICE = Array.from(serializeVoice(goldenVoice({ manifest })));
/** Graph runs that may start after the message: one per loop running side by side (LM and token-to-wave). */
const RUNS_IN_FLIGHT = 2;

const probes = [
  { graph: 'llm', run: 3 },
  { graph: 'flow_step', run: 4 },
  { graph: 'hift_decoder', run: 1 },
] as const;

// One page (one engine: creating it costs most of the time) runs every probe in turn. One project: the cancel is a
// message between graph runs and its latency is counted in runs, so neither SharedArrayBuffer (the engine uses none)
// nor wasm threads (1 on 2 cores either way; more would only make each run shorter) can change what is measured.
test(
  'a worker busy in the LM, flow or vocoder loop cancels within one step on a message',
  { tag: '@not-isolated-only' },
  async ({ openPage }) => {
    const page = await openPage('abort');
    for (const { graph, run } of probes) {
      for (const api of ['synthesize', 'stream'] as const) {
        const label = `cancel during ${graph} run ${run} (${api})`;
        const result = await page.evaluate((request) => window.abortProbe.run(request), {
          graph,
          run,
          api,
          text: ZH.repeat(30),
          check: ZH,
          voice: VOICE,
        });
        expect(result.outcome, label).toBe('AbortError');
        expect(result.lateRuns, label).toBeGreaterThanOrEqual(0);
        expect(result.lateRuns, label).toBeLessThanOrEqual(RUNS_IN_FLIGHT);
        expect(result.afterFinite, label).toBe(true);
        expect(result.afterSamples, label).toBeGreaterThan(0);
      }
    }
  },
);
