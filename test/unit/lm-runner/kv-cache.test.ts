/**
 * KV-cache ownership and the runner's WebGPU path, which cannot run in Node: {@link KvCache} with fake tensors that
 * count `dispose()` calls, and {@link SpeechLm} over fake sessions whose `llm` returns "GPU" `present.*` tensors
 * (location `gpu-buffer`), checking that every GPU tensor is fed back, never used after disposal, and disposed
 * exactly once — at the end of a request, on abort and on error. Plus the runner's input validation.
 */
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import type { LmGraphSession, SpeechLmConfig } from '../../../src/models/lm/speech-lm.ts';
import { SpeechLm } from '../../../src/models/lm/speech-lm.ts';
import type { KvTensor } from '../../../src/runtime/kv-cache.ts';
import { KvCache, kvTensorNames } from '../../../src/runtime/kv-cache.ts';
import type { OrtTensor } from '../../../src/runtime/ort.ts';
import type { TensorMap } from '../../../src/runtime/session.ts';

class FakeTensor implements KvTensor {
  disposals = 0;
  constructor(
    readonly type: string,
    readonly data: Float32Array | BigInt64Array,
    readonly dims: readonly number[],
    readonly location: 'cpu' | 'gpu-buffer' = 'cpu',
  ) {}
  dispose(): void {
    this.disposals++;
  }
  getData(): Promise<Float32Array | BigInt64Array> {
    return Promise.resolve(this.data);
  }
}

describe('KvCache', () => {
  const layers = 2;
  const make = (): { cache: KvCache<FakeTensor>; made: FakeTensor[] } => {
    const made: FakeTensor[] = [];
    const cache = new KvCache<FakeTensor>(layers, () => {
      const t = new FakeTensor('float32', new Float32Array(0), [1, 1, 0, 2]);
      made.push(t);
      return t;
    });
    return { cache, made };
  };
  const present = (length: number): Record<string, FakeTensor> =>
    Object.fromEntries(
      kvTensorNames(layers).present.map((n) => [
        n,
        new FakeTensor('float32', new Float32Array(length * 2), [1, 1, length, 2], 'gpu-buffer'),
      ]),
    );

  it('names inputs and outputs layer-major', () => {
    expect(kvTensorNames(2)).toEqual({
      past: ['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'],
      present: ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value'],
    });
  });

  it('feeds empty tensors first, then the last outputs; disposes each replaced tensor once', () => {
    const { cache, made } = make();
    const first = cache.feeds();
    expect(Object.keys(first)).toEqual(kvTensorNames(layers).past);
    expect(made).toHaveLength(4);
    expect(cache.feeds()).toEqual(first); // no new empties while the cache holds them
    const a = present(5);
    cache.update(a, 5);
    expect(made.map((t) => t.disposals)).toEqual([1, 1, 1, 1]);
    expect(cache.length).toBe(5);
    expect(Object.values(cache.feeds())).toEqual(Object.values(a));
    const b = present(6);
    cache.update(b, 1);
    expect(Object.values(a).map((t) => t.disposals)).toEqual([1, 1, 1, 1]);
    expect(Object.values(b).map((t) => t.disposals)).toEqual([0, 0, 0, 0]);
    cache.clear();
    cache.clear();
    expect(Object.values(b).map((t) => t.disposals)).toEqual([1, 1, 1, 1]);
    expect(cache.length).toBe(0);
    expect(cache.heldTensors).toBe(0);
  });

  it('rejects outputs of the wrong length or missing ones, disposing them and keeping the cache', () => {
    const { cache } = make();
    cache.feeds();
    const good = present(3);
    cache.update(good, 3);
    const wrong = present(5); // expected 4
    expect(() => {
      cache.update(wrong, 1);
    }).toThrow(/expected \[1, KVH, 4, D\]/);
    expect(Object.values(wrong).map((t) => t.disposals)).toEqual([1, 1, 1, 1]);
    expect(Object.values(good).map((t) => t.disposals)).toEqual([0, 0, 0, 0]);
    const partial = present(4);
    delete partial['present.1.value'];
    expect(() => {
      cache.update(partial, 1);
    }).toThrow(/returned no "present.1.value"/);
    expect(Object.values(partial).map((t) => t.disposals)).toEqual([1, 1, 1]);
    expect(cache.length).toBe(3);
  });
});

