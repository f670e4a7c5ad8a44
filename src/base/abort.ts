/** Cancellation helpers over `AbortSignal` that leave no listener behind. */

/**
 * Settles as `promise` does, or rejects with the signal's reason as soon as it aborts (the work itself is not
 * stopped: the caller cleans it up). The abort listener is removed once either happens.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    if (signal.aborted) {
      onAbort();
      // the abandoned work may still fail (e.g. its worker is terminated in the caller's cleanup): not unhandled
      promise.catch(() => undefined);
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}
