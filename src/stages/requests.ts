/** Per-request cancellation inside a stage: one AbortController per request id. */

/** Tracks the running requests of a stage. */
export class RequestRegistry {
  readonly #running = new Map<string, AbortController>();

  /** Registers a request; returns its signal. A request id can run once at a time. */
  open(requestId: string): AbortSignal {
    if (this.#running.has(requestId)) throw new TypeError(`request ${requestId} is already running`);
    const controller = new AbortController();
    this.#running.set(requestId, controller);
    return controller.signal;
  }

  close(requestId: string): void {
    this.#running.delete(requestId);
  }

  /** Aborts one request (no-op when it is not running). */
  cancel(requestId: string, reason?: unknown): void {
    this.#running.get(requestId)?.abort(reason ?? new DOMException('The request was cancelled.', 'AbortError'));
  }

  cancelAll(): void {
    for (const id of [...this.#running.keys()]) this.cancel(id);
  }

  get size(): number {
    return this.#running.size;
  }
}
