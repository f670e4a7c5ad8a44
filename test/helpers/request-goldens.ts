/**
 * The request goldens of the tiny fixture (`test/fixtures/golden/requests.json`, `long_stream.npz`, `modes.npz`,
 * written by `tools/fixtures/request_goldens.py`): which request each golden answers, and its expected tokens,
 * chunk sizes and (strided) samples.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamingOptions, SynthesisOptions } from '../../src/request/options.ts';
import type { NpyArray } from './npz.ts';
import { floats, ints, need, readNpz } from './npz.ts';
import { GOLDEN } from './package.ts';

/** A request of `requests.json`, in the library's API terms. */
export interface GoldenRequest {
  readonly call: 'synthesize' | 'stream';
  /** A whole text (absent for a text stream). */
  readonly text?: string;
  /** A text the front-end must split into exactly these segments (the text is their concatenation). */
  readonly segments?: readonly string[];
  /** A text stream: `opening`, held open, then `rest`. */
  readonly opening?: readonly string[];
  readonly rest?: readonly string[];
  readonly options: SynthesisOptions;
  /** Long stream: the streaming schedules it was run with. */
  readonly schedules?: Readonly<Record<string, StreamingOptions>>;
}

/** Audio tolerance of the end-to-end goldens (max |Δ|, as for `e2e.npz`). */
export const E2E_TOLERANCE = 1e-4;

export const REQUESTS = JSON.parse(readFileSync(join(GOLDEN, 'requests.json'), 'utf8')) as Record<
  string,
  GoldenRequest
>;
export const LONG_STREAM = readNpz(join(GOLDEN, 'long_stream.npz'));
export const MODES = readNpz(join(GOLDEN, 'modes.npz'));

/** A request by name (throws when `requests.json` lacks it). */
export function goldenRequest(name: string): GoldenRequest {
  const request = REQUESTS[name];
  if (request === undefined) throw new Error(`requests.json has no request "${name}"`);
  return request;
}

/** The whole text of a request (its segments, or a text stream's pieces, joined). */
export function requestText(request: GoldenRequest): string {
  return request.text ?? [...(request.segments ?? []), ...(request.opening ?? []), ...(request.rest ?? [])].join('');
}

/** A request seed stored as int64. */
export function seedOf(array: NpyArray): number {
  return Number((array.data as BigInt64Array)[0]);
}

/** Expected audio of one run: chunk sizes and every `stride`-th sample of the joined chunks. */
export interface ExpectedAudio {
  readonly chunkSamples: number[];
  readonly stride: number;
  readonly wave: Float32Array;
}

/** The expected audio stored under `prefix` (`<prefix>.chunk_samples`, `<prefix>.wave`) of `arrays`. */
export function expectedAudio(arrays: Map<string, NpyArray>, prefix: string, stride: number): ExpectedAudio {
  return {
    chunkSamples: ints(need(arrays, `${prefix}.chunk_samples`)),
    stride,
    wave: floats(need(arrays, `${prefix}.wave`)),
  };
}
