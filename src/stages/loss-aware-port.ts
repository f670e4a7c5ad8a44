/**
 * The out-port of a stage that runs on WebGPU, made aware of device loss. A run that fails because its device was
 * lost must not be reported as the request's own failure (an `ERR_INFERENCE` the caller would take for a bad input):
 * the worker ends itself instead and the request rejects with ERR_WORKER_CRASHED (see `StageWorker`). Which of the
 * two a caller saw depended on a race of microtasks — the run's rejection against the handler of `device.lost` — so
 * an error message waits one task here: a loss that happened in the task that failed the run (a `destroy()`, a driver
 * reset reported at once) has then been seen, and the message is dropped.
 */
import { yieldToEventLoop } from '../runtime/yield.ts';
import type { PortLike } from './protocol.ts';

function isErrorMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'error';
}

/**
 * `port`, whose `error` messages are posted one task late and only when `lost()` is then false. Anything posted or a
 * `close()` after a held error waits behind it, so the order on the port is kept.
 */
export function lossAwarePort(port: PortLike, lost: () => boolean): PortLike {
  let held: Promise<void> | undefined;
  const later = (action: () => void): void => {
    if (held === undefined) action();
    else held = held.then(action);
  };
  return {
    postMessage(message: unknown, transfer?: Transferable[]) {
      if (!isErrorMessage(message)) {
        later(() => {
          port.postMessage(message, transfer);
        });
        return;
      }
      held = (held ?? Promise.resolve()).then(yieldToEventLoop).then(() => {
        if (!lost()) port.postMessage(message, transfer);
      });
    },
    get onmessage() {
      return port.onmessage;
    },
    set onmessage(listener) {
      port.onmessage = listener;
    },
    close() {
      later(() => {
        port.close();
      });
    },
    start() {
      port.start?.();
    },
  };
}