/** Tiny constants: V = 5 (EOS 5, FILL 7), text vocabulary 10, H = 2, 2 layers × 1 KV head × D 1. */
const CONFIG: SpeechLmConfig = {
  hiddenSize: 2,
  numLayers: 2,
  numKvHeads: 1,
  headDim: 1,
  textVocabSize: 10,
  speechTokenSize: 5,
  eosId: 5,
  fillId: 7,
  stopIds: [5, 6, 7],
  sosRow: 8,
  taskIdRow: 9,
  mixRatio: [5, 15],
  topP: 0.8,
  topK: 25,
  winSize: 10,
  tauR: 0.1,
  minTokenTextRatio: 2,
  maxTokenTextRatio: 20,
};

interface FakeRig {
  lm: SpeechLm;
  /** Every GPU tensor the fake llm returned. */
  gpu: FakeTensor[];
  /** (past length, new rows) of every llm call. */
  calls: [number, number][];
  released: string[];
}

interface RigOptions {
  /** The llm call (1-based) that throws. */
  failAtCall?: number;
  /** Awaited inside every llm call before it returns (models a long GPU run). */
  gate?: (call: number) => Promise<void>;
}

function rig(options: RigOptions = {}): FakeRig {
  const gpu: FakeTensor[] = [];
  const calls: [number, number][] = [];
  const released: string[] = [];
  const tensor = ((type: string, data: Float32Array | BigInt64Array, dims: readonly number[]) =>
    new FakeTensor(type, data, dims) as unknown as OrtTensor) as LmGraphSession['tensor'];
  // Runs and releases are serialised per realm, like GraphSession's.
  let realm: Promise<unknown> = Promise.resolve();
  const serialised = <T>(task: () => Promise<T>): Promise<T> => {
    const result = realm.then(task, task);
    realm = result.catch(() => undefined);
    return result;
  };
  const session = (name: string, run: (feeds: TensorMap) => Promise<TensorMap> | TensorMap): LmGraphSession => ({
    name,
    device: 'webgpu',
    tensor,
    run: (feeds: TensorMap, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      return serialised(async () => run(feeds));
    },
    release: () =>
      serialised(() => {
        released.push(name);
        return Promise.resolve();
      }),
  });
  const embed = (input: string) => (feeds: TensorMap) => {
    const n = feeds[input]?.dims[1] ?? 0;
    return { inputs_embeds: tensor('float32', new Float32Array(n * 2).fill(0.5), [1, n, 2]) };
  };
  const names = kvTensorNames(CONFIG.numLayers);
  const llm = session('llm', async (feeds) => {
    const rows = feeds['inputs_embeds']?.dims[1] ?? 0;
    const past = feeds[names.past[0] ?? '']?.dims[2] ?? -1;
    calls.push([past, rows]);
    if (calls.length === options.failAtCall) throw new Error('boom');
    const pastTensors = names.past.map((n) => feeds[n] as unknown as FakeTensor);
    for (const t of pastTensors) {
      expect(t.disposals).toBe(0); // never fed after disposal
      expect(t.dims[2]).toBe(past);
    }
    await options.gate?.(calls.length);
    for (const t of pastTensors) expect(t.disposals).toBe(0); // not freed while the run uses them
    expect(feeds['attention_mask']?.dims).toEqual([1, past + rows]);
    const positions = Array.from(feeds['position_ids']?.data as BigInt64Array, Number);
    expect(positions).toEqual(Array.from({ length: rows }, (_, i) => past + i));
    const out: Record<string, FakeTensor> = {
      logits: new FakeTensor(
        'float32',
        Float32Array.from({ length: 8 }, (_, i) => i / 8),
        [1, 8],
      ),
    };
    for (const n of names.present) {
      const t = new FakeTensor('float32', new Float32Array(past + rows), [1, 1, past + rows, 1], 'gpu-buffer');
      gpu.push(t);
      out[n] = t;
    }
    return out as unknown as TensorMap;
  });
  const lm = SpeechLm.fromSessions(
    {
      embedText: session('embed_text', embed('input_ids')),
      embedSpeech: session('embed_speech', embed('speech_ids')),
      llm,
    },
    CONFIG,
  );
  return { lm, gpu, calls, released };
}

/** Sampler replaying `tokens` (then EOS). */
const script =
  (tokens: readonly number[]) =>
  (_logp: Float32Array, history: readonly number[]): number =>
    tokens[history.length] ?? CONFIG.eosId;

