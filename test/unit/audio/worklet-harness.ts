/**
 * A Node stand-in for the `AudioWorkletGlobalScope` that runs the *shipped* worklet source (`WORKLET_SOURCE`, the
 * string the player loads) outside a browser, for fast deterministic tests of the processor's state machine.
 */
import { WORKLET_SOURCE } from '../../../src/audio/worklet-source.generated.ts';

/** A processor instance as seen by a test. */
export interface ProcessorHandle {
  process(inputs: Float32Array[][], outputs: Float32Array[][], parameters: Record<string, Float32Array>): boolean;
}

/** A processor plus the main-thread end of its node port. */
export interface Harness {
  readonly processor: ProcessorHandle;
  /** The "AudioWorkletNode.port" side (main thread). */
  readonly nodePort: MessagePort;
  /** Runs one render quantum of `size` frames; returns a copy of the output and process()'s return value. */
  quantum(size?: number): { out: Float32Array; alive: boolean };
  /** Runs `count` quanta and concatenates their outputs. */
  render(count: number, size?: number): Float32Array;
}

type Ctor = new (options: { processorOptions: unknown }) => ProcessorHandle;

/**
 * Evaluates the shipped worklet source with stand-ins for `registerProcessor`, `AudioWorkletProcessor` (whose `port`
 * is one end of a real `MessageChannel`) and `sampleRate`, and returns the registered processor class.
 */
export function loadWorklet(sampleRate: number): { name: string; create(options: unknown): Harness } {
  let registered: { name: string; ctor: Ctor } | undefined;
  let pendingPort: MessagePort | undefined;
  class AudioWorkletProcessor {
    readonly port: MessagePort;
    constructor() {
      if (pendingPort === undefined) throw new Error('harness: no port');
      this.port = pendingPort;
      pendingPort = undefined;
    }
  }
  const registerProcessor = (name: string, ctor: Ctor): void => {
    registered = { name, ctor };
  };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluating the shipped worklet bundle is the point
  const evaluate = new Function(
    'AudioWorkletProcessor',
    'registerProcessor',
    'sampleRate',
    `'use strict';\n${WORKLET_SOURCE}`,
  ) as (base: unknown, register: unknown, rate: number) => void;
  evaluate(AudioWorkletProcessor, registerProcessor, sampleRate);
  if (registered === undefined) throw new Error('the worklet registered no processor');
  const { name, ctor } = registered;
  return {
    name,
    create(processorOptions: unknown): Harness {
      const channel = new MessageChannel();
      pendingPort = channel.port1;
      const processor = new ctor({ processorOptions });
      const quantum = (size = 128): { out: Float32Array; alive: boolean } => {
        const out = new Float32Array(size).fill(Number.NaN);
        const alive = processor.process([], [[out]], {});
        return { out, alive };
      };
      return {
        processor,
        nodePort: channel.port2,
        quantum,
        render(count: number, size = 128): Float32Array {
          const all = new Float32Array(count * size);
          for (let q = 0; q < count; q++) all.set(quantum(size).out, q * size);
          return all;
        },
      };
    },
  };
}

/** Resolves after pending message deliveries of this thread (a macrotask turn or two). */
export async function settleMessages(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
