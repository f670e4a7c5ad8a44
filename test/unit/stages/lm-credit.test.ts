import { describe, expect, it } from 'vitest';
import { LmCredit, lmTokenLimit } from '../../../src/stages/lm-credit.ts';
import type { Schedule } from '../../../src/request/schedule.ts';
import { DEFAULT_LM_LEAD_TOKENS, resolveSchedule } from '../../../src/request/schedule.ts';
import { ChunkPolicy } from '../../../src/models/chunk-policy.ts';

const paced: Schedule = { firstAudioPriority: true, lmLeadTokens: 30 };

/** An `LmCredit` whose posts are recorded. */
function recorded(schedule: Schedule | undefined) {
  const posts: { consumed: number; limit: number }[] = [];
  const credit = new LmCredit(schedule, (c) => posts.push(c));
  const last = (): number => posts.at(-1)?.limit ?? 0;
  return { credit, posts, last };
}

describe('resolveSchedule', () => {
  it('defaults, false, and a policy that paces nothing', () => {
    const defaults = { firstAudioPriority: true, lmLeadTokens: DEFAULT_LM_LEAD_TOKENS };
    expect(resolveSchedule(undefined)).toEqual(defaults);
    expect(resolveSchedule(true)).toEqual(defaults);
    expect(resolveSchedule({ lmLeadTokens: 7 })).toEqual({ ...defaults, lmLeadTokens: 7 });
    expect(resolveSchedule(false)).toBeUndefined();
    expect(resolveSchedule({ firstAudioPriority: false, lmLeadTokens: Infinity })).toBeUndefined();
  });
});

describe('lmTokenLimit', () => {
  it('before the first chunk, with first-audio priority: exactly what the first call needs', () => {
    expect(lmTokenLimit({ consumed: 41, needed: 41, firstChunkOut: false }, paced)).toBe(41);
    expect(
      lmTokenLimit({ consumed: 41, needed: 41, firstChunkOut: false }, { ...paced, firstAudioPriority: false }),
    ).toBe(71);
  });

  it('afterwards: consumed + lead, never below the next call', () => {
    expect(lmTokenLimit({ consumed: 91, needed: 91, firstChunkOut: true }, paced)).toBe(121);
    expect(lmTokenLimit({ consumed: 91, needed: 191, firstChunkOut: true }, paced)).toBe(191);
    expect(lmTokenLimit({ consumed: 91, needed: 191, firstChunkOut: true }, { ...paced, lmLeadTokens: 0 })).toBe(191);
    expect(lmTokenLimit({ consumed: 91, needed: 191, firstChunkOut: true }, { ...paced, lmLeadTokens: Infinity })).toBe(
      Infinity,
    );
  });
});

describe('LmCredit', () => {
  it('follows the chunk policy of a stream: first call, pause, then the bounded lead', () => {
    const { credit, posts, last } = recorded(paced);
    // the golden voice's 87 prompt tokens: first chunk 25 + pad 13, then hops 50, 100, 100 (+ 3 look-ahead each)
    const policy = new ChunkPolicy({ promptTokens: 87 });
    credit.open(policy.tokensNeeded);
    expect(last()).toBe(41);
    credit.segment();
    credit.received(41);
    const first = policy.plan(41, false);
    if (first === undefined) throw new Error('no first call');
    credit.start(first);
    expect(last()).toBe(41); // the LM stays paused while the flow solves the first chunk
    policy.commit(first);
    credit.done({ done: policy.done, tokenCount: 41, tokensNeeded: policy.tokensNeeded });
    expect(posts.at(-1)).toEqual({ consumed: 41, limit: 91 }); // max(next call 88 + 3, 41 + 30)
    credit.received(50);
    const second = policy.plan(91, false);
    if (second === undefined) throw new Error('no second call');
    credit.start(second);
    expect(posts.at(-1)).toEqual({ consumed: 91, limit: 121 });
    // limits only grow, and each is posted once
    const before = posts.length;
    credit.start(second);
    expect(posts.length).toBe(before);
  });

  it('counts request totals across segments: a finished segment grants the next segment its first call', () => {
    const { credit, last } = recorded({ ...paced, lmLeadTokens: 0 });
    credit.open(41);
    credit.segment();
    credit.received(20);
    // the segment ended after 20 tokens: one final call on all of them
    credit.start({ tokenEnd: 20 });
    expect(last()).toBe(41);
    credit.done({ done: true, tokenCount: 20, tokensNeeded: 41 });
    expect(last()).toBe(20 + 41);
    credit.segment();
    credit.received(41);
    credit.start({ tokenEnd: 41 }); // segment-relative: 20 + 41 of the request
    expect(last()).toBe(61);
    credit.done({ done: false, tokenCount: 41, tokensNeeded: 91 });
    expect(last()).toBe(20 + 91);
  });

  it('offline requests and a released flow let the LM run freely; an unpaced request posts nothing', () => {
    const offline = recorded(paced);
    offline.credit.open(Infinity);
    expect(offline.last()).toBe(Infinity);
    const released = recorded(paced);
    released.credit.open(41);
    released.credit.release();
    expect(released.posts.map((p) => p.limit)).toEqual([41, Infinity]);
    const off = recorded(undefined);
    off.credit.open(41);
    off.credit.start({ tokenEnd: 41 });
    off.credit.done({ done: false, tokenCount: 41, tokensNeeded: 91 });
    off.credit.release();
    expect(off.posts).toEqual([]);
  });
});
