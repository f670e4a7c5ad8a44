/**
 * The streaming schedule (spec §1.4) against the reference `stream_schedule` of tools/reference/pipeline.py, the
 * per-request hop state (upstream bug #1849), LM pacing, and the first-hop / bounded-context options.
 */
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import type { FlowChunkPlan } from '../../../src/models/chunk-policy.ts';
import { alignedFirstHop, ChunkPolicy, promptTokenPad, streamSchedule } from '../../../src/models/chunk-policy.ts';

type Row = [offset: number, used: number, final: boolean];

/**
 * Computed once with:
 * .venv/bin/python -c "from tools.reference.pipeline import stream_schedule
 * for P,N in [(87,48),(0,0),(0,27),(0,28),(0,100),(25,30),(24,200),(1,400),(50,78),(13,129),(7,20)]:
 *     print(P, N, stream_schedule(P, N, 3))"
 */
const REFERENCE: ReadonlyArray<[p: number, n: number, rows: Row[]]> = [
  [
    87,
    48,
    [
      [0, 41, false],
      [38, 48, true],
    ],
  ],
  [0, 0, [[0, 0, true]]],
  [0, 27, [[0, 27, true]]],
  [
    0,
    28,
    [
      [0, 28, false],
      [25, 28, true],
    ],
  ],
  [
    0,
    100,
    [
      [0, 28, false],
      [25, 78, false],
      [75, 100, true],
    ],
  ],
  [
    25,
    30,
    [
      [0, 28, false],
      [25, 30, true],
    ],
  ],
  [
    24,
    200,
    [
      [0, 29, false],
      [26, 79, false],
      [76, 179, false],
      [176, 200, true],
    ],
  ],
  [
    1,
    400,
    [
      [0, 52, false],
      [49, 102, false],
      [99, 202, false],
      [199, 302, false],
      [299, 400, true],
    ],
  ],
  [
    50,
    78,
    [
      [0, 28, false],
      [25, 78, false],
      [75, 78, true],
    ],
  ],
  [
    13,
    129,
    [
      [0, 40, false],
      [37, 90, false],
      [87, 129, true],
    ],
  ],
  [7, 20, [[0, 20, true]]],
];

const rows = (plans: readonly FlowChunkPlan[]): Row[] => plans.map((p) => [p.tokenOffset, p.tokenEnd, p.finalize]);

describe('streamSchedule', () => {
  it.each(REFERENCE)('P = %i, N = %i equals the reference stream_schedule', (p, n, expected) => {
    const plans = streamSchedule(n, { promptTokens: p });
    expect(rows(plans)).toEqual(expected);
    for (const [i, plan] of plans.entries()) {
      expect(plan.index).toBe(i);
      expect(plan.contextStart).toBe(0);
      // non-final: chunk masks and 3 look-ahead tokens; final: full attention
      expect(plan.streaming).toBe(!plan.finalize);
      expect(plan.emitEnd).toBe(plan.finalize ? plan.tokenEnd : plan.tokenEnd - 3);
      // emitted boundaries (prompt included) sit on the 25-token chunk grid
      if (!plan.finalize) expect((p + plan.emitEnd) % 25).toBe(0);
    }
  });

  it('computes the prompt pad like upstream', () => {
    expect([0, 1, 24, 25, 26, 87].map((p) => promptTokenPad(p))).toEqual([0, 24, 1, 0, 24, 13]);
  });

  it('rejects invalid settings with the allowed range', () => {
    expect(() => new ChunkPolicy({ promptTokens: -1 })).toThrow(/promptTokens must be an integer ≥ 0/);
    expect(() => new ChunkPolicy({ promptTokens: 3, firstHop: 2 })).toThrow(/firstHop must be an integer ≥ 4/);
    expect(() => new ChunkPolicy({ promptTokens: 3, tokenHop: 50, maxTokenHop: 25 })).toThrow(TTSError);
  });
});

describe('ChunkPolicy state machine', () => {
  it('paced by the LM one token at a time gives the same schedule as the finished run', () => {
    for (const [p, n, expected] of REFERENCE) {
      const policy = new ChunkPolicy({ promptTokens: p });
      const got: FlowChunkPlan[] = [];
      for (let available = 0; available <= n; available++) {
        for (let c = policy.next(available, false); c !== undefined; c = policy.next(available, false)) got.push(c);
      }
      const last = policy.next(n, true);
      if (last !== undefined) got.push(last);
      expect(rows(got)).toEqual(expected);
      expect(policy.done).toBe(true);
      expect(policy.next(n, true)).toBeUndefined();
    }
  });

  it('waits for hop + look-ahead tokens while the LM runs', () => {
    const policy = new ChunkPolicy({ promptTokens: 0 });
    expect(policy.plan(27, false)).toBeUndefined(); // 25 + 3 needed
    expect(policy.plan(28, false)).toMatchObject({ tokenOffset: 0, tokenEnd: 28, finalize: false });
    // plan() does not advance; commit() does
    expect(policy.plan(28, false)).toMatchObject({ index: 0 });
    const chunk = policy.plan(28, false);
    if (chunk === undefined) throw new Error('no chunk');
    policy.commit(chunk);
    expect(() => {
      policy.commit(chunk);
    }).toThrow(/not the pending chunk/);
    expect(policy.plan(77, false)).toBeUndefined(); // 25 + 50 + 3 = 78 needed
    expect(policy.plan(78, false)).toMatchObject({ tokenOffset: 25, tokenEnd: 78 });
    expect(() => policy.plan(10, false)).toThrow(/cannot be fewer/);
  });

  it('keeps the hop per request: a second request starts at 25 again (upstream bug #1849)', () => {
    const a = new ChunkPolicy({ promptTokens: 0 });
    const b = new ChunkPolicy({ promptTokens: 0 });
    const ra: Row[] = [];
    const rb: Row[] = [];
    // interleave the two requests
    for (let n = 0; n <= 300; n += 10) {
      const ca = a.next(n, false);
      if (ca) ra.push([ca.tokenOffset, ca.tokenEnd, ca.finalize]);
      const cb = b.next(Math.floor(n / 2), false);
      if (cb) rb.push([cb.tokenOffset, cb.tokenEnd, cb.finalize]);
    }
    // the first chunk of a second request still emits 25 tokens (upstream would start at 50 / 100)
    expect(ra.slice(0, 3)).toEqual([
      [0, 28, false],
      [25, 78, false],
      [75, 178, false],
    ]);
    expect(rb.slice(0, 2)).toEqual([
      [0, 28, false],
      [25, 78, false],
    ]);
    const c = new ChunkPolicy({ promptTokens: 0 });
    expect(c.next(28, false)).toMatchObject({ tokenOffset: 0, tokenEnd: 28 });
  });
});

