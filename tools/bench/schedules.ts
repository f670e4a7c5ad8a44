/**
 * The streaming schedules the time-to-first-audio benchmarks compare (issue #11), shared by the Node bench
 * (tools/bench/ttfa.ts) and the browser runner (tools/bench/browser.ts) so both report the same rows: upstream's (first
 * chunk = 25 + prompt pad + 3 look-ahead tokens, 10 Euler steps), a first hop equal to the prompt pad (same mel as
 * upstream, see src/models/chunk-policy.ts), and that hop with a 5-step first chunk.
 */
import type { StreamingOptions } from '../../src/request/options.ts';

/**
 * One sentence (one segment) long enough that the first chunk of every schedule is not the utterance's last: the
 * random-weight LM tends to stop as soon as it may, at `minTokenTextRatio` (2) speech tokens per text token, and a
 * first chunk that is also the final call re-solves with full attention (upstream's final chunk), which would time
 * the whole utterance's final call, not a stream's first chunk — the 17-token sentence used before did that for
 * upstream's 41-token first call. Both benches refuse a final first chunk.
 */
export const SCHEDULE_TEXT =
  'The quick brown fox jumps over the lazy dog near the quiet river bank today, while three old millers count ' +
  'their heavy sacks of golden grain beside the creaking wooden wheel.';

/** One schedule: key (for command-line lists), name (in tables and JSON), the request's `streaming` option. */
export type BenchSchedule = readonly [key: string, name: string, streaming: StreamingOptions];

/** Upstream's prompt pad: the tokens that bring `promptTokens` up to a whole number of `chunkTokens` chunks. */
export function promptPad(promptTokens: number, chunkTokens: number): number {
  return Math.ceil(promptTokens / chunkTokens) * chunkTokens - promptTokens;
}

/** The schedules for a voice of `promptTokens` flow prompt tokens and an encoder chunk of `chunkTokens`. */
export function benchSchedules(promptTokens: number, chunkTokens: number): BenchSchedule[] {
  const pad = promptPad(promptTokens, chunkTokens);
  return [
    ['upstream', 'upstream (first chunk 25 + pad tokens, 10 steps)', {}],
    ['pad', `firstHop ${pad} (= pad, same mel)`, { firstHop: pad }],
    ['pad-5', `firstHop ${pad} + firstChunkFlowSteps 5`, { firstHop: pad, firstChunkFlowSteps: 5 }],
  ];
}

/**
 * The schedules `list` (comma-separated keys) names, in the order given.
 *
 * @throws {Error} for an unknown key, naming the known ones
 */
export function pickSchedules(all: readonly BenchSchedule[], list: string): BenchSchedule[] {
  return list
    .split(',')
    .filter((key) => key !== '')
    .map((key) => {
      const found = all.find(([k]) => k === key);
      if (found === undefined) {
        throw new Error(`unknown schedule ${key}; known: ${all.map(([k]) => k).join(', ')}`);
      }
      return found;
    });
}
