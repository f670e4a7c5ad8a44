import { describe, expect, it } from 'vitest';
import { raceAbort } from '../../../src/base/abort.ts';
import { SerialQueue } from '../../../src/base/serial-queue.ts';

describe('SerialQueue', () => {
  it('runs tasks one at a time in call order, whatever the earlier ones did', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const task =
      (name: string, fail = false) =>
      async () => {
        running++;
        expect(running).toBe(1);
        log.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
        log.push(`end ${name}`);
        running--;
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([queue.run(task('a')), queue.run(task('b', true)), queue.run(task('c'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('a turn is held until released; later tasks wait for it', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const first = queue.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      log.push('first');
    });
    const turn = queue.turn();
    const after = queue.run(() => {
      log.push('after');
    });
    await turn.ready;
    log.push('turn');
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(log).toEqual(['first', 'turn']);
    turn.release();
    await Promise.all([first, after]);
    expect(log).toEqual(['first', 'turn', 'after']);
  });
});

describe('raceAbort', () => {
  it('settles as the promise does, or rejects with the reason when the signal aborts first', async () => {
    await expect(raceAbort(Promise.resolve(3), new AbortController().signal)).resolves.toBe(3);
    const controller = new AbortController();
    const never = new Promise<never>(() => undefined);
    const raced = raceAbort(never, controller.signal);
    controller.abort(new DOMException('stop', 'AbortError'));
    await expect(raced).rejects.toMatchObject({ name: 'AbortError', message: 'stop' });
    await expect(raceAbort(never, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('a promise abandoned to an already-aborted signal may fail later without an unhandled rejection', async () => {
    let fail: (error: Error) => void = () => undefined;
    const later = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    await expect(raceAbort(later, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', listener);
    try {
      fail(new Error('worker terminated'));
      // Node reports unhandled rejections after the microtask queue drains: two macrotask turns are past that
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', listener);
    }
    expect(unhandled).toEqual([]);
  });
});
