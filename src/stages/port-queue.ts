/**
 * MessagePort ↔ async iteration: {@link receive} turns the messages of a port into an `AsyncQueue` (consumed in
 * order with `for await`), {@link send} posts with the typed-array buffers transferred (zero copy).
 */
import { AsyncQueue } from '../base/async-queue.ts';
import type { PortLike } from './protocol.ts';

/**
 * Messages arriving on `port`, in order. The port is started. When `signal` aborts, the iteration rejects with its
 * reason (so a consumer waiting for a peer that died or was cancelled does not wait forever).
 */
export function receive<T>(port: PortLike, signal?: AbortSignal): AsyncQueue<T> {
  const queue = new AsyncQueue<T>();
  port.onmessage = (event: MessageEvent) => {
    queue.push(event.data as T);
  };
  port.start?.();
  if (signal !== undefined) {
    if (signal.aborted) queue.fail(signal.reason);
    else
      signal.addEventListener(
        'abort',
        () => {
          queue.fail(signal.reason);
        },
        { once: true },
      );
  }
  return queue;
}

/** Posts `message`, transferring the buffers of the typed arrays it names. */
export function send(port: PortLike, message: unknown, ...arrays: ArrayBufferView[]): void {
  const buffers = arrays.map((a) => a.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  port.postMessage(message, buffers);
}
