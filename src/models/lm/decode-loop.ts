/**
 * Speech-token LM decode loops written against an abstract `step(rows) → logits` function, so the ORT runner
 * (KV-cached `llm` graph) plugs in later and the loops can be tested with recorded logits:
 * - {@link decodeUnistream}: prefill, then one fed-back token per step; EOS masked for i < min_len, at most max_len
 *   steps, stop on any of {V, V+1, V+2} (spec §4.3, §4.5);
 * - {@link decodeBistream}: text pieces from an (async) iterable through {@link BistreamMachine} (spec §4.6).
 */

import { invalidInput, throwIfAborted, TTSError } from '../../errors.ts';
import { yieldAndCheck } from '../../runtime/yield.ts';
import type { BistreamConfig, BistreamOptions, BistreamPhase, BistreamPrompt } from './bistream.ts';
import { BistreamMachine } from './bistream.ts';
import type { UniformSource } from './rng.ts';
import type { EosRule, RasConfig, RasVariant } from './sampler.ts';
import { logSoftmax, sampleRas } from './sampler.ts';
import type { LmInput, LmSegment } from './sequence.ts';
import { rowCount } from './sequence.ts';

/**
 * One LM call: append `segments` to the sequence (KV cache) and return the raw logits (V+3 values, `llm_decoder`
 * output) of the last row. `position` is the number of rows fed before (= RoPE position of the first new row); the
 * loops call it with strictly consecutive positions, starting at 0.
 */
export type LmStepFn = (
  segments: readonly LmSegment[],
  position: number,
  signal: AbortSignal | undefined,
) => Promise<ArrayLike<number>> | ArrayLike<number>;

/**
 * Decides one token from log-probabilities (`log_softmax` of the step's logits, EOS not masked), the tokens
 * decided so far and the EOS flag (upstream `sampling_ids` slot). {@link createRasSampler} is the production one;
 * tests plug in recorded decisions.
 */
export type TokenSampler = (logp: Float32Array, history: readonly number[], ignoreEos: boolean) => number;

/** Token constants the loops need; structurally a subset of `ModelConstants['llm']`. */
export interface LmTokenConfig extends BistreamConfig {
  /** Ids that end unistream decoding: {V, V+1, V+2}. */
  readonly stopIds: readonly number[];
}

/** What happened in one LM call (for logging, tests and parity checks). */
export interface LmStepRecord {
  /** Call number, from 0. */
  readonly call: number;
  /** Rows fed. */
  readonly segments: readonly LmSegment[];
  /** Rows fed before this call. */
  readonly position: number;
  /** `log_softmax` of the logits. */
  readonly logp: Float32Array;
  /** Token decided after the call. */
  readonly token: number;
  /** False when the token was forced (bistream FILL). */
  readonly sampled: boolean;
  /** EOS flag given to the sampler (false when not sampled). */
  readonly ignoreEos: boolean;
  /** `'unistream'`, or the bistream phase. */
  readonly phase: 'unistream' | BistreamPhase;
}

/** Options shared by both loops. */
export interface DecodeOptions {
  /** Token decision per step. */
  readonly sampler: TokenSampler;
  /** Aborts between steps (and while waiting for text); rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * Yield to the event loop before every LM call, so timers, UI events and worker messages (an abort) run within one
   * step. Only benchmarks turn it off, to measure what it costs.
   *
   * @defaultValue true
   */
  readonly yieldBetweenSteps?: boolean;
  /** Called for every emitted speech token with its index in the output. */
  readonly onToken?: (token: number, index: number) => void;
  /** Called after every LM call, before the token is acted on. */
  readonly onStep?: (record: LmStepRecord) => void;
  /**
   * Awaited before every LM call: lets the consumer of the tokens hold the LM back (backpressure; the pipeline's
   * `stages/token-gate.ts`). It should reject with the signal's reason when the signal aborts while it waits.
   */
  readonly beforeStep?: () => Promise<void>;
}

/** Options of {@link decodeUnistream}. */
export interface UnistreamDecodeOptions extends DecodeOptions {
  /** Vocabulary size and stop ids. */
  readonly tokens: Pick<LmTokenConfig, 'speechTokenSize' | 'stopIds'>;
}

/** Options of {@link decodeBistream}. */
export interface BistreamDecodeOptions extends DecodeOptions, BistreamOptions {
  /** Vocabulary size, EOS / FILL ids, mix ratio. */
  readonly tokens: BistreamConfig;
  /**
   * Cap on LM calls in the final phase, which upstream runs until EOS with no length limit.
   *
   * @defaultValue undefined (no cap, upstream parity)
   */
  readonly maxFinalSteps?: number | (() => number);
}

/** Why decoding ended. */
export type StopReason = 'stop-token' | 'max-length';

