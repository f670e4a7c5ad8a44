/**
 * The LM pacing (`schedule`, issue #11 item 5) with the real LM stage on the tiny package: a slow fake consumer in
 * place of the flow (a real `ChunkPolicy` and the flow's real `LmCredit`, but "solving" a call means waiting until
 * the LM can go no further), then the whole pipeline in one realm: the same tokens and audio with and without the
 * policy, the first-audio priority seen in the order of the graph runs, cancellation while the LM waits, and a flow
 * that dies while the LM waits for it. Every assertion is on counts and order, none on time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TTSError } from '../../../src/errors.ts';
import { ChunkPolicy } from '../../../src/models/chunk-policy.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import type { SynthesisOptions } from '../../../src/request/options.ts';
import { jobOptions } from '../../../src/request/options.ts';
import { DEFAULT_LM_LEAD_TOKENS, resolveSchedule } from '../../../src/request/schedule.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { FlowStage } from '../../../src/stages/flow-stage.ts';
import { LmCredit } from '../../../src/stages/lm-credit.ts';
import { LmStage } from '../../../src/stages/lm-stage.ts';
import type { StageHosts } from '../../../src/stages/pipeline.ts';
import { runPipeline } from '../../../src/stages/pipeline.ts';
import type { TokenCredit, TokenMessage } from '../../../src/stages/protocol.ts';
import { VocoderStage } from '../../../src/stages/vocoder-stage.ts';
import { collect, collectWithResult, joinSamples } from '../../helpers/audio.ts';
import type { OrtSpy, SpiedGraph } from '../../helpers/ort-spy.ts';
import { spyOrt } from '../../helpers/ort-spy.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';

const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';
/** Several segments, enough tokens for the bound to matter. */
const LONG = ZH.repeat(3);
const placement = { device: 'wasm', dtype: 'fp32' } as const;

let spy: OrtSpy;
let stages: { lm: LmStage; flow: FlowStage; vocoder: VocoderStage };
let voice: VoiceProfile;
/** The golden voice's chunk schedule (the flow's defaults). */
let policyOf: () => ChunkPolicy;

beforeAll(async () => {
  const pkg = await openPackageDir(TINY_PACKAGE);
  spy = spyOrt(await loadOrt('wasm'));
  stages = {
    lm: await LmStage.create(pkg, spy.ort, placement),
    flow: await FlowStage.create(pkg, spy.ort, placement),
    vocoder: await VocoderStage.create(pkg, spy.ort, placement),
  };
  voice = goldenVoice(pkg);
  const { chunkTokens, preLookahead } = pkg.manifest.config.flow;
  policyOf = () => new ChunkPolicy({ promptTokens: voice.promptTokens.length, chunkTokens, lookahead: preLookahead });
});
afterAll(async () => {
  await Promise.all([stages.lm.dispose(), stages.flow.dispose(), stages.vocoder.dispose()]);
});

let id = 0;

/** What the slow consumer saw. */
interface ConsumerTrace {
  /** At every token's arrival: tokens received, the limit last granted, tokens taken into calls, next call's need. */
  readonly arrivals: { received: number; limit: number; consumed: number; needed: number }[];
  /** Tokens received when each call was committed. */
  readonly receivedAtCommit: number[];
  /** Tokens of the request. */
  total: number;
  /** How the request ended on the token port. */
  ending: TokenMessage | undefined;
}

/**
 * A flow stand-in: reads the token port in order as the flow stage does, plans each segment's calls with the real
 * chunk policy, grants credits with the real `LmCredit`, and "solves" a call by waiting until the LM can send nothing
 * more (`hold: 'limit'`: its tokens have reached the credit, or it has finished) or until it has finished the request
 * (`hold: 'end'`), plus a short grace in which an LM that ignored its credit would overshoot it.
 */
