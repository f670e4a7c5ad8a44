import { describe, expect, it } from 'vitest';
import { lossAwarePort } from '../../../src/stages/loss-aware-port.ts';
import type { PortLike } from '../../../src/stages/protocol.ts';

/** A port that records what reaches it, in order. */
function recordingPort(): { port: PortLike; seen: string[] } {
  const seen: string[] = [];
  const port: PortLike = {
    postMessage(message: unknown) {
      seen.push((message as { type: string }).type);
    },
    onmessage: null,
    close() {
      seen.push('close');
    },
  };
  return { port, seen };
}

const task = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('lossAwarePort', () => {
  it('posts ordinary messages at once', () => {
    const { port, seen } = recordingPort();
    const out = lossAwarePort(port, () => false);
    out.postMessage({ type: 'pcm' });
    out.postMessage({ type: 'end' });
    expect(seen).toEqual(['pcm', 'end']);
  });

  it('posts an error one task late when the device was not lost, and keeps what follows behind it', async () => {
    const { port, seen } = recordingPort();
    const out = lossAwarePort(port, () => false);
    out.postMessage({ type: 'pcm' });
    out.postMessage({ type: 'error' });
    out.close();
    expect(seen).toEqual(['pcm']);
    await task();
    expect(seen).toEqual(['pcm', 'error', 'close']);
  });

  it('drops the error when the loss is seen in the task that failed the run (a microtask after the failure)', async () => {
    const { port, seen } = recordingPort();
    let lost = false;
    const out = lossAwarePort(port, () => lost);
    out.postMessage({ type: 'error' });
    out.close();
    // the order the race took in Chromium: the run's rejection first, the `device.lost` handler a few microtasks on
    await Promise.resolve().then(() => Promise.resolve());
    lost = true;
    await task();
    expect(seen).toEqual(['close']);
  });

  it('forwards the listener and start() to the port (a port may also be read)', () => {
    const { port } = recordingPort();
    let started = false;
    port.start = () => {
      started = true;
    };
    const out = lossAwarePort(port, () => false);
    const listener = (): void => undefined;
    out.onmessage = listener;
    out.start?.();
    expect(port.onmessage).toBe(listener);
    expect(out.onmessage).toBe(listener);
    expect(started).toBe(true);
  });
});
