/**
 * A stopped worker never answers, so `WorkerHandle` must settle every pending call itself (issue #13.6, "a worker
 * killed mid-request"): terminated from outside (no event at all) → ERR_WORKER_CRASHED; stopped by the library
 * (dispose, a cancelled load) → ERR_DISPOSED; an uncaught error → ERR_WORKER_CRASHED with its message. The worker is a
 * fake with the parts of `Worker` the handle and comlink use; its calls never answer, as a dead worker's would not.
 */
import { describe, expect, it } from 'vitest';
import { WorkerHandle } from '../../../src/core/spawn-worker.ts';
import { stageHosts } from '../../../src/core/worker-hosts.ts';
import { TTSError } from '../../../src/errors.ts';

/** A worker that receives messages and never replies; counts real terminations. */
class SilentWorker extends EventTarget {
  terminations = 0;
  postMessage(): void {
    // a dead or stuck worker: nothing comes back
  }
  terminate(): void {
    this.terminations++;
  }
  /** What the browser dispatches for an uncaught exception inside the worker. */
  crash(message: string): void {
    const event = new Event('error', { cancelable: true });
    this.dispatchEvent(Object.assign(event, { message }));
  }
}

function start(): { worker: SilentWorker; handle: WorkerHandle; pending: Promise<unknown> } {
  const worker = new SilentWorker();
  const handle = new WorkerHandle('flow', worker as unknown as Worker);
  const pending = handle.guard(handle.remote.versions()).catch((error: unknown) => error);
  return { worker, handle, pending };
}

describe('WorkerHandle settles pending calls when its worker stops', () => {
  it('terminated from outside: ERR_WORKER_CRASHED, and the worker is really terminated', async () => {
    const { worker, pending } = start();
    worker.terminate(); // e.g. app code that kept the Worker from its factory
    const error = await pending;
    expect(error).toBeInstanceOf(TTSError);
    expect(error).toMatchObject({ code: 'ERR_WORKER_CRASHED', details: { worker: 'flow' } });
    expect((error as TTSError).message).toBe('The flow worker crashed: it was terminated');
    expect(worker.terminations).toBe(1);
  });

  it('stopped by the library: ERR_DISPOSED, terminated once', async () => {
    const { worker, handle, pending } = start();
    handle.terminate();
    handle.terminate();
    expect(await pending).toMatchObject({ code: 'ERR_DISPOSED', details: { worker: 'flow' } });
    expect(worker.terminations).toBe(1);
  });

  it('an uncaught error in the worker: ERR_WORKER_CRASHED with its message', async () => {
    const { worker, pending } = start();
    worker.crash('RangeError: out of memory');
    expect(await pending).toMatchObject({
      code: 'ERR_WORKER_CRASHED',
      message: 'The flow worker crashed: RangeError: out of memory',
    });
  });
});

describe('stage hosts over a dead worker', () => {
  it("a request's cancel fan-out settles (the pipeline awaits it after a failure)", async () => {
    const { worker, handle } = start();
    const hosts = stageHosts(handle, handle, handle);
    worker.terminate();
    const settled = await Promise.allSettled([hosts.lm.cancel('req-1'), hosts.vocoder.cancel('req-1')]);
    expect(settled.map((s) => (s.status === 'rejected' ? (s.reason as TTSError).code : s.status))).toEqual([
      'ERR_WORKER_CRASHED',
      'ERR_WORKER_CRASHED',
    ]);
  });
});
