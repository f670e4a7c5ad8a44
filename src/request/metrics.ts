/** The figures of one request (wall clock), measured the same way by every entry point. */
import { now } from '../base/clock.ts';

/** Figures of one request. */
export interface RequestMetrics {
  readonly requestId: string;
  /** The seed used (given or drawn). */
  readonly seed: number;
  /** Time to the first audio sample, ms (offline: the first segment's audio). */
  readonly ttfaMs: number;
  readonly totalMs: number;
  readonly audioSeconds: number;
  /** Real-time factor: processing time / audio time (< 1 is faster than real time). */
  readonly rtf: number;
  /** Speech tokens generated. */
  readonly tokens: number;
  /** Tokens per second of LM wall time. */
  readonly tokensPerSecond: number;
  readonly lmMs: number;
  readonly flowMs: number;
  readonly vocoderMs: number;
}

/** Accumulates the figures of one request while it runs. */
export class MetricsClock {
  readonly started = now();
  #firstAudio: number | undefined;
  #tokens = 0;
  #lmMs = 0;
  #flowMs = 0;
  #vocoderMs = 0;

  constructor(
    readonly requestId: string,
    readonly seed: number,
  ) {}

  /** Books a segment's LM work. */
  lm(tokens: number, lmMs: number): void {
    this.#tokens += tokens;
    this.#lmMs += lmMs;
  }

  /** Books a chunk's flow and vocoder work; returns the time to first audio when this chunk is the first audio. */
  audio(samples: number, flowMs: number, vocoderMs: number): number | undefined {
    this.#flowMs += flowMs;
    this.#vocoderMs += vocoderMs;
    if (samples === 0 || this.#firstAudio !== undefined) return undefined;
    this.#firstAudio = now();
    return this.#firstAudio - this.started;
  }

  /** Wall time so far per second of `audioSeconds`. */
  rtfSoFar(audioSeconds: number): number {
    return (now() - this.started) / 1000 / Math.max(1e-9, audioSeconds);
  }

  metrics(audioSeconds: number): RequestMetrics {
    const totalMs = now() - this.started;
    return {
      requestId: this.requestId,
      seed: this.seed,
      ttfaMs: (this.#firstAudio ?? now()) - this.started,
      totalMs,
      audioSeconds,
      rtf: audioSeconds > 0 ? totalMs / 1000 / audioSeconds : Infinity,
      tokens: this.#tokens,
      tokensPerSecond: this.#lmMs > 0 ? (this.#tokens * 1000) / this.#lmMs : 0,
      lmMs: this.#lmMs,
      flowMs: this.#flowMs,
      vocoderMs: this.#vocoderMs,
    };
  }
}