const disposals = (gpu: readonly FakeTensor[]): number[] => [...new Set(gpu.map((t) => t.disposals))];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('SpeechLm KV handling with GPU-resident present tensors (fake sessions)', () => {
  it('feeds the cache back, continues positions, disposes every GPU tensor exactly once', async () => {
    const { lm, gpu, calls } = rig();
    const result = await lm.generate({ mode: 'cross-lingual', textIds: [1, 2, 3] }, { sampler: script([0, 4, 4, 2]) });
    expect(Array.from(result.tokens)).toEqual([0, 4, 4, 2]);
    expect(result.stopReason).toBe('stop-token');
    // prefill [SOS, 3 text, TASK] = 5 rows, then one row per fed-back token; EOS decided after call 4
    expect(calls).toEqual([
      [0, 5],
      [5, 1],
      [6, 1],
      [7, 1],
      [8, 1],
    ]);
    expect(gpu).toHaveLength(5 * 4);
    expect(disposals(gpu)).toEqual([1]);
    expect(lm.cachedRows).toBe(0);
  });

  it('frees the cache when aborted mid-request (rejects with the signal reason)', async () => {
    const { lm, gpu } = rig();
    const controller = new AbortController();
    const error = await rejection(
      lm.generate(
        { mode: 'sft', textIds: [1, 2] },
        {
          sampler: script([1, 2, 3, 4, 0]),
          signal: controller.signal,
          onToken: (_t, i) => {
            if (i === 1) controller.abort();
          },
        },
      ),
    );
    expect((error as Error).name).toBe('AbortError');
    expect(gpu.length).toBeGreaterThan(0);
    expect(disposals(gpu)).toEqual([1]);
    expect(lm.cachedRows).toBe(0);
  });

  it('frees the cache when a call fails', async () => {
    const { lm, gpu, calls } = rig({ failAtCall: 3 });
    await expect(lm.generate({ mode: 'sft', textIds: [1] }, { sampler: script([1, 2, 3]) })).rejects.toThrow('boom');
    expect(calls).toHaveLength(3);
    expect(gpu).toHaveLength(2 * 4);
    expect(disposals(gpu)).toEqual([1]);
  });

  it('bistream frees the cache at the end', async () => {
    const { lm, gpu } = rig();
    // streaming phase: speech tokens (FILL is forced after 15), final phase: EOS at once
    const sampler = (_logp: Float32Array, history: readonly number[], ignoreEos: boolean): number =>
      ignoreEos ? history.length % 5 : CONFIG.eosId;
    const result = await lm.generateBistream(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { promptTextIds: [], promptSpeechIds: [] },
      {
        sampler,
      },
    );
    expect(Array.from(result.outTokens)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 7, 5]);
    expect(gpu).toHaveLength(17 * 4);
    expect(disposals(gpu)).toEqual([1]);
    expect(lm.cachedRows).toBe(0);
  });

  it('runs concurrent requests one after another with independent caches', async () => {
    const { lm, gpu } = rig();
    const request = { mode: 'cross-lingual', textIds: [1, 2, 3, 4] } as const;
    const [a, b] = await Promise.all([lm.generate(request, { seed: 7 }), lm.generate(request, { seed: 7 })]);
    expect(Array.from(a.tokens)).toEqual(Array.from(b.tokens));
    expect(a.seed).toBe(7);
    expect(disposals(gpu)).toEqual([1]);
  });

  it('step(): manual driving, position checks, reset()', async () => {
    const { lm, gpu } = rig();
    const logits = await lm.step([{ kind: 'sos' }, { kind: 'text', ids: [1, 2] }, { kind: 'task' }], 0, undefined);
    expect(logits).toHaveLength(8);
    expect(lm.cachedRows).toBe(4);
    await expect(Promise.resolve().then(() => lm.step([{ kind: 'speech', ids: [1] }], 2, undefined))).rejects.toThrow(
      /position 2, but the KV cache holds 4 rows/,
    );
    await lm.step([{ kind: 'speech', ids: [1] }], 4, undefined);
    await lm.step([{ kind: 'sos' }], 0, undefined); // position 0 restarts
    expect(lm.cachedRows).toBe(1);
    lm.reset();
    expect(lm.cachedRows).toBe(0);
    expect(disposals(gpu)).toEqual([1]);
  });

  it('dispose() during a running request waits for the run before freeing its inputs', async () => {
    let open = (): void => undefined;
    let entered = (): void => undefined;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const { lm, gpu, released } = rig({
      gate: (call) =>
        call === 3
          ? new Promise<void>((resolve) => {
              open = resolve;
              entered();
            })
          : Promise.resolve(),
    });
    const pending = lm.generate({ mode: 'sft', textIds: [1, 2] }, { sampler: script([1, 2, 3, 4]) });
    await inside; // call 3 is running with the cache of call 2 as its feeds
    const disposing = lm.dispose();
    await Promise.resolve();
    open();
    await disposing;
    const error = await rejection(pending);
    expect((error as TTSError).code).toBe('ERR_DISPOSED');
    expect(released.sort()).toEqual(['embed_speech', 'embed_text', 'llm']);
    expect(disposals(gpu)).toEqual([1]);
    expect(gpu).toHaveLength(3 * 4);
  });

  it('dispose() releases the sessions; later calls reject with ERR_DISPOSED', async () => {
    const { lm, released } = rig();
    await lm.dispose();
    await lm.dispose();
    expect(released.sort()).toEqual(['embed_speech', 'embed_text', 'llm']);
    const error = await rejection(lm.generate({ mode: 'sft', textIds: [1] }, { seed: 1 }));
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_DISPOSED');
  });
});