function slowConsumer(port: MessagePort, options: SynthesisOptions, hold: 'limit' | 'end') {
  const trace: ConsumerTrace = { arrivals: [], receivedAtCommit: [], total: 0, ending: undefined };
  /** Tokens arrived on the port, the LM's end arrived, the last credit, what the credit was computed from. */
  const state = { arrived: 0, finished: false, limit: 0, consumed: 0, needed: 0 };
  const queue: TokenMessage[] = [];
  let wake: (() => void) | undefined;
  const until = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise<void>((resolve) => (wake = resolve));
  };
  const credit = new LmCredit(resolveSchedule(options.schedule), ({ consumed, limit }) => {
    state.limit = limit;
    port.postMessage({ type: 'credit', requestId: 'x', consumed, limit } satisfies TokenCredit);
  });
  port.onmessage = (event: MessageEvent) => {
    const message = event.data as TokenMessage;
    queue.push(message);
    if (message.type === 'tokens') {
      state.arrived += message.ids.length;
      const { arrived: received, limit, consumed, needed } = state;
      trace.arrivals.push({ received, limit, consumed, needed });
    }
    if (message.type === 'end' || message.type === 'error') state.finished = true;
    wake?.();
  };
  const firstNeed = policyOf().tokensNeeded;
  const done = (async () => {
    credit.open(firstNeed);
    state.needed = firstNeed;
    let policy = policyOf();
    const segment = { start: 0, count: 0, ended: false };
    let processed = 0;
    const drain = async (): Promise<void> => {
      for (
        let call = policy.plan(segment.count, segment.ended);
        call;
        call = policy.plan(segment.count, segment.ended)
      ) {
        state.consumed = Math.max(state.consumed, segment.start + call.tokenEnd);
        credit.start(call);
        await until(() => state.finished || (hold === 'limit' && state.arrived >= state.limit));
        await new Promise((resolve) => setTimeout(resolve, 20));
        policy.commit(call);
        trace.receivedAtCommit.push(state.arrived);
        state.needed = segment.start + (policy.done ? segment.count + firstNeed : policy.tokensNeeded);
        credit.done({ done: policy.done, tokenCount: segment.count, tokensNeeded: policy.tokensNeeded });
      }
    };
    for (;;) {
      await until(() => queue.length > 0);
      const message = queue.shift() as TokenMessage;
      if (message.type === 'segment') {
        credit.segment();
        policy = policyOf();
        Object.assign(segment, { start: processed, count: 0, ended: false });
      } else if (message.type === 'tokens') {
        processed += message.ids.length;
        segment.count += message.ids.length;
        credit.received(message.ids.length);
        await drain();
      } else if (message.type === 'segment-end') {
        segment.ended = true;
        await drain();
      } else {
        trace.ending = message;
        break;
      }
    }
    trace.total = state.arrived;
    return trace;
  })();
  return done;
}

/** Runs the real LM stage for `text` into a slow consumer. */
async function lmInto(options: SynthesisOptions, hold: 'limit' | 'end', text = LONG): Promise<ConsumerTrace> {
  const { port1, port2 } = new MessageChannel();
  const requestId = `p${++id}`;
  const consumer = slowConsumer(port2, options, hold);
  const job = {
    requestId,
    text,
    voice: { promptTextIds: voice.promptTextIds, promptTokens: voice.promptTokens },
    options: jobOptions(options, 5),
  };
  await stages.lm.run(job, port1);
  const trace = await consumer;
  port2.close();
  return trace;
}

describe('LM pacing against a slow consumer (real LM stage)', () => {
  it('until first audio the LM stops at the first call’s tokens and look-ahead; then its lead never exceeds the bound', async () => {
    const lead = 30;
    const trace = await lmInto({ schedule: { lmLeadTokens: lead } }, 'limit');
    const firstNeed = policyOf().tokensNeeded;
    expect(trace.ending?.type).toBe('end');
    expect(trace.total).toBeGreaterThan(firstNeed + 2 * lead); // long enough for the bound to matter
    expect(trace.receivedAtCommit[0]).toBe(firstNeed);
    for (const a of trace.arrivals) {
      expect(a.received).toBeLessThanOrEqual(a.limit);
      expect(a.received - a.consumed).toBeLessThanOrEqual(Math.max(lead, a.needed - a.consumed));
    }
    // the consumer waited at every limit, so the bound was reached where it, not the next call's need, set the limit
    const bit = trace.arrivals.filter((a) => a.received === a.limit && a.limit === a.consumed + lead);
    expect(bit.some((a) => a.limit > a.needed)).toBe(true);
  });

  it('with the policy off the LM runs ahead: all its tokens while the consumer holds the first call', async () => {
    const trace = await lmInto({ schedule: false }, 'end');
    expect(trace.ending?.type).toBe('end');
    expect(trace.receivedAtCommit[0]).toBe(trace.total);
    expect(trace.total).toBeGreaterThan(policyOf().tokensNeeded + DEFAULT_LM_LEAD_TOKENS);
  });

  it('cancel while the LM waits for a credit: it stops at once with an AbortError and runs no further step', async () => {
    const { port1, port2 } = new MessageChannel();
    const requestId = `p${++id}`;
    const firstNeed = policyOf().tokensNeeded;
    let received = 0;
    const ending = new Promise<TokenMessage>((resolve) => {
      port2.onmessage = (event: MessageEvent) => {
        const message = event.data as TokenMessage;
        if (message.type === 'tokens') received += message.ids.length;
        if (message.type === 'end' || message.type === 'error') resolve(message);
      };
    });
    // the flow's first credit, then nothing more: the LM must wait after the first call's tokens
    port2.postMessage({ type: 'credit', requestId, consumed: 0, limit: firstNeed } satisfies TokenCredit);
    const options = jobOptions({}, 5);
    const run = stages.lm.run(
      {
        requestId,
        text: LONG,
        voice: { promptTextIds: voice.promptTextIds, promptTokens: voice.promptTokens },
        options,
      },
      port1,
    );
    while (received < firstNeed) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20)); // it would overshoot now if it did not wait
    const llmRuns = spy.runs.filter((r) => r.graph === 'llm').length;
    stages.lm.cancel(requestId);
    await run;
    const message = await ending;
    expect(message.type === 'error' && message.error.name).toBe('AbortError');
    expect(received).toBe(firstNeed);
    expect(spy.runs.filter((r) => r.graph === 'llm').length).toBe(llmRuns);
    port2.close();
  });
});

