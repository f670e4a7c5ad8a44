/**
 * Options of the engine and of each synthesis request, with their validation. Configuration is per instance; no
 * global state (house style §1.8).
 */
import { invalidInput } from '../errors.ts';
import type { ChunkPolicyOptions } from '../models/chunk-policy.ts';
import { checkFlowSteps } from '../models/flow/flow-matcher.ts';
import type { FlowSteps } from '../models/token2wav.ts';
import type { EosRule, RasVariant } from '../models/lm/sampler.ts';
import { EOS_RULES, RAS_VARIANTS } from '../models/lm/sampler.ts';
import type { DeviceRequest, DtypeRequest, Stage } from '../base/stages.ts';
import type { DeviceCapabilities } from '../runtime/device.ts';

/** A value for every stage, or one value for all. */
export type PerStage<T> = T | Readonly<Partial<Record<Stage, T>>>;

/** Options of `Engine.create`. */
export interface EngineOptions {
  /** Device per stage or for all. @defaultValue 'auto' */
  readonly device?: PerStage<DeviceRequest>;
  /** Weight format per stage or for all. @defaultValue 'auto' */
  readonly dtype?: PerStage<DtypeRequest>;
  /** What the environment offers (from `detectCapabilities()`); Node has no WebGPU. */
  readonly capabilities?: DeviceCapabilities;
  /** Cancels loading. */
  readonly signal?: AbortSignal;
  /** Called as each stage's sessions become ready. */
  readonly onSessionReady?: (event: SessionReadyEvent) => void;
}

/** A stage finished creating its sessions. */
export interface SessionReadyEvent {
  readonly stage: Stage;
  readonly device: 'webgpu' | 'wasm';
  readonly dtype: 'fp32' | 'fp16' | 'int8' | 'q4';
  readonly ms: number;
}

/** Streaming schedule settings (see `ChunkPolicy`), plus the flow steps of the first chunk. */
export interface StreamingOptions extends Omit<ChunkPolicyOptions, 'promptTokens' | 'chunkTokens' | 'lookahead'> {
  /**
   * Euler steps of the first chunk's flow solve only (lower time to first audio); later chunks re-solve the whole
   * prefix with `flowSteps`, so only the first chunk's frames are coarser. 1–50. @defaultValue `flowSteps`
   */
  readonly firstChunkFlowSteps?: number;
}

/** Options of one synthesis request. */
export interface SynthesisOptions {
  /**
   * Seed of the request: LM sampling draws from `Xoshiro128(seed)`, the vocoder noise from `Xoshiro128(seed + 1)`,
   * so the same seed, text, voice and model give the same samples. A random seed is used (and reported in the
   * metrics) when omitted.
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
  readonly sampling?: { readonly variant?: RasVariant; readonly eosRule?: EosRule };
  /** Streaming schedule (stream() only). */
  readonly streaming?: StreamingOptions;
  /**
   * Euler steps of the flow solver, 1–50. Flow time is proportional to it: fewer steps are faster and coarser
   * (CosyVoice 2 is trained and evaluated with 10). @defaultValue the package's `flow.nTimesteps` (10)
   */
  readonly flowSteps?: number;
  /** Cancels the request; rejects (or ends the iteration) with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Checks request options, with messages that say what is allowed. */
export function validateSynthesisOptions(options: SynthesisOptions, mode: 'offline' | 'stream'): void {
  const { seed, speed, instruct, sampling, flowSteps, streaming } = options;
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw invalidInput(`seed must be a non-negative safe integer, got ${String(seed)}.`, { seed });
  }
  if (speed !== undefined) {
    if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < 0.5 || speed > 2) {
      throw invalidInput(`speed must be a number in [0.5, 2], got ${String(speed)}.`, { speed });
    }
    if (mode === 'stream' && speed !== 1) {
      throw invalidInput(
        'speed is only supported by synthesize(), not by stream() (the upstream model changes speed on the whole mel).',
        { speed },
      );
    }
  }
  if (instruct !== undefined && (typeof instruct !== 'string' || instruct.trim().length === 0)) {
    throw invalidInput('instruct must be a non-empty string.', { instruct });
  }
  if (flowSteps !== undefined) checkFlowSteps(flowSteps, 'flowSteps');
  if (streaming?.firstChunkFlowSteps !== undefined) {
    checkFlowSteps(streaming.firstChunkFlowSteps, 'streaming.firstChunkFlowSteps');
  }
  if (sampling?.variant !== undefined && !(RAS_VARIANTS as readonly string[]).includes(sampling.variant)) {
    throw invalidInput(`sampling.variant must be one of ${RAS_VARIANTS.join(', ')}.`, { variant: sampling.variant });
  }
  if (sampling?.eosRule !== undefined && !(EOS_RULES as readonly string[]).includes(sampling.eosRule)) {
    throw invalidInput(`sampling.eosRule must be one of ${EOS_RULES.join(', ')}.`, { eosRule: sampling.eosRule });
  }
}

/** The value for `stage` of a per-stage option. */
export function forStage<T extends string>(value: PerStage<T> | undefined, stage: Stage, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string') return value;
  return (value as Partial<Record<Stage, T>>)[stage] ?? fallback;
}

/** A fresh random seed (32 bits) for requests that did not give one. */
export function randomSeed(): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (array: Uint32Array) => Uint32Array } }).crypto;
  if (c?.getRandomValues !== undefined) return c.getRandomValues(new Uint32Array(1))[0] ?? 0;
  return Math.floor(Math.random() * 2 ** 32);
}

/** The flow steps of a streaming request, as `FlowStream` options. */
export function streamFlowSteps(options: SynthesisOptions): FlowSteps {
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
export function samplingOptions(options: SynthesisOptions): { variant?: RasVariant; eosRule?: EosRule } {
  return {
    ...(options.sampling?.variant === undefined ? {} : { variant: options.sampling.variant }),
    ...(options.sampling?.eosRule === undefined ? {} : { eosRule: options.sampling.eosRule }),
  };
}