describe('SpeechLm input validation', () => {
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['empty text', () => rig().lm.generate({ mode: 'sft', textIds: [] }, { seed: 1 }), /text to synthesise is empty/],
    [
      'text id out of range',
      () => rig().lm.generate({ mode: 'sft', textIds: [1, 10] }, { seed: 1 }),
      /textIds\[1\] = 10/,
    ],
    ['negative text id', () => rig().lm.generate({ mode: 'sft', textIds: [-1] }, { seed: 1 }), /textIds\[0\] = -1/],
    [
      'prompt speech token ≥ V',
      () =>
        rig().lm.generate(
          { mode: 'zero-shot', textIds: [1], promptTextIds: [2], promptSpeechIds: [0, 5] },
          { seed: 1 },
        ),
      /promptSpeechIds\[1\] = 5/,
    ],
    [
      'empty instruction',
      () => rig().lm.generate({ mode: 'instruct2', textIds: [1], instructionIds: [] }, { seed: 1 }),
      /instruct2 needs a non-empty instruction/,
    ],
    [
      'both seed and rng',
      () => rig().lm.generate({ mode: 'sft', textIds: [1] }, { seed: 1, rng: { uniform: () => 0.5 } }),
      /either seed or rng/,
    ],
    ['bad seed', () => rig().lm.generate({ mode: 'sft', textIds: [1] }, { seed: 1.5 }), /seed must be a safe integer/],
    ['maxTokens 0', () => rig().lm.generate({ mode: 'sft', textIds: [1] }, { maxTokens: 0 }), /maxTokens/],
    [
      'bistream text id out of range',
      () => rig().lm.generateBistream([[1, 2, 3, 4, 99]], { promptTextIds: [], promptSpeechIds: [] }, { seed: 1 }),
      /text ids\[4\] = 99/,
    ],
    [
      'bistream prompt token ≥ V',
      () => rig().lm.generateBistream([[1]], { promptTextIds: [], promptSpeechIds: [9] }, { seed: 1 }),
      /promptSpeechIds\[0\] = 9/,
    ],
  ];
  it.each(cases)('%s → ERR_INVALID_INPUT', async (_name, run, message) => {
    const error = await rejection(run());
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_INVALID_INPUT');
    expect((error as Error).message).toMatch(message);
  });

  it('an instruction must end with <|endofprompt|> when the vocabulary has it', async () => {
    const lm = SpeechLm.fromSessions(
      {
        embedText: undefined as unknown as LmGraphSession,
        embedSpeech: undefined as unknown as LmGraphSession,
        llm: { device: 'wasm', tensor: () => undefined } as unknown as LmGraphSession,
      },
      { ...CONFIG, endOfPromptId: 9 },
    );
    await expect(lm.generate({ mode: 'instruct2', textIds: [1], instructionIds: [3, 4] }, { seed: 1 })).rejects.toThrow(
      /must end with <\|endofprompt\|>/,
    );
  });
});
