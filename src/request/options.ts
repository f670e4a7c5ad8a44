/**
 * The options of one synthesis request and their validation where they enter (issue #13.2): every key is known, every
 * value has the right type and range, and a typo is refused with a "did you mean" instead of being silently ignored.
 * Configuration is per request; no global state (house style §1.8).
 */
import { closest, distance } from 'fastest-levenshtein';
import { invalidInput } from '../errors.ts';
import type { ChunkPolicyOptions } from '../models/chunk-policy.ts';
import { ChunkPolicy } from '../models/chunk-policy.ts';
import { checkFlowSteps } from '../models/flow/flow-matcher.ts';
import type { EosRule, RasVariant } from '../models/lm/sampler.ts';
import { EOS_RULES, RAS_VARIANTS } from '../models/lm/sampler.ts';
import type { FinalChunkAttention, FlowSteps } from '../models/token2wav.ts';
import { FINAL_CHUNK_ATTENTIONS } from '../models/token2wav.ts';
import type { VoiceProfile } from '../models/voice/voice-profile.ts';
import type { ScheduleOptions } from './schedule.ts';

/**
 * Largest seed: the vocoder noise is drawn from `Xoshiro128(seed + 1)`, so `seed + 1` must still be a safe integer.
 */
export const MAX_SEED = 2 ** 53 - 2;

/** Offline (`synthesize`: full attention per segment) or streaming (`stream`, `speak`: the chunk policy). */
export type RequestMode = 'offline' | 'stream';

/** Streaming schedule settings (see `ChunkPolicy`), plus the flow steps of the first chunk. */
export interface StreamingOptions extends Omit<ChunkPolicyOptions, 'promptTokens' | 'chunkTokens' | 'lookahead'> {
  /**
   * Euler steps of the first chunk's flow solve only (lower time to first audio); later chunks re-solve the whole
   * prefix with `flowSteps`, so only the first chunk's frames are coarser. 1–50. @defaultValue `flowSteps`
   */
  readonly firstChunkFlowSteps?: number;
}

/** Sampling variants (spec §4.4). */
export interface SamplingOptions {
  readonly variant?: RasVariant;
  readonly eosRule?: EosRule;
}