/** Result of a decode loop. */
export interface DecodeResult {
  /** Emitted speech tokens (ids < V). */
  readonly tokens: Int32Array;
  /** Why decoding ended. */
  readonly stopReason: StopReason;
  /** The stop id decided last, when `stopReason` is `'stop-token'`. */
  readonly stopToken: number | undefined;
  /** Number of LM calls. */
  readonly calls: number;
}

/** Result of {@link decodeBistream}. */
export interface BistreamDecodeResult extends DecodeResult {
  /** Every decided token incl. FILL and EOS (upstream `out_tokens`). */
  readonly outTokens: Int32Array;
}

/** Options of {@link createRasSampler}. */
export interface RasSamplerOptions {
  /** RAS fallback variant. @defaultValue 'current' */
  readonly variant?: RasVariant;
  /** EOS rule. @defaultValue 'mask' */
  readonly eosRule?: EosRule;
}

/**
 * The production sampler: repetition-aware sampling with the given constants and generator.
 *
 * @example
 * ```ts
 * const sampler = createRasSampler({ ...constants.sampling, eosId: constants.llm.eosId }, new Xoshiro128(seed));
 * ```
 */
export function createRasSampler(
  config: RasConfig & { readonly eosId: number },
  rng: UniformSource,
  options: RasSamplerOptions = {},
): TokenSampler {
  const base = {
    topP: config.topP,
    topK: config.topK,
    winSize: config.winSize,
    tauR: config.tauR,
    eosId: config.eosId,
    variant: options.variant ?? 'current',
    eosRule: options.eosRule ?? 'mask',
  } as const;
  return (logp, history, ignoreEos) => sampleRas(logp, history, { ...base, ignoreEos }, rng);
}

/**
 * Unistream decoding (spec §4.3): call 0 feeds the whole prefix, call i > 0 feeds the token decided at i − 1;
 * `ignoreEos = i < minLen`; a decided id in `stopIds` ends decoding (not emitted); at most `maxLen` calls.
 *
 * @throws {TTSError} ERR_INFERENCE when a step returns logits of the wrong length or non-finite;
 *   ERR_INVALID_INPUT when the sampler returns an id outside [0, V+3); the signal's reason when aborted.
 */
export async function decodeUnistream(
  input: Pick<LmInput, 'segments' | 'minLen' | 'maxLen'>,
  step: LmStepFn,
  options: UnistreamDecodeOptions,
): Promise<DecodeResult> {
  const { signal, sampler, onToken, onStep, beforeStep } = options;
  const yielding = options.yieldBetweenSteps ?? true;
  const vocab = options.tokens.speechTokenSize + 3;
  const stopIds = new Set(options.tokens.stopIds);
  const emitted: number[] = [];
  let segments = input.segments;
  let position = 0;
  for (let call = 0; call < input.maxLen; call++) {
    await beforeStep?.();
    await yieldAndCheck(signal, yielding);
    const logits = await step(segments, position, signal);
    throwIfAborted(signal);
    const logp = toLogp(logits, vocab, call);
    const ignoreEos = call < input.minLen;
    const token = checkToken(sampler(logp, emitted, ignoreEos), vocab);
    onStep?.({ call, segments, position, logp, token, sampled: true, ignoreEos, phase: 'unistream' });
    position += rowCount(segments);
    if (stopIds.has(token)) {
      return { tokens: Int32Array.from(emitted), stopReason: 'stop-token', stopToken: token, calls: call + 1 };
    }
    emitted.push(token);
    onToken?.(token, emitted.length - 1);
    segments = [{ kind: 'speech', ids: [token] }];
  }
  return { tokens: Int32Array.from(emitted), stopReason: 'max-length', stopToken: undefined, calls: input.maxLen };
}

/**
 * Bistream decoding (spec §4.6): pulls text-id pieces lazily from `text` (one piece per upstream loop iteration),
 * runs {@link BistreamMachine}, and decodes until EOS once the text ends.
 *
 * @param text - text-id pieces (e.g. one tokenised text chunk per item, or one id per item as upstream's frontend).
 * @throws {TTSError} ERR_INFERENCE for bad logits or a special id upstream rejects; ERR_INVALID_INPUT for bad ids
 *   or sampler output; the signal's reason when aborted (the text iterator is closed in every case).
 */
