/**
 * An onnxruntime-web module whose sessions report every run, so tests can count the graph runs a request makes
 * (e.g. after an abort) and act from inside a given run (schedule a timer, throw) without touching the library.
 */
import type { OrtInferenceSession, OrtModule } from '../../src/runtime/ort.ts';

/** Which graph a session runs, told apart by an input only that graph has. */
export type SpiedGraph = 'llm' | 'flow_step' | 'hift_decoder' | 'other';

/** One started run. */
export interface SpiedRun {
  readonly graph: SpiedGraph;
  /** Runs of this graph started before, from 0. */
  readonly index: number;
}

/** Called when a run starts; may throw to make the run fail. */
export type RunListener = (run: SpiedRun) => void;

/** The spied module and what it saw. */
export interface OrtSpy {
  readonly ort: OrtModule;
  /** Every run started, in order. */
  readonly runs: SpiedRun[];
  /** Replaces the listener (undefined: none). */
  onRun(listener: RunListener | undefined): void;
}

function graphOf(session: OrtInferenceSession): SpiedGraph {
  const inputs = session.inputNames;
  // a flow Euler step, full or incremental (flow_step_incremental also has a `past_kv` cache)
  if (inputs.includes('dt')) return 'flow_step';
  if (inputs.some((n) => n.startsWith('past_'))) return 'llm';
  if (inputs.includes('excitation')) return 'hift_decoder';
  return 'other';
}

/** Wraps `ort` so that every session created through it reports its runs. */
export function spyOrt(ort: OrtModule): OrtSpy {
  const runs: SpiedRun[] = [];
  let listener: RunListener | undefined;
  const counts = new Map<SpiedGraph, number>();
  const wrap = (session: OrtInferenceSession): OrtInferenceSession => {
    const graph = graphOf(session);
    return new Proxy(session, {
      get(target, key, receiver) {
        if (key !== 'run') return Reflect.get(target, key, receiver) as unknown;
        return (...args: Parameters<OrtInferenceSession['run']>) => {
          const index = counts.get(graph) ?? 0;
          counts.set(graph, index + 1);
          const run = { graph, index };
          runs.push(run);
          listener?.(run);
          return target.run(...args);
        };
      },
    });
  };
  const InferenceSession = {
    ...ort.InferenceSession,
    create: async (...args: Parameters<OrtModule['InferenceSession']['create']>) =>
      wrap(await ort.InferenceSession.create(...args)),
  };
  return {
    ort: { ...ort, InferenceSession } as OrtModule,
    runs,
    onRun: (next) => {
      listener = next;
    },
  };
}
