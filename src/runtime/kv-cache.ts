/**
 * The explicit KV cache of a decoder graph (the `llm` graph's `past_key_values.*` / `present.*`), generic over the
 * tensor type: a runtime helper beside `session.ts`, so a runner keeps only its decoding logic.
 */
import { invalidInput, TTSError } from '../errors.ts';

/** What the KV cache needs of a tensor: its dims (`[1, KVH, P, D]`) and a way to free it. */
export interface KvTensor {
  /** Tensor dims. */
  readonly dims: readonly number[];
  /** Frees the tensor (a GPU buffer on WebGPU). Called exactly once per tensor the cache held. */
  dispose(): void;
}

/** Input names `past_key_values.{i}.key/value` and output names `present.{i}.key/value`, layer-major. */
export function kvTensorNames(numLayers: number): { readonly past: string[]; readonly present: string[] } {
  const past: string[] = [];
  const present: string[] = [];
  for (let i = 0; i < numLayers; i++) {
    for (const kind of ['key', 'value']) {
      past.push(`past_key_values.${i}.${kind}`);
      present.push(`present.${i}.${kind}`);
    }
  }
  return { past, present };
}

/**
 * The explicit KV cache of the `llm` graph: holds one tensor per `past_key_values.*` input, takes the `present.*`
 * outputs of each call as the next cache and disposes every tensor it lets go of (the replaced ones after each call,
 * all of them on {@link KvCache.clear}). Generic over the tensor type so the disposal discipline is unit-testable
 * with fake tensors; the runner uses onnxruntime tensors (GPU-resident on WebGPU).
 *
 * Contract: a tensor passed in through {@link KvCache.update} is owned by the cache from then on; the caller must
 * neither dispose it nor keep using it after the next update or clear.
 */
export class KvCache<T extends KvTensor> {
  /** Graph input names, layer-major (`past_key_values.0.key`, `past_key_values.0.value`, …). */
  readonly pastNames: readonly string[];
  /** Graph output names in the same order (`present.0.key`, …). */
  readonly presentNames: readonly string[];
  private tensors: T[] = [];
  private rows = 0;

  /**
   * @param numLayers - transformer layers (2 tensors each)
   * @param empty - makes the zero-length past tensor `[1, KVH, 0, D]` for an input name (first call of a sequence)
   */
  constructor(
    readonly numLayers: number,
    private readonly empty: (name: string) => T,
  ) {
    if (!Number.isInteger(numLayers) || numLayers < 1) {
      throw invalidInput(`The KV cache needs a positive layer count, got ${numLayers}.`);
    }
    const names = kvTensorNames(numLayers);
    this.pastNames = names.past;
    this.presentNames = names.present;
  }

  /** Rows cached (P): the RoPE position of the next row. */
  get length(): number {
    return this.rows;
  }

  /** Number of tensors currently held (0 after {@link KvCache.clear}). */
  get heldTensors(): number {
    return this.tensors.length;
  }

  /** The `past_key_values.*` feeds of the next call (zero-length tensors when the cache is empty). */
  feeds(): Record<string, T> {
    if (this.tensors.length === 0) this.tensors = this.pastNames.map((name) => this.empty(name));
    const feeds: Record<string, T> = {};
    this.pastNames.forEach((name, i) => {
      const t = this.tensors[i];
      if (t !== undefined) feeds[name] = t;
    });
    return feeds;
  }

  /**
   * Takes the `present.*` outputs of a call that fed `added` new rows: they become the cache, and the tensors they
   * replace are disposed. On a malformed output set, the new tensors are disposed and the cache is left unchanged.
   *
   * @throws {TTSError} ERR_INFERENCE when an output is missing or its length is not P + added.
   */
  update(outputs: Readonly<Record<string, T | undefined>>, added: number): void {
    const next = this.presentNames.map((name) => outputs[name]);
    const expected = this.rows + added;
    const bad = next.findIndex((t) => t?.dims.length !== 4 || t.dims[2] !== expected);
    if (bad >= 0) {
      for (const t of next) t?.dispose();
      const t = next[bad];
      throw new TTSError(
        'ERR_INFERENCE',
        t === undefined
          ? `Graph "llm" returned no "${this.presentNames[bad] ?? ''}".`
          : `Graph "llm" returned "${this.presentNames[bad] ?? ''}" with dims [${t.dims.join(',')}]; expected [1, KVH, ${expected}, D].`,
        { details: { graph: 'llm', output: this.presentNames[bad], expectedLength: expected } },
      );
    }
    for (const t of this.tensors) t.dispose();
    this.tensors = next as T[];
    this.rows = expected;
  }

  /** Disposes every held tensor and empties the cache (P = 0). Safe to call repeatedly. */
  clear(): void {
    const held = this.tensors;
    this.tensors = [];
    this.rows = 0;
    for (const t of held) t.dispose();
  }
}
