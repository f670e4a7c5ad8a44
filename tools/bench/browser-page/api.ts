/**
 * What the browser benchmark page exposes on `window.bench` (used by the page and, type-only, by
 * tools/bench/browser.ts). Every result is plain JSON so it crosses `page.evaluate` unchanged.
 */
import type { StreamingOptions } from '../../../src/request/options.ts';
import type { ScheduleOptions } from '../../../src/request/schedule.ts';

/** How to load the model. */
export interface BenchCreateOptions {
  /** Base URL of the model package. */
  readonly model: string;
  readonly device: 'wasm' | 'webgpu';
  readonly dtype: string;
}

/** What the loaded instance runs on. */
export interface BenchCreated {
  readonly placement: Record<string, { readonly device: string; readonly dtype: string }>;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly userAgent: string;
  readonly loadMs: number;
}

/** One `stream()` request. */
export interface BenchRunOptions {
  readonly text: string;
  readonly seed: number;
  /** The request's `schedule` option (absent: the default policy). */
  readonly schedule?: boolean | ScheduleOptions;
  /** The request's `streaming` option (absent: upstream's schedule). */
  readonly streaming?: StreamingOptions;
  /** The request's `incrementalFlow` option (absent: the default, on when the package ships the graph). */
  readonly incrementalFlow?: boolean;
  /** Stop after the first chunk (warm-up: builds the voice's prompt cache in the flow worker). */
  readonly firstChunkOnly?: boolean;
}

/** The figures of one request, from the public API (`RequestMetrics`, chunk arrival times). */
export interface BenchRun {
  readonly ttfaMs: number;
  /** Whether the first chunk was also the request's last (then it is a full-attention re-solve, not a stream's). */
  readonly firstChunkFinal: boolean;
  readonly totalMs: number;
  readonly rtf: number;
  readonly audioSeconds: number;
  /** Silence a player starting at the first chunk would have to insert while waiting for later chunks. */
  readonly stallMs: number;
  readonly chunks: number;
  readonly tokens: number;
  readonly tokensPerSecond: number;
  readonly lmMs: number;
  readonly flowMs: number;
  readonly vocoderMs: number;
}

export interface BenchPageApi {
  create(options: BenchCreateOptions): Promise<BenchCreated>;
  run(options: BenchRunOptions): Promise<BenchRun>;
  dispose(): Promise<void>;
}