/** Options of one synthesis request, besides the voice. */
export interface SynthesisOptions {
  /**
   * Seed of the request: LM sampling draws from `Xoshiro128(seed)`, the vocoder noise from `Xoshiro128(seed + 1)`,
   * so the same seed, text, voice and model give the same samples. An integer in [0, {@link MAX_SEED}]. A random
   * seed is used (and reported in the metrics) when omitted.
   */
  readonly seed?: number;
  /**
   * Instruct mode (CosyVoice 2 `instruct2`): a natural-language instruction, e.g. `'用四川话说这句话'` or
   * `'Speak slowly and softly.'`; `<|endofprompt|>` is appended when missing. The voice still comes from the profile.
   */
  readonly instruct?: string;
  /** Ignore the voice's transcript (cross-lingual cloning: the target language differs from the prompt's). */
  readonly crossLingual?: boolean;
  /** Speed factor (> 1 faster), offline synthesis only (upstream allows it only without streaming). @defaultValue 1 */
  readonly speed?: number;
  /** Run the text front-end (normalisation, splitting). @defaultValue true */
  readonly normalize?: boolean;
  /** Read numbers, dates, currency… @defaultValue true */
  readonly readNumbers?: boolean;
  /** Sampling variants (spec §4.4). */
  readonly sampling?: SamplingOptions;
  /** Streaming schedule (stream() and speak() only). */
  readonly streaming?: StreamingOptions;
  /**
   * Euler steps of the flow solver, 1–50. Flow time is proportional to it: fewer steps are faster and coarser
   * (CosyVoice 2 is trained and evaluated with 10). @defaultValue the package's `flow.nTimesteps` (10)
   */
  readonly flowSteps?: number;
  /**
   * Streaming only: solve each chunk's new frames on kept flow caches (the voice's prompt chunks, cached per voice
   * and step count, and the chunks already emitted) instead of re-solving the whole prefix. Exact (every chunk equals
   * the re-solve within 1e-5; upstream's full-attention final chunk is re-solved as before). Needs a package with
   * `flow_step_incremental`; without it the option has no effect. @defaultValue true
   */
  readonly incrementalFlow?: boolean;
  /**
   * Streaming with `incrementalFlow`: most MiB of flow caches one stream keeps (the voice's prompt chunks included).
   * Exact while the stream fits; beyond, the keys/values of the oldest chunks after the prompt's are dropped (an
   * approximation, measured in docs/architecture.md). Full size holds ≈ 4.4 MiB per mel frame at 10 Euler steps
   * (a 3.5 s voice ≈ 657 MiB, + ≈ 219 MiB per second of stream). A budget below the voice's prompt cache turns the
   * incremental flow off for the request. @defaultValue 1024
   */
  readonly flowCacheMB?: number;
  /**
   * Streaming only: attention of the final chunk's flow call. `'full'` re-solves prompt ⊕ all tokens with full
   * attention as upstream (exact; its cost grows with the utterance); `'chunk-causal'` solves it like the other
   * chunks, from the kept caches (cheap, a documented deviation from upstream). @defaultValue 'full'
   */
  readonly finalChunkAttention?: FinalChunkAttention;
  /**
   * Streaming only: how the flow paces the LM when they share few cores (see {@link ScheduleOptions}). `true` or
   * absent: priority to the flow until the first chunk is out, then the LM at most `lmLeadTokens` (100) ahead of the
   * flow; `false`: the LM runs freely. Changes timing only: the same seed gives the same tokens and audio.
   * @defaultValue true
   */
  readonly schedule?: boolean | ScheduleOptions;
  /** Cancels the request; rejects (or ends the iteration) with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Options of one request: the voice to speak with, and the {@link SynthesisOptions}. */
export interface RequestOptions extends SynthesisOptions {
  /** The voice (from `cloneVoice()` or `loadVoice()`). */
  readonly voice: VoiceProfile;
}

type Check = (value: unknown, name: string, mode: RequestMode) => void;

const SAMPLING_KEYS: Readonly<Record<keyof SamplingOptions, Check>> = {
  variant: (value, name) => {
    oneOf(value, name, RAS_VARIANTS);
  },
  eosRule: (value, name) => {
    oneOf(value, name, EOS_RULES);
  },
};

const STREAMING_KEYS: Readonly<Record<keyof StreamingOptions, Check>> = {
  tokenHop: isNumber,
  maxTokenHop: isNumber,
  hopScale: isNumber,
  firstHop: (value, name) => {
    if (value !== 'pad' && typeof value !== 'number') {
      throw invalidInput(`${name} must be a number or 'pad', got ${describe(value)}.`, { [name]: value });
    }
  },
  contextTokens: isNumber,
  minHop: isNumber,
  firstChunkFlowSteps: (value, name) => checkFlowSteps(value, name),
};

const SCHEDULE_KEYS: Readonly<Record<keyof ScheduleOptions, Check>> = {
  firstAudioPriority: isBoolean,
  lmLeadTokens: (value, name) => {
    if (value !== Infinity && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
      throw invalidInput(`${name} must be an integer ≥ 0 or Infinity, got ${describe(value)}.`, { [name]: value });
    }
  },
};

const REQUEST_KEYS: Readonly<Record<keyof RequestOptions, Check>> = {
  // the voice's content is checked against the model by the voice validation; here only that it is an object
  voice: (value, name) => {
    if (typeof value !== 'object' || value === null) {
      throw invalidInput(`${name} must be a VoiceProfile (from cloneVoice() or loadVoice()), got ${describe(value)}.`);
    }
  },
  seed: (value, name) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_SEED) {
      throw invalidInput(`${name} must be an integer in [0, 2^53 − 2], got ${describe(value)}.`, { seed: value });
    }
  },
  instruct: (value, name) => {
    if (typeof value !== 'string' || value.trim().length === 0) {
      throw invalidInput(`${name} must be a non-empty string, got ${describe(value)}.`, { instruct: value });
    }
  },
  crossLingual: isBoolean,
  speed: (value, name, mode) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0.5 || value > 2) {
      throw invalidInput(`${name} must be a number in [0.5, 2], got ${describe(value)}.`, { speed: value });
    }
    if (mode === 'stream' && value !== 1) {
      throw invalidInput(
        `${name} is only supported by synthesize(), not by stream() or speak() (the upstream model changes speed on the whole mel).`,
        { speed: value },
      );
    }
  },
  normalize: isBoolean,
  readNumbers: isBoolean,
  sampling: (value, name, mode) => {
    checkObject(value, name, SAMPLING_KEYS, mode);
  },
  streaming: (value, name, mode) => {
    checkObject(value, name, STREAMING_KEYS, mode);
    // the schedule's own range rules, checked now rather than when the flow stage starts the request
    const { firstChunkFlowSteps, ...policy } = value as StreamingOptions;
    new ChunkPolicy({ promptTokens: 0, ...policy });
  },
  flowSteps: (value, name) => checkFlowSteps(value, name),
  incrementalFlow: isBoolean,
  flowCacheMB: (value, name) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw invalidInput(`${name} must be a finite number of MiB ≥ 0, got ${describe(value)}.`, { [name]: value });
    }
  },
  finalChunkAttention: (value, name) => {
    oneOf(value, name, FINAL_CHUNK_ATTENTIONS);
  },
  schedule: (value, name, mode) => {
    if (typeof value !== 'boolean') checkObject(value, name, SCHEDULE_KEYS, mode);
  },
  signal: (value, name) => {
    const signal = value as Partial<AbortSignal> | null;
    if (
      typeof value !== 'object' ||
      signal === null ||
      typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function'
    ) {
      throw invalidInput(`${name} must be an AbortSignal (e.g. new AbortController().signal), got ${describe(value)}.`);
    }
  },
};

/**
 * Checks the options of a request. `undefined` values count as absent.
 *
 * @throws {TTSError} ERR_INVALID_INPUT for anything but a plain options object, unknown keys (with the closest known
 *   key), wrong types and out-of-range values, saying what is allowed.
 */
