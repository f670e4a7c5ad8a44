/**
 * The load's `storage` warning (issue #13.4): the main thread and every worker may each meet the cache's failure;
 * the user hears about it once per load, between the progress events, which go on.
 */
import { describe, expect, it } from 'vitest';
import { LoadProgress } from '../../../src/core/load-progress.ts';
import type { LoadProgressEvent } from '../../../src/events.ts';

describe('LoadProgress', () => {
  it('turns the first cache failure of a load into one storage event and keeps reporting progress', () => {
    const events: LoadProgressEvent[] = [];
    const progress = new LoadProgress((e) => events.push(e));
    progress.start([{ stage: 'lm', file: 'llm.int8.onnx', bytes: 10 }]);
    const failure = { reason: 'quota', message: 'Could not write to the model cache (QuotaExceededError).' } as const;
    progress.fromWorker(failure);
    progress.fromWorker({ reason: 'error', message: 'a second worker failed too' });
    progress.storage({ reason: 'unavailable', message: 'and the main thread' });
    progress.fromWorker({ stage: 'lm', file: 'llm.int8.onnx', loaded: 10, total: 10, fromCache: false, done: true });
    expect(events.map((e) => e.type)).toEqual(['load-start', 'storage', 'file-progress', 'file-done', 'load-progress']);
    expect(events[1]).toEqual({ type: 'storage', ...failure });
    expect(events.at(-1)).toEqual({ type: 'load-progress', loaded: 10, total: 10, fraction: 1 });
  });
});
