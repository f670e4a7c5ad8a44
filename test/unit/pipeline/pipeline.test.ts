import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineChunk, StageHosts } from '../../../src/core/pipeline.ts';
import { runPipeline } from '../../../src/core/pipeline.ts';
import { Engine } from '../../../src/engine/engine.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { FlowStage } from '../../../src/stages/flow-stage.ts';
import { LmStage } from '../../../src/stages/lm-stage.ts';
import { VocoderStage } from '../../../src/stages/vocoder-stage.ts';
import { RingBuffer, SLOT } from '../../../src/audio/ring-buffer.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';
import { collect, joinSamples } from '../../helpers/audio.ts';
import { heldText } from '../../helpers/held-text.ts';

const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
const placement = { device: 'wasm', dtype: 'fp32' } as const;

let engine: Engine;
let stages: { lm: LmStage; flow: FlowStage; vocoder: VocoderStage };
let hosts: StageHosts;
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
  hosts = stages;
  voice = goldenVoice(pkg);
});
afterAll(async () => {
  await Promise.all([engine.dispose(), stages.lm.dispose(), stages.flow.dispose(), stages.vocoder.dispose()]);
});

const same = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
let id = 0;
const request = (input: string | AsyncIterable<string>, mode: 'offline' | 'stream', seed: number) => ({
  requestId: `r${++id}`,
  input,
  voice,
  mode,
  seed,
  options: {},
});

describe('three-stage pipeline over MessagePorts', () => {
  it('offline: identical samples to the one-realm engine for the same seed, LM figures per segment', async () => {
    const long = `${ZH}今天是2025年3月14日。`.repeat(3);
    const stats: number[] = [];
    const chunks = await collect(
      runPipeline(hosts, request(long, 'offline', 9), undefined, (s) => stats.push(s.tokens)),
    );
    const reference = await engine.synthesize(long, voice, { seed: 9 });
    expect(same(joinSamples(chunks), reference.samples)).toBe(true);
    expect(chunks.map((c) => c.segment)).toEqual(reference.segments.map((_, i) => i));
    expect(chunks.map((c) => c.last)).toEqual(chunks.map((_, i) => i === chunks.length - 1));
    expect(chunks.map((c) => c.text)).toEqual(reference.segments.map((s) => s.text));
    expect(stats).toEqual(reference.segments.map((s) => s.tokens.length));
  });

  it('stream: identical chunks to engine.stream() for the same seed', async () => {
    const chunks = await collect(runPipeline(hosts, request(ZH, 'stream', 42), undefined));
    const reference = [];
    for await (const c of engine.stream(ZH, voice, { seed: 42 })) reference.push(c);
    expect(chunks.map((c) => c.samples.length)).toEqual(reference.map((c) => c.samples.length));
    expect(chunks.map((c) => c.last)).toEqual(reference.map((c) => c.final));
    expect(chunks.map((c) => c.text)).toEqual(reference.map((c) => c.text));
    expect(chunks[0]?.text).toBe(ZH);
    expect(same(joinSamples(chunks), joinSamples(reference))).toBe(true);
  });

  it('bistream: the first chunk arrives while the text stream is still open', async () => {
    // opening text as in the engine test of the same name (enough ids for the prompt interleave and 41 tokens)
    const text = heldText([ZH.repeat(4), ' '], [ZH]);
    const chunks = runPipeline(hosts, request(text.stream, 'stream', 3), undefined);
    const first = await chunks.next();
    expect(text.released()).toBe(false);
    expect(first.done !== true && first.value.samples.length > 0 && !first.value.last).toBe(true);
    text.release();
    const rest = await collect({ [Symbol.asyncIterator]: () => chunks });
    expect(rest.map((c) => c.last)).toEqual(rest.map((_, i) => i === rest.length - 1));
  });

  it('bistream: a text stream through the pipeline equals the engine on the same stream', async () => {
    const pieces = ['Hello, this', ' is a ti', 'ny test. And 12', '3 more.'];
    async function* gen(): AsyncGenerator<string> {
      for (const p of pieces) {
        await Promise.resolve();
        yield p;
      }
    }
    const chunks = await collect(runPipeline(hosts, request(gen(), 'stream', 5), undefined));
    const reference = [];
    for await (const c of engine.stream(gen(), voice, { seed: 5 })) reference.push(c);
    expect(same(joinSamples(chunks), joinSamples(reference))).toBe(true);
  });

  it('flow steps reach the flow stage: equal to the engine with the same steps, unlike the default', async () => {
    const offline = { ...request(ZH, 'offline', 9), options: { flowSteps: 4 } };
    const few = joinSamples(await collect(runPipeline(hosts, offline, undefined)));
    const reference = await engine.synthesize(ZH, voice, { seed: 9, flowSteps: 4 });
    expect(same(few, reference.samples)).toBe(true);
    expect(same(few, (await engine.synthesize(ZH, voice, { seed: 9 })).samples)).toBe(false);
    const options = { flowSteps: 8, streaming: { firstChunkFlowSteps: 3 } };
    const streamed = await collect(runPipeline(hosts, { ...request(ZH, 'stream', 42), options }, undefined));
    const expected = [];
    for await (const c of engine.stream(ZH, voice, { seed: 42, ...options })) expected.push(c);
    expect(same(joinSamples(streamed), joinSamples(expected))).toBe(true);
  });

  it('abort mid-stream: rejects with the reason, every stage is free again', async () => {
    const controller = new AbortController();
    const got: PipelineChunk[] = [];
    const error = await (async () => {
      for await (const c of runPipeline(hosts, request(ZH.repeat(3), 'stream', 2), controller.signal)) {
        got.push(c);
        controller.abort(new DOMException('stop', 'AbortError'));
      }
    })().catch((e: unknown) => e);
    expect((error as DOMException).name).toBe('AbortError');
    expect(got).toHaveLength(1);
    // the stages release the request; the next one works and is deterministic
    const a = joinSamples(await collect(runPipeline(hosts, request(ZH, 'offline', 4), undefined)));
    const b = await engine.synthesize(ZH, voice, { seed: 4 });
    expect(same(a, b.samples)).toBe(true);
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
    const run = runPipeline(hosts, { ...request(ZH, 'stream', 42), playback }, undefined);
    const chunks: PipelineChunk[] = [];
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
    const error = await collect(runPipeline(hosts, { ...request(ZH, 'stream', 42), playback }, undefined)).catch(
      (e: unknown) => e,
    );
    await stopped;
    expect((error as DOMException).name).toBe('AbortError');
    expect((error as DOMException).message).toMatch(/Playback was stopped/);
    const a = joinSamples(await collect(runPipeline(hosts, request(ZH, 'offline', 4), undefined)));
    expect(same(a, (await engine.synthesize(ZH, voice, { seed: 4 })).samples)).toBe(true);
  });

  it('errors of a stage reach the consumer as TTSError', async () => {
    const error = await collect(runPipeline(hosts, request('', 'offline', 1), undefined)).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ERR_INVALID_INPUT');
    // instruct needs the whole text up front: refused for a text stream, with a message that says so
    const instructed = { ...request(heldText([ZH], []).stream, 'stream', 1), options: { instruct: '慢一点说' } };
    const refused = await collect(runPipeline(hosts, instructed, undefined)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERR_INVALID_INPUT', message: expect.stringMatching(/instruct/) as unknown });
    // and the stages are free again
    expect((await collect(runPipeline(hosts, request(ZH, 'offline', 1), undefined))).length).toBe(1);
  });
});