export function validateRequestOptions(options: unknown, mode: RequestMode, name = 'options'): void {
  checkObject(options, name, REQUEST_KEYS, mode);
}

function checkObject(value: unknown, name: string, keys: Readonly<Record<string, Check>>, mode: RequestMode): void {
  checkOptionKeys(value, name, Object.keys(keys));
  for (const [key, item] of Object.entries(value as object)) {
    if (item !== undefined) keys[key]?.(item, `${name}.${key}`, mode);
  }
}

/**
 * Checks the options of `cloneVoice` (either entry point; each has its own keys besides these): the keys, `transcript`
 * a string, `signal` an AbortSignal.
 *
 * @throws {TTSError} ERR_INVALID_INPUT as {@link checkOptionKeys}, and for a wrong type of `transcript` or `signal`.
 */
export function validateCloneOptions(options: unknown, known: readonly string[]): void {
  checkOptionKeys(options, 'cloneVoice options', known);
  const { transcript, signal } = options as { transcript?: unknown; signal?: unknown };
  if (transcript !== undefined && typeof transcript !== 'string') {
    throw invalidInput(`cloneVoice options.transcript must be a string, got ${describe(transcript)}.`);
  }
  if (signal !== undefined) REQUEST_KEYS.signal(signal, 'cloneVoice options.signal', 'offline');
}

/**
 * Checks that `value` is an options object whose keys are all `known` (for option bags other than a request's, e.g.
 * `Engine.create`'s and `cloneVoice`'s).
 *
 * @throws {TTSError} ERR_INVALID_INPUT for `null`, an array or a non-object, and for an unknown key (with the closest
 *   known key, so a typo is not silently ignored).
 */
export function checkOptionKeys(value: unknown, name: string, known: readonly string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidInput(`${name} must be an object, got ${describe(value)}.`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw unknownKey(name, key, known);
  }
}

function unknownKey(name: string, key: string, known: readonly string[]) {
  const guess = closest(key, known);
  // a guess further than a third of the key away is noise, not a typo
  const hint = distance(key, guess) <= Math.max(1, Math.floor(key.length / 3)) ? ` Did you mean "${guess}"?` : '';
  return invalidInput(`Unknown option ${name}.${key}.${hint} Known options: ${known.join(', ')}.`, {
    key,
    known,
  });
}

function isBoolean(value: unknown, name: string): void {
  if (typeof value !== 'boolean') throw invalidInput(`${name} must be true or false, got ${describe(value)}.`);
}

function isNumber(value: unknown, name: string): void {
  if (typeof value !== 'number') throw invalidInput(`${name} must be a number, got ${describe(value)}.`);
}

function oneOf(value: unknown, name: string, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw invalidInput(`${name} must be one of ${allowed.join(', ')}, got ${describe(value)}.`, { [name]: value });
  }
}

/** A short description of a bad value for messages (never its whole content). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

/** A fresh random seed (32 bits) for requests that did not give one. */
export function randomSeed(): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (array: Uint32Array) => Uint32Array } }).crypto;
  if (c?.getRandomValues !== undefined) return c.getRandomValues(new Uint32Array(1))[0] ?? 0;
  return Math.floor(Math.random() * 2 ** 32);
}

/** The flow steps of a streaming request, as `FlowStream` options. */
export function streamFlowSteps(options: Pick<SynthesisOptions, 'flowSteps' | 'streaming'>): FlowSteps {
  const firstChunk = options.streaming?.firstChunkFlowSteps;
  return {
    ...(options.flowSteps === undefined ? {} : { every: options.flowSteps }),
    ...(firstChunk === undefined ? {} : { firstChunk }),
  };
}

/** The schedule part of the streaming options, as `ChunkPolicy` options. */
export function chunkPolicyOptions(streaming: StreamingOptions | undefined): Omit<ChunkPolicyOptions, 'promptTokens'> {
  if (streaming === undefined) return {};
  const { firstChunkFlowSteps, ...policy } = streaming;
  return policy;
}

/** The sampling switches of a request, as `SpeechLm` options. */
export function samplingOptions(options: Pick<SynthesisOptions, 'sampling'>): SamplingOptions {
  return {
    ...(options.sampling?.variant === undefined ? {} : { variant: options.sampling.variant }),
    ...(options.sampling?.eosRule === undefined ? {} : { eosRule: options.sampling.eosRule }),
  };
}

/**
 * What every stage receives of a request's options: all of them but the signal (a stage is cancelled through its
 * own `cancel()`), with the seed resolved. Structured-clone safe. Each stage reads the options its runner needs, so a
 * new option is added here and in the runner that uses it — not in every job and every hop on the way.
 */
export type JobOptions = Omit<SynthesisOptions, 'signal' | 'seed'> & { readonly seed: number };

/** The {@link JobOptions} of a request (absent options left out). */
export function jobOptions(options: SynthesisOptions, seed: number): JobOptions {
  const { signal, ...rest } = options;
  const present = Object.fromEntries(
    Object.entries(rest as Record<string, unknown>).filter(([, value]) => value !== undefined),
  );
  return { ...present, seed };
}
