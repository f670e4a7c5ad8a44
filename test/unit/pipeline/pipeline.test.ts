import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioChunk } from '../../../src/request/chunks.ts';
import type { SynthesisOptions } from '../../../src/request/options.ts';
import type { StageHosts } from '../../../src/stages/pipeline.ts';
import { runPipeline } from '../../../src/stages/pipeline.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { FlowStage } from '../../../src/stages/flow-stage.ts';
import { LmStage } from '../../../src/stages/lm-stage.ts';
import { VocoderStage } from '../../../src/stages/vocoder-stage.ts';
import { SLOT } from '../../../src/audio/playback-protocol.ts';
import { RingBuffer } from '../../../src/audio/ring-buffer.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';
import { collect, collectWithResult, joinSamples } from '../../helpers/audio.ts';
import { RunnerReference } from '../../helpers/runners.ts';
import { heldText } from '../../helpers/held-text.ts';

const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
const placement = { device: 'wasm', dtype: 'fp32' } as const;

let reference: RunnerReference;
let stages: { lm: LmStage; flow: FlowStage; vocoder: VocoderStage };
let hosts: StageHosts;
let voice: VoiceProfile;

beforeAll(async () => {
  const pkg = await openPackageDir(TINY_PACKAGE);
  const ort = await loadOrt('wasm');
  reference = await RunnerReference.create(pkg, ort, placement);
  stages = {
    lm: await LmStage.create(pkg, ort, placement),
    flow: await FlowStage.create(pkg, ort, placement),
    vocoder: await VocoderStage.create(pkg, ort, placement),
  };
  hosts = stages;
  voice = goldenVoice(pkg);
});
afterAll(async () => {
  await Promise.all([reference.dispose(), stages.lm.dispose(), stages.flow.dispose(), stages.vocoder.dispose()]);
});

const same = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
let id = 0;
const request = (
  input: string | AsyncIterable<string>,
  mode: 'offline' | 'stream',
  seed: number,
  options: SynthesisOptions = {},
) => ({ requestId: `r${++id}`, input, voice, mode, seed, options, sampleRate: 24000 });
const joinPieces = (pieces: readonly Float32Array[]): Float32Array =>
  joinSamples(pieces.map((samples) => ({ samples })));

