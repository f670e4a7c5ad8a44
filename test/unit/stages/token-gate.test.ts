import { describe, expect, it } from 'vitest';
import { gateOnPort, TokenGate } from '../../../src/stages/token-gate.ts';
import type { TokenCredit } from '../../../src/stages/protocol.ts';

/** Whether `promise` has settled after the pending microtasks and one macrotask. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('TokenGate', () => {
  it('a paced gate starts shut, opens with a credit and shuts again at the limit', async () => {
    const gate = new TokenGate(true);
    const first = gate.ready();
    expect(await settled(first)).toBe(false);
    gate.grant(2);
    await first;
    gate.sent();
    await gate.ready(); // 1 of 2
    gate.sent();
    const third = gate.ready();
    expect(await settled(third)).toBe(false);
    gate.grant(1); // stale: limits only grow
    expect(await settled(third)).toBe(false);
    gate.grant(3);
    await third;
    expect(gate.sentTokens).toBe(2);
  });

  it('an unpaced gate never waits', async () => {
    const gate = new TokenGate(false);
    gate.sent(10_000);
    expect(await settled(gate.ready())).toBe(true);
    expect(gate.waitedMs).toBe(0);
  });

  it('an abort while waiting rejects at once with the reason', async () => {
    const gate = new TokenGate(true);
    const controller = new AbortController();
    const waiting = gate.ready(controller.signal);
    expect(await settled(waiting)).toBe(false);
    controller.abort(new DOMException('cancelled', 'AbortError'));
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    // a signal aborted before the wait rejects too
    await expect(gate.ready(controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('gateOnPort: credits posted on the other end of the token port open the gate', async () => {
    const { port1, port2 } = new MessageChannel();
    try {
      const gate = gateOnPort(port1, true);
      const waiting = gate.ready();
      port2.postMessage({ type: 'credit', requestId: 'r', consumed: 0, limit: 1 } satisfies TokenCredit);
      await waiting;
      expect(gate.waitedMs).toBeGreaterThanOrEqual(0);
      // an unpaced request leaves the port alone
      const { port1: other, port2: peer } = new MessageChannel();
      gateOnPort(other, false);
      expect(other.onmessage).toBeNull();
      other.close();
      peer.close();
    } finally {
      port1.close();
      port2.close();
    }
  });
});
