/** The result of an offline request, gathered the same way by every entry point. */
import type { AudioChunk } from './chunks.ts';
import type { RequestMetrics } from './metrics.ts';

/** A segment of the request: its text as spoken and the speech tokens the LM made for it. */
export interface SegmentResult {
  readonly text: string;
  readonly tokens: Int32Array;
}

/** An utterance synthesised offline. */
export interface SynthesisResult {
  /** Mono samples in [−0.99, 0.99]. */
  readonly samples: Float32Array;
  readonly sampleRate: number;
  /** The text segments as spoken, with the speech tokens of each. */
  readonly segments: readonly SegmentResult[];
  readonly metrics: RequestMetrics;
}

/** Runs a request to its end and joins its chunks. */
export async function collectSynthesis(
  run: AsyncGenerator<AudioChunk, { readonly metrics: RequestMetrics; readonly segments: readonly SegmentResult[] }>,
  sampleRate: number,
): Promise<SynthesisResult> {
  const pieces: Float32Array[] = [];
  let step = await run.next();
  for (; step.done !== true; step = await run.next()) pieces.push(step.value.samples);
  const samples = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of pieces) {
    samples.set(p, offset);
    offset += p.length;
  }
  return { samples, sampleRate, segments: step.value.segments, metrics: step.value.metrics };
}
