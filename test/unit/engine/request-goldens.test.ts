/**
 * The library against the reference's request goldens (tools/fixtures/request_goldens.py): a long stream (≥ 6
 * chunks: hops 25 + pad → 50 → 100 → 100, final full-attention chunk) under the upstream, small-first-hop and
 * bounded-context schedules, through `Engine.stream` and through `runPipeline` over the three stages; and one request
 * per mode (cross-lingual, instruct, fine-grained tags, multi-segment text, bistream held open then released) through
 * the engine. Tokens are compared exactly, chunk sizes exactly, samples within the e2e tolerance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/engine.ts';
import { streamSchedule } from '../../../src/models/chunk-policy.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import type { AudioChunk } from '../../../src/request/chunks.ts';
import type { SynthesisOptions } from '../../../src/request/options.ts';
import type { SegmentResult } from '../../../src/request/result.ts';
import { TextIdStream } from '../../../src/request/text-stream.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { FlowStage } from '../../../src/stages/flow-stage.ts';
import { LmStage } from '../../../src/stages/lm-stage.ts';
import { runPipeline } from '../../../src/stages/pipeline.ts';
import { VocoderStage } from '../../../src/stages/vocoder-stage.ts';
import { collectWithResult, joinSamples, strided } from '../../helpers/audio.ts';
import { heldText } from '../../helpers/held-text.ts';
import { ints, maxAbsDiff, need } from '../../helpers/npz.ts';
import { openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import type { ExpectedAudio, GoldenRequest } from '../../helpers/request-goldens.ts';
import {
  E2E_TOLERANCE,
  expectedAudio,
  goldenRequest,
  LONG_STREAM,
  MODES,
  requestText,
  seedOf,
} from '../../helpers/request-goldens.ts';
import { goldenVoice } from '../../helpers/voice.ts';

const placement = { device: 'wasm', dtype: 'fp32' } as const;
const LONG = goldenRequest('long_stream');
const LONG_SEED = seedOf(need(LONG_STREAM, 'seed'));
const LONG_TOKENS = ints(need(LONG_STREAM, 'tokens'));
const LONG_STRIDE = ints(need(LONG_STREAM, 'wave_stride'))[0] ?? 0;
const MODE_STRIDE = ints(need(MODES, 'wave_stride'))[0] ?? 0;
const SCHEDULES = Object.entries(LONG.schedules ?? {});
const MODE_NAMES = ['cross_lingual', 'instruct', 'tags', 'multi_segment', 'bistream'];

let engine: Engine;
let stages: { lm: LmStage; flow: FlowStage; vocoder: VocoderStage };
let voice: VoiceProfile;

beforeAll(async () => {
  const pkg = await openPackageDir(TINY_PACKAGE);
  const ort = await loadOrt('wasm');
  engine = await Engine.create(pkg, ort, placement);
  stages = {
    lm: await LmStage.create(pkg, ort, placement),
    flow: await FlowStage.create(pkg, ort, placement),
    vocoder: await VocoderStage.create(pkg, ort, placement),
  };
  voice = goldenVoice(pkg);
});
afterAll(async () => {
  await Promise.all([engine.dispose(), stages.lm.dispose(), stages.flow.dispose(), stages.vocoder.dispose()]);
});

/** Chunk sizes exactly, then the strided samples within the e2e tolerance. */
function expectAudio(chunks: ReadonlyArray<{ readonly samples: Float32Array }>, expected: ExpectedAudio): void {
  expect(chunks.map((c) => c.samples.length)).toEqual(expected.chunkSamples);
  const got = strided(joinSamples(chunks), expected.stride);
  expect(got.length).toBe(expected.wave.length);
  expect(maxAbsDiff(got, expected.wave)).toBeLessThan(E2E_TOLERANCE);
}

/** A request of `runPipeline` (what `Engine` builds from a call). */
function pipelineRequest(
  requestId: string,
  input: string | AsyncIterable<string>,
  seed: number,
  options: SynthesisOptions,
) {
  return { requestId, input, voice, mode: 'stream', seed, options, sampleRate: 24000 } as const;
}

/** Speech tokens of every segment, joined. */
function allTokens(segments: readonly SegmentResult[]): number[] {
  return segments.flatMap((s) => Array.from(s.tokens));
}

