/** Test helpers for the playback code: a seeded PRNG and exactly representable sequence values. */

/** mulberry32: a tiny seeded PRNG with 32-bit state; `next()` is uniform in [0, 1). */
export function prng(seed: number): { next(): number; int(maxExclusive: number): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (maxExclusive) => Math.floor(next() * maxExclusive) };
}

/** The i-th value of a test sequence: distinct, exactly representable in float32, never 0. */
export function seq(i: number): number {
  return ((i % 8_388_607) + 1) / 8_388_608;
}

/** Float32 array `[seq(start), …, seq(start + length - 1)]`. */
export function seqArray(start: number, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = seq(start + i);
  return out;
}