describe('three-stage pipeline over MessagePorts', () => {
  it('offline: identical samples to the runners driven directly, segment texts and tokens, metrics', async () => {
    const long = `${ZH}今天是2025年3月14日。`.repeat(3);
    const { values: chunks, result } = await collectWithResult(runPipeline(hosts, request(long, 'offline', 9)));
    const expected = await reference.text(long, voice, 9, 'offline');
    expect(same(joinSamples(chunks), joinPieces(expected))).toBe(true);
    expect(chunks.map((c) => c.samples.length)).toEqual(expected.map((p) => p.length));
    expect(chunks.map((c) => c.segment)).toEqual(result.segments.map((_, i) => i));
    expect(chunks.map((c) => c.final)).toEqual(chunks.map((_, i) => i === chunks.length - 1));
    expect(chunks.map((c) => c.text)).toEqual(result.segments.map((s) => s.text));
    const tokens = result.segments.reduce((n, s) => n + s.tokens.length, 0);
    expect(result.metrics.tokens).toBe(tokens);
    expect(joinSamples(chunks).length).toBe(tokens * 960);
    expect(result.metrics.audioSeconds).toBe(joinSamples(chunks).length / 24000);
    expect(result.metrics.seed).toBe(9);
  });

  it('stream: identical chunks to the runners driven directly for the same seed', async () => {
    const chunks = await collect(runPipeline(hosts, request(ZH, 'stream', 42)));
    const expected = await reference.text(ZH, voice, 42, 'stream');
    expect(chunks.map((c) => c.samples.length)).toEqual(expected.map((p) => p.length));
    expect(chunks.map((c) => c.final)).toEqual(chunks.map((_, i) => i === chunks.length - 1));
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    expect(chunks[0]?.text).toBe(ZH);
    expect(same(joinSamples(chunks), joinPieces(expected))).toBe(true);
  });

  it('bistream: the first chunk arrives while the text stream is still open', async () => {
    // opening text as in the engine test of the same name (enough ids for the prompt interleave and 41 tokens)
    const text = heldText([ZH.repeat(4), ' '], [ZH]);
    const chunks = runPipeline(hosts, request(text.stream, 'stream', 3));
    const first = await chunks.next();
    expect(text.released()).toBe(false);
    expect(first.done !== true && first.value.samples.length > 0 && !first.value.final).toBe(true);
    text.release();
    const { values: rest } = await collectWithResult(chunks);
    expect(rest.map((c) => c.final)).toEqual(rest.map((_, i) => i === rest.length - 1));
  });

  it('bistream: a text stream through the pipeline equals the runners on the same stream', async () => {
    const pieces = ['Hello, this', ' is a ti', 'ny test. And 12', '3 more.'];
    async function* gen(): AsyncGenerator<string> {
      for (const p of pieces) {
        await Promise.resolve();
        yield p;
      }
    }
    const chunks = await collect(runPipeline(hosts, request(gen(), 'stream', 5)));
    const expected = await reference.textStream(gen(), voice, 5);
    expect(chunks.length).toBeGreaterThan(0);
    expect(same(joinSamples(chunks), joinPieces(expected))).toBe(true);
  });

  it('flow steps reach the flow stage: equal to the runners with the same steps, unlike the default', async () => {
    const few = joinSamples(await collect(runPipeline(hosts, request(ZH, 'offline', 9, { flowSteps: 4 }))));
    expect(same(few, joinPieces(await reference.text(ZH, voice, 9, 'offline', { flowSteps: 4 })))).toBe(true);
    expect(same(few, joinPieces(await reference.text(ZH, voice, 9, 'offline')))).toBe(false);
    const options = { flowSteps: 8, streaming: { firstChunkFlowSteps: 3 } };
    const streamed = await collect(runPipeline(hosts, request(ZH, 'stream', 42, options)));
    expect(same(joinSamples(streamed), joinPieces(await reference.text(ZH, voice, 42, 'stream', options)))).toBe(true);
  });

  it('abort mid-stream: rejects with the reason, every stage is free again', async () => {
    const controller = new AbortController();
    const got: AudioChunk[] = [];
    const error = await (async () => {
      const aborted = request(ZH.repeat(3), 'stream', 2, { signal: controller.signal });
      for await (const c of runPipeline(hosts, aborted)) {
        got.push(c);
        controller.abort(new DOMException('stop', 'AbortError'));
      }
    })().catch((e: unknown) => e);
    expect((error as DOMException).name).toBe('AbortError');
    expect(got).toHaveLength(1);
    // the stages release the request; the next one works and is deterministic
    const a = joinSamples(await collect(runPipeline(hosts, request(ZH, 'offline', 4))));
    expect(same(a, joinPieces(await reference.text(ZH, voice, 4, 'offline')))).toBe(true);
  });

  it('playback: the vocoder stage writes every chunk into the player ring itself, with backpressure, and ends it', async () => {
    // a ring smaller than one chunk: the stage must wait for the consumer again and again
    const buffer = RingBuffer.allocate(2000) as SharedArrayBuffer;
    const ring = new RingBuffer(buffer);
    const played: Float32Array[] = [];
    const producer = { done: false };
    const consumer = (async () => {
      while (!producer.done || ring.availableRead() > 0) {
        const out = new Float32Array(ring.availableRead());
        if (out.length > 0) {
          played.push(out.subarray(0, ring.pop(out)));
          Atomics.notify(ring.header, SLOT.read); // as the worklet does: wakes a producer waiting for room
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    const playback = { transport: 'sab', buffer, epoch: 0, sampleRate: 24000 } as const;
    const run = runPipeline(hosts, { ...request(ZH, 'stream', 42), playback });
    const chunks: AudioChunk[] = [];
    let step = await run.next();
    for (; step.done !== true; step = await run.next()) chunks.push(step.value);
    producer.done = true;
    await consumer;
    expect(chunks.length).toBeGreaterThan(1);
    expect(joinSamples(chunks).length).toBeGreaterThan(2000);
    expect(same(joinSamples(played.map((samples) => ({ samples }))), joinSamples(chunks))).toBe(true);
    // the end token marks the end of this request's audio in the ring
    expect(step.value.playbackEnd).toBe(1);
    expect(Atomics.load(ring.header, SLOT.ended)).toBe(1);
  });

  it('playback: a stop of the player ends the request with an AbortError and frees every stage', async () => {
    const buffer = RingBuffer.allocate(1000) as SharedArrayBuffer;
    const ring = new RingBuffer(buffer);
    const playback = { transport: 'sab', buffer, epoch: 0, sampleRate: 24000 } as const;
    // nobody consumes: the first chunk fills the ring and the stage waits for room, until the player stops
    const stopped = (async () => {
      while (ring.availableWrite() > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      Atomics.store(ring.header, SLOT.stop, 1);
      Atomics.notify(ring.header, SLOT.read);
    })();
    const error = await collect(runPipeline(hosts, { ...request(ZH, 'stream', 42), playback })).catch(
      (e: unknown) => e,
    );
    await stopped;
    expect((error as DOMException).name).toBe('AbortError');
    expect((error as DOMException).message).toMatch(/Playback was stopped/);
    const a = joinSamples(await collect(runPipeline(hosts, request(ZH, 'offline', 4))));
    expect(same(a, joinPieces(await reference.text(ZH, voice, 4, 'offline')))).toBe(true);
  });

  it('errors of a stage reach the consumer as TTSError', async () => {
    const error = await collect(runPipeline(hosts, request('', 'offline', 1))).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ERR_INVALID_INPUT');
    // instruct needs the whole text up front: refused for a text stream, with a message that says so
    const instructed = request(heldText([ZH], []).stream, 'stream', 1, { instruct: '慢一点说' });
    const refused = await collect(runPipeline(hosts, instructed)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringMatching(/instruct/) as unknown });
    // and the stages are free again
    expect((await collect(runPipeline(hosts, request(ZH, 'offline', 1)))).length).toBe(1);
  });
});
