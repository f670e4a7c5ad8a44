/**
 * A single-consumer async queue: a producer pushes values (or fails / closes), the consumer iterates with
 * `for await`. Connects the LM's token callback to the streaming token2wav in one realm, and MessagePort data to
 * async iteration across realms.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #closed = false;
  #error: { readonly reason: unknown } | undefined;
  #wake: (() => void) | undefined;

  /** Appends a value (ignored after close/fail). */
  push(value: T): void {
    if (this.#closed || this.#error !== undefined) return;
    this.#items.push(value);
    this.#notify();
  }

  /** No more values: iteration ends after the queued ones. */
  close(): void {
    this.#closed = true;
    this.#notify();
  }

  /** Iteration rejects with `reason` once the queued values are consumed. */
  fail(reason: unknown): void {
    if (this.#error === undefined) this.#error = { reason };
    this.#notify();
  }

  /** Values waiting to be consumed. */
  get size(): number {
    return this.#items.length;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for (;;) {
      if (this.#items.length > 0) {
        yield this.#items.shift() as T;
        continue;
      }
      if (this.#error !== undefined) throw this.#error.reason;
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}