/** The graph of every run a request made, in the order they started. */
async function runsOf(task: () => Promise<unknown>): Promise<SpiedGraph[]> {
  const from = spy.runs.length;
  await task();
  return spy.runs.slice(from).map((r) => r.graph);
}

const request = (options: SynthesisOptions, text = LONG) => ({
  requestId: `q${++id}`,
  input: text,
  voice,
  mode: 'stream' as const,
  seed: 42,
  options,
  sampleRate: 24000,
});

describe('the pipeline in one realm with the pacing', () => {
  it('the same tokens and audio with the policy, without it and with no lead', async () => {
    const results = [];
    for (const schedule of [undefined, false, { lmLeadTokens: 0 }, { firstAudioPriority: false }] as const) {
      const { values, result } = await collectWithResult(
        runPipeline(stages, request(schedule === undefined ? {} : { schedule })),
      );
      results.push({ samples: joinSamples(values), chunks: values.length, tokens: result.segments[0]?.tokens });
    }
    const [reference, ...others] = results;
    expect(reference?.chunks).toBeGreaterThan(2);
    for (const other of others) {
      expect(Array.from(other.tokens ?? [])).toEqual(Array.from(reference?.tokens ?? []));
      expect(
        Buffer.from(other.samples.buffer).equals(Buffer.from(reference?.samples.buffer ?? new ArrayBuffer(0))),
      ).toBe(true);
    }
  });

  it('first-audio priority: no LM step while the flow solves the first chunk (and many without it)', async () => {
    const firstNeed = policyOf().tokensNeeded;
    const llmDuringFirstChunk = (graphs: SpiedGraph[]): { before: number; during: number } => {
      const firstStep = graphs.indexOf('flow_step');
      const lastStep = graphs.slice(0, graphs.indexOf('hift_decoder')).lastIndexOf('flow_step');
      const count = (from: number, to: number) => graphs.slice(from, to).filter((g) => g === 'llm').length;
      return { before: count(0, firstStep), during: count(firstStep, lastStep) };
    };
    const paced = llmDuringFirstChunk(await runsOf(() => collect(runPipeline(stages, request({})))));
    expect(paced).toEqual({ before: firstNeed, during: 0 });
    const free = llmDuringFirstChunk(await runsOf(() => collect(runPipeline(stages, request({ schedule: false })))));
    expect(free.during).toBeGreaterThan(0);
  });

  it('an abort while the LM waits for the flow rejects with the AbortError and runs no further LM step', async () => {
    const controller = new AbortController();
    let llmAtAbort = -1;
    spy.onRun((run) => {
      // the flow's first Euler step: the LM has sent the first call's tokens and waits
      if (run.graph === 'flow_step' && llmAtAbort < 0) {
        llmAtAbort = spy.runs.filter((r) => r.graph === 'llm').length;
        controller.abort(new DOMException('stop', 'AbortError'));
      }
    });
    try {
      const error = await collect(runPipeline(stages, request({ signal: controller.signal }))).catch((e: unknown) => e);
      expect((error as DOMException).name).toBe('AbortError');
    } finally {
      spy.onRun(undefined);
    }
    expect(spy.runs.filter((r) => r.graph === 'llm').length).toBe(llmAtAbort);
    // every stage is free again
    expect((await collect(runPipeline(stages, request({})))).length).toBeGreaterThan(0);
  });

  it('a flow that dies while the LM waits for its credit: the request fails and the LM is released', async () => {
    let lmRun: Promise<void> | undefined;
    const hosts: StageHosts = {
      lm: {
        run: (job, tokenPort, textPort) => (lmRun = stages.lm.run(job, tokenPort, textPort)),
        cancel: (requestId) => {
          stages.lm.cancel(requestId);
        },
      },
      // a flow worker that crashes before it grants anything: its run rejects, as a crashed worker's call does
      flow: {
        run: async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          throw new TTSError('ERR_WORKER_CRASHED', 'the flow worker crashed');
        },
        cancel: () => undefined,
      },
      vocoder: stages.vocoder,
    };
    const llmBefore = spy.runs.filter((r) => r.graph === 'llm').length;
    const error = await collect(runPipeline(hosts, request({}))).catch((e: unknown) => e);
    expect((error as TTSError).code).toBe('ERR_WORKER_CRASHED');
    await lmRun; // cancelled by the pipeline, not left waiting (a hang would time out)
    expect(spy.runs.filter((r) => r.graph === 'llm').length).toBe(llmBefore); // it never got a credit
  });
});
