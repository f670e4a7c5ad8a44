/** Small helpers for tests that collect streamed audio. */

/** Every value of an async iterable, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Every value of a generator, in order, and what it returns. */
export async function collectWithResult<T, R>(items: AsyncGenerator<T, R>): Promise<{ values: T[]; result: R }> {
  const values: T[] = [];
  let step = await items.next();
  for (; step.done !== true; step = await items.next()) values.push(step.value);
  return { values, result: step.value };
}

/** The samples of consecutive chunks, joined. */
export function joinSamples(chunks: ReadonlyArray<{ readonly samples: Float32Array }>): Float32Array {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.samples.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c.samples, at);
    at += c.samples.length;
  }
  return out;
}

/** Every `stride`-th sample of `samples`, from the first (how the request goldens store waves). */
export function strided(samples: ArrayLike<number>, stride: number): Float32Array {
  const out = new Float32Array(Math.ceil(samples.length / stride));
  for (let i = 0; i < out.length; i++) out[i] = samples[i * stride] as number;
  return out;
}
