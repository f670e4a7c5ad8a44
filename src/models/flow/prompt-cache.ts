/**
 * Per-voice memory of a value that is expensive to build (the incremental flow's solved prompt chunks, issue #11),
 * keyed by the voice's content and the Euler step count, within a byte budget. The model is implied: one store
 * belongs to one loaded flow runner.
 *
 * Voices reach a worker as structured clones, so identity says nothing: a voice is recognised by its content. A
 * 32-bit hash finds the candidates and the arrays are compared in full, so a collision can never hand one voice
 * another voice's cache.
 *
 * @module
 */

import type { FlowPrompt } from './flow-matcher.ts';

interface Entry<T> {
  readonly prompt: FlowPrompt;
  readonly steps: number;
  readonly value: T;
  readonly bytes: number;
}

/** FNV-1a over the bytes of the voice's arrays (the prompt tokens as int32). */
function voiceHash(prompt: FlowPrompt, steps: number): number {
  let h = 0x811c9dc5 ^ steps;
  const mix = (bytes: Uint8Array): void => {
    for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  };
  mix(new Uint8Array(Int32Array.from(prompt.promptTokens).buffer));
  mix(new Uint8Array(prompt.promptFeat.buffer, prompt.promptFeat.byteOffset, prompt.promptFeat.byteLength));
  mix(new Uint8Array(Float32Array.from(prompt.embedding).buffer));
  return h >>> 0;
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function sameVoice(a: FlowPrompt, b: FlowPrompt): boolean {
  return (
    sameValues(a.promptTokens, b.promptTokens) &&
    sameValues(a.embedding, b.embedding) &&
    sameValues(a.promptFeat, b.promptFeat)
  );
}

/**
 * Values per (voice, step count), least recently used dropped first once their total passes `maxBytes` (the newest
 * is always kept, whatever its size, so a voice never rebuilds its value on every request).
 */
export class PromptCacheStore<T> {
  readonly #entries = new Map<number, Entry<T>[]>();
  readonly #order: Entry<T>[] = [];

  /**
   * @param maxBytes - budget of the values kept (see the class comment)
   * @param sizeOf - bytes a value holds
   */
  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (value: T) => number,
  ) {}

  /** Bytes held. */
  get bytes(): number {
    return this.#order.reduce((n, e) => n + e.bytes, 0);
  }

  /** Entries held. */
  get size(): number {
    return this.#order.length;
  }

  /** The value of a voice and step count, if held (marks it as recently used). */
  get(prompt: FlowPrompt, steps: number): T | undefined {
    const entry = this.#find(prompt, steps);
    if (entry === undefined) return undefined;
    this.#order.splice(this.#order.indexOf(entry), 1);
    this.#order.push(entry);
    return entry.value;
  }

  /** Stores a value (replacing one of the same voice and step count), then applies the budget. */
  set(prompt: FlowPrompt, steps: number, value: T): void {
    this.delete(prompt, steps);
    // a copy: the caller's arrays may be reused, and a changed key would hand out another voice's value
    const copy: FlowPrompt = {
      promptTokens: Int32Array.from(prompt.promptTokens),
      promptFeat: prompt.promptFeat.slice(),
      embedding: Float32Array.from(prompt.embedding),
    };
    const entry: Entry<T> = { prompt: copy, steps, value, bytes: this.sizeOf(value) };
    const key = voiceHash(copy, steps);
    this.#entries.set(key, [...(this.#entries.get(key) ?? []), entry]);
    this.#order.push(entry);
    while (this.#order.length > 1 && this.bytes > this.maxBytes) {
      const oldest = this.#order[0];
      if (oldest !== undefined) this.delete(oldest.prompt, oldest.steps);
    }
  }

  /** Forgets the value of a voice and step count. */
  delete(prompt: FlowPrompt, steps: number): void {
    const entry = this.#find(prompt, steps);
    if (entry === undefined) return;
    const key = voiceHash(prompt, steps);
    const rest = (this.#entries.get(key) ?? []).filter((e) => e !== entry);
    if (rest.length > 0) this.#entries.set(key, rest);
    else this.#entries.delete(key);
    this.#order.splice(this.#order.indexOf(entry), 1);
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
    this.#order.length = 0;
  }

  #find(prompt: FlowPrompt, steps: number): Entry<T> | undefined {
    return this.#entries.get(voiceHash(prompt, steps))?.find((e) => e.steps === steps && sameVoice(e.prompt, prompt));
  }
}