describe('ChunkPolicy options', () => {
  it('firstHop: a small first chunk, then back onto the upstream grid', () => {
    // P = 87 (pad 13): upstream emits 38, 50, 100…; firstHop 10 emits 10, then 28 to reach 38, then upstream.
    expect(rows(streamSchedule(200, { promptTokens: 87, firstHop: 10 }))).toEqual([
      [0, 13, false],
      [10, 41, false],
      [38, 91, false],
      [88, 191, false],
      [188, 200, true],
    ]);
    // firstHop = pad is already grid-aligned: the first chunk ends exactly on a chunk boundary
    const aligned = streamSchedule(100, { promptTokens: 87, firstHop: 13 });
    expect(rows(aligned)).toEqual([
      [0, 16, false],
      [13, 41, false],
      [38, 91, false],
      [88, 100, true],
    ]);
    // 'pad' is that hop, computed from the prompt
    expect(streamSchedule(100, { promptTokens: 87, firstHop: 'pad' })).toEqual(aligned);
    // a boundary closer than minHop is skipped: firstHop 36 → next upstream boundary 38 is too close, go to 88
    expect(rows(streamSchedule(100, { promptTokens: 87, firstHop: 36 }))).toEqual([
      [0, 39, false],
      [36, 91, false],
      [88, 100, true],
    ]);
    // a first hop beyond the upstream first boundary continues with the next upstream boundaries
    expect(rows(streamSchedule(200, { promptTokens: 0, firstHop: 40 }))).toEqual([
      [0, 43, false],
      [40, 78, false],
      [75, 178, false],
      [175, 200, true],
    ]);
  });

  it("alignedFirstHop ('pad'): the prompt pad, grown by whole chunks below minHop", () => {
    expect(alignedFirstHop(87, 25, 4)).toBe(13);
    expect(alignedFirstHop(86, 25, 4)).toBe(14);
    expect(alignedFirstHop(99, 25, 4)).toBe(26); // pad 1 < minHop: one chunk more
    expect(alignedFirstHop(75, 25, 4)).toBe(25); // whole chunks: upstream's own first hop (25 + pad 0)
    expect(alignedFirstHop(0, 25, 4)).toBe(25);
    expect(alignedFirstHop(5, 8, 1)).toBe(3);
    for (const p of [0, 1, 17, 50, 87, 99, 123]) {
      const hop = alignedFirstHop(p, 25, 4);
      expect((p + hop) % 25).toBe(0); // ends on the grid: upstream's mel
      expect(hop).toBeGreaterThanOrEqual(4);
      expect(hop).toBeLessThanOrEqual(25 + promptTokenPad(p)); // never later than upstream's first chunk
    }
    expect(() => new ChunkPolicy({ promptTokens: 87, firstHop: 'grid' as never })).toThrow(
      /firstHop must be an integer ≥ 4 or 'pad'/,
    );
  });

  it('contextTokens: the window start stays on the chunk grid with at least K tokens of left context', () => {
    const plans = streamSchedule(600, { promptTokens: 87, contextTokens: 50 });
    expect(plans.map((p) => [p.contextStart, p.tokenOffset, p.tokenEnd])).toEqual([
      [0, 0, 41],
      [0, 38, 91],
      [25, 88, 191],
      [125, 188, 291],
      [225, 288, 391],
      [325, 388, 491],
      [425, 488, 591],
      [525, 588, 600],
    ]);
    for (const p of plans) {
      expect(p.contextStart % 25).toBe(0);
      expect(p.tokenOffset - p.contextStart).toBeGreaterThanOrEqual(Math.min(50, p.tokenOffset));
      if (p.contextStart > 0) expect(p.tokenOffset - p.contextStart).toBeLessThan(75);
      // flat cost: tokens passed ≤ K + chunk + maxHop + look-ahead
      expect(p.tokenEnd - p.contextStart).toBeLessThanOrEqual(50 + 25 + 100 + 3);
    }
    // the offsets are the unbounded schedule's
    expect(rows(plans)).toEqual(rows(streamSchedule(600, { promptTokens: 87 })));
  });
});
