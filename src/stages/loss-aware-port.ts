/**
 * The out-port of a stage that runs on WebGPU, made aware of device loss. A run that fails because its device was
 * lost must not be reported as the request's own failure (an `ERR_INFERENCE` the caller would take for a bad input):
 * the worker ends itself instead and the request rejects with ERR_WORKER_CRASHED (see `StageWorker`). The failed run
 * and the `device.lost` notice reach the worker in either order (CI saw both), so an error message waits until the
 * worker has asked the device whether it is still there (`lostNow`, a GPU round trip) and is dropped when it is not.
 */
import type { PortLike } from './protocol.ts';

function isErrorMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'error';
}

/**
 * `port`, whose `error` messages are posted only once `lostNow()` resolves false. Anything posted or a `close()` after
 * a held error waits behind it, so the order on the port is kept.
 */
export function lossAwarePort(port: PortLike, lostNow: () => Promise<boolean>): PortLike {
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
      held = (held ?? Promise.resolve()).then(lostNow).then((lost) => {
        if (!lost) port.postMessage(message, transfer);
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