export async function decodeBistream(
  text: AsyncIterable<ArrayLike<number>> | Iterable<ArrayLike<number>>,
  prompt: BistreamPrompt,
  step: LmStepFn,
  options: BistreamDecodeOptions,
): Promise<BistreamDecodeResult> {
  const { signal, sampler, onToken, onStep, beforeStep } = options;
  const yielding = options.yieldBetweenSteps ?? true;
  // A function is evaluated when the final phase starts (e.g. a cap proportional to all the text received).
  const finalCap = (): number | undefined => {
    const cap = typeof options.maxFinalSteps === 'function' ? options.maxFinalSteps() : options.maxFinalSteps;
    if (cap !== undefined && !(Number.isInteger(cap) && cap >= 0)) {
      throw invalidInput(`maxFinalSteps must be a non-negative integer, got ${cap}.`);
    }
    return cap;
  };
  if (typeof options.maxFinalSteps !== 'function') finalCap();
  let maxFinal: number | undefined;
  let finalStarted = false;
  const vocab = options.tokens.speechTokenSize + 3;
  const machine = new BistreamMachine(
    prompt,
    options.tokens,
    options.refeedFillInput === undefined ? {} : { refeedFillInput: options.refeedFillInput },
  );
  const iterator: AsyncIterator<ArrayLike<number>> | Iterator<ArrayLike<number>> =
    Symbol.asyncIterator in text ? text[Symbol.asyncIterator]() : text[Symbol.iterator]();
  const emitted: number[] = [];
  let textDone = false;
  let calls = 0;
  let finalCalls = 0;
  try {
    for (;;) {
      throwIfAborted(signal);
      const instruction = machine.next();
      if (instruction.type === 'done') break;
      if (instruction.type === 'need-text') {
        const item = await abortable(iterator.next(), signal);
        if (item.done === true) {
          textDone = true;
          machine.endText();
        } else {
          machine.pushText(item.value);
        }
        continue;
      }
      if (instruction.phase === 'final' && !finalStarted) {
        finalStarted = true;
        maxFinal = finalCap();
      }
      if (instruction.phase === 'final' && maxFinal !== undefined && finalCalls >= maxFinal) {
        return result(emitted, machine, 'max-length', calls);
      }
      await beforeStep?.();
      await yieldAndCheck(signal, yielding);
      const logits = await step(instruction.segments, instruction.position, signal);
      throwIfAborted(signal);
      const logp = toLogp(logits, vocab, calls);
      const sampled = instruction.forcedToken === undefined;
      const token = checkToken(instruction.forcedToken ?? sampler(logp, machine.history, instruction.ignoreEos), vocab);
      onStep?.({
        call: calls,
        segments: instruction.segments,
        position: instruction.position,
        logp,
        token,
        sampled,
        ignoreEos: instruction.ignoreEos,
        phase: instruction.phase,
      });
      calls++;
      if (instruction.phase === 'final') finalCalls++;
      const outcome = machine.commit(token);
      if (outcome.type === 'emit') {
        emitted.push(outcome.token);
        onToken?.(outcome.token, emitted.length - 1);
      }
    }
    return result(emitted, machine, 'stop-token', calls);
  } finally {
    if (!textDone) closeQuietly(iterator);
  }
}

function result(
  emitted: readonly number[],
  machine: BistreamMachine,
  stopReason: StopReason,
  calls: number,
): BistreamDecodeResult {
  const out = machine.history;
  return {
    tokens: Int32Array.from(emitted),
    outTokens: Int32Array.from(out),
    stopReason,
    stopToken: stopReason === 'stop-token' ? out.at(-1) : undefined,
    calls,
  };
}

function toLogp(logits: ArrayLike<number>, vocab: number, call: number): Float32Array {
  if (logits.length !== vocab) {
    throw new TTSError(
      'ERR_INFERENCE',
      `LM call ${call} returned ${logits.length} logits, expected V + 3 = ${vocab}.`,
      {
        details: { call, length: logits.length, expected: vocab },
      },
    );
  }
  return logSoftmax(logits);
}

function checkToken(token: number, vocab: number): number {
  if (!Number.isInteger(token) || token < 0 || token >= vocab) {
    throw invalidInput(`The sampler returned ${token}; tokens must be integers in [0, ${vocab}).`);
  }
  return token;
}

/** Resolves like `value`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(value: Promise<T> | T, signal: AbortSignal | undefined): Promise<T> {
  const pending = Promise.resolve(value);
  if (signal === undefined) return pending;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      try {
        signal.throwIfAborted();
      } catch (error: unknown) {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason, unwrapped (errors.ts contract)
        reject(error);
      }
    };
    if (signal.aborted) {
      pending.catch(() => undefined); // a later rejection has nobody to report to
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the text source's own error, unwrapped
        reject(error);
      },
    );
  });
}

/** Closes an iterator without waiting (an async generator may still be suspended in `next()`). */
function closeQuietly(iterator: AsyncIterator<unknown> | Iterator<unknown>): void {
  try {
    const closing = iterator.return?.();
    if (closing instanceof Promise) closing.catch(() => undefined);
  } catch {
    // a throwing return() must not mask the original outcome
  }
}