describe('long stream (≥ 6 chunks) against the reference', () => {
  it('the golden stream is long: at least six chunks under every schedule, the last one final', () => {
    expect(SCHEDULES.map(([name]) => name)).toEqual(['upstream', 'first_hop', 'context']);
    for (const [name] of SCHEDULES) {
      expect(ints(need(LONG_STREAM, `${name}.chunk_samples`)).length).toBeGreaterThanOrEqual(6);
    }
  });

  it.each(SCHEDULES)('%s: the TS chunk policy plans the reference schedule', (name, streaming) => {
    const plans = streamSchedule(LONG_TOKENS.length, { promptTokens: voice.promptTokens.length, ...streaming });
    expect(plans.map((p) => p.tokenOffset)).toEqual(ints(need(LONG_STREAM, `${name}.chunk_offset`)));
    expect(plans.map((p) => p.contextStart)).toEqual(ints(need(LONG_STREAM, `${name}.chunk_context_start`)));
    expect(plans.map((p) => p.tokenEnd)).toEqual(ints(need(LONG_STREAM, `${name}.chunk_tokens_used`)));
  });

  it.each(SCHEDULES)('%s: Engine.stream gives the reference chunks and samples', async (name, streaming) => {
    const run = engine.stream(requestText(LONG), { ...LONG.options, voice, seed: LONG_SEED, streaming });
    const { values: chunks, result: metrics } = await collectWithResult(run);
    expect(metrics.tokens).toBe(LONG_TOKENS.length);
    expect(chunks.map((c) => c.final)).toEqual(chunks.map((_, i) => i === chunks.length - 1));
    expectAudio(chunks, expectedAudio(LONG_STREAM, name, LONG_STRIDE));
  });

  it.each(SCHEDULES)('%s: runPipeline over the three stages gives the reference chunks', async (name, streaming) => {
    const request = pipelineRequest(`long-${name}`, requestText(LONG), LONG_SEED, { ...LONG.options, streaming });
    const { values: chunks, result } = await collectWithResult(runPipeline(stages, request));
    expect(allTokens(result.segments)).toEqual(LONG_TOKENS);
    expectAudio(chunks, expectedAudio(LONG_STREAM, name, LONG_STRIDE));
  });
});

/**
 * Runs a golden request: `synthesize` through the engine, `stream` through `runPipeline` over the stages (what the
 * engine runs, and it reports every segment's tokens). A text stream is held open after its opening until the first
 * chunk has arrived: that chunk is made from the opening alone.
 */
async function run(
  mode: string,
  request: GoldenRequest,
  seed: number,
): Promise<{ chunks: Array<{ readonly samples: Float32Array }>; segments: readonly SegmentResult[] }> {
  if (request.call === 'synthesize') {
    const result = await engine.synthesize(requestText(request), { ...request.options, voice, seed });
    return { chunks: [{ samples: result.samples }], segments: result.segments };
  }
  const held = request.opening === undefined ? undefined : heldText(request.opening, request.rest ?? []);
  const iterator = runPipeline(
    stages,
    pipelineRequest(mode, held?.stream ?? requestText(request), seed, request.options),
  );
  const chunks: AudioChunk[] = [];
  let step = await iterator.next();
  for (; step.done !== true; step = await iterator.next()) {
    if (held !== undefined && chunks.length === 0) {
      expect(held.released()).toBe(false);
      held.release();
    }
    chunks.push(step.value);
  }
  return { chunks, segments: step.value.segments };
}

describe('every mode against the reference', () => {
  it.each(MODE_NAMES)('%s: tokens per segment exact, audio within the e2e tolerance', async (mode) => {
    const request = goldenRequest(mode);
    const { chunks, segments } = await run(mode, request, seedOf(need(MODES, `${mode}.seed`)));
    const tokens = ints(need(MODES, `${mode}.tokens`));
    expect(segments.map((s) => s.tokens.length)).toEqual(ints(need(MODES, `${mode}.segment_tokens`)));
    expect(allTokens(segments)).toEqual(tokens);
    if (request.opening === undefined) {
      // the front-end makes of the text exactly the segments the reference spoke
      const texts = request.segments ?? [requestText(request)];
      expect(segments.map((s) => s.text)).toEqual(texts);
      const ids = texts.flatMap((t) => Array.from(engine.tokenizer.encode(t)));
      expect(ids).toEqual(ints(need(MODES, `${mode}.text_ids`)));
    }
    if (request.call === 'synthesize') {
      // offline: one piece of audio per segment, joined
      const samples = chunks[0]?.samples ?? new Float32Array(0);
      const expected = expectedAudio(MODES, mode, MODE_STRIDE);
      expect(samples.length).toBe(expected.chunkSamples.reduce((n, s) => n + s, 0));
      expect(maxAbsDiff(strided(samples, MODE_STRIDE), expected.wave)).toBeLessThan(E2E_TOLERANCE);
    } else {
      expectAudio(chunks, expectedAudio(MODES, mode, MODE_STRIDE));
    }
  });

  it('bistream: the reference was fed the ids the library makes of the text stream', async () => {
    const request = goldenRequest('bistream');
    const ids = new TextIdStream(engine.tokenizer, { normalize: request.options.normalize ?? true });
    const got: number[] = [];
    for await (const id of ids.ids([...(request.opening ?? []), ...(request.rest ?? [])])) got.push(...id);
    expect(got).toEqual(ints(need(MODES, 'bistream.text_ids')));
  });
});
