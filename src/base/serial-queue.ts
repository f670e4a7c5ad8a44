/**
 * One task at a time, in call order, whatever the outcome of the tasks before. Used where a resource cannot be
 * shared: ORT runs one session call at a time per realm, and a `CosyVoice` instance runs one request at a time.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` once every task queued before it has settled; resolves or rejects as the task does. */
  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(task, task);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Takes a turn now and holds it until `release()` (for work that is not one function, such as a generator that the
   * caller iterates): `ready` resolves when every earlier task has settled.
   */
  turn(): { readonly ready: Promise<void>; readonly release: () => void } {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ready = new Promise<void>((resolve) => {
      void this.run(() => {
        resolve();
        return held;
      });
    });
    return { ready, release };
  }
}
