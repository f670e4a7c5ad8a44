/**
 * Explains a recording of what the `'tts-playback-v1'` worklet output in terms of the audio it was given, by the
 * player's documented output law (workers/worklet/playback.worklet.ts), and nothing else:
 *
 * - silence (exact zeros) until playback starts (the pre-roll; the recording also starts before the request);
 * - then a run of source frames, bit for bit (float32 in, float32 out: no gain, no resampling at 24 kHz);
 * - a run ends when the buffer runs dry (an underrun, or the end of the stream): the last output sample ramps
 *   linearly to zero over `fadeFrames`, then silence;
 * - the next run (after an underrun) continues with the next source frame, its first `fadeFrames` faded in;
 * - after the last source frame: the ramp, then silence to the end of the recording.
 *
 * The walk is exact: every recorded sample must be a source frame (the next one, never an earlier or a later one),
 * a ramp value, or a zero. So a reordered, repeated, dropped or zeroed stretch of audio is reported at the first
 * sample where it shows, and "nothing lost" is `consumed === source.length`.
 */

/** One stretch of source audio played without interruption. */
export interface PlayedRun {
  /** Index in the recording of its first sample. */
  readonly at: number;
  /** Index in the source of its first frame. */
  readonly from: number;
  /** Frames played. */
  readonly length: number;
}

/** What {@link explainPlayback} found. */
export interface PlayedAudio {
  readonly runs: readonly PlayedRun[];
  /** Source frames played, in order (the source's length when nothing was lost). */
  readonly consumed: number;
  /** The first recorded sample the law cannot explain (undefined when every sample is explained). */
  readonly mismatch?: { readonly at: number; readonly got: number; readonly expected: string };
}

/** The worklet's fade-out ramp value `k` frames after the last output sample `from` (the same float arithmetic). */
export const fadeOutValue = (from: number, fade: number, k: number): number =>
  Math.fround(from * ((fade - k - 1) / fade));

/** The worklet's fade-in of the `k`-th frame of a restarted run (the same float arithmetic). */
export const fadeInValue = (x: number, fade: number, k: number): number =>
  k < fade ? Math.fround(x * ((k + 1) / fade)) : x;

/**
 * Walks `recorded` against `source` (see the module comment).
 *
 * @param fadeFrames - the player's `fadeFrames` (at the context rate, which equals the source rate here).
 */
export function explainPlayback(recorded: Float32Array, source: Float32Array, fadeFrames: number): PlayedAudio {
  const runs: PlayedRun[] = [];
  let i = 0; // recording position
  let j = 0; // source position
  const fail = (at: number, expected: string): PlayedAudio => ({
    runs,
    consumed: j,
    mismatch: { at, got: recorded[at] ?? Number.NaN, expected },
  });
  while (j < source.length) {
    // Silence until the next run: the run starts at the first nonzero sample, less any exact zeros the source
    // itself has there (those are indistinguishable from the silence before them).
    let nonzero = i;
    while (nonzero < recorded.length && recorded[nonzero] === 0) nonzero++;
    if (nonzero === recorded.length) return fail(nonzero, `source frame ${j} (the recording ends: frames lost)`);
    let sourceZeros = 0;
    while (j + sourceZeros < source.length && source[j + sourceZeros] === 0) sourceZeros++;
    const at = Math.max(i, nonzero - sourceZeros);
    const fadeIn = runs.length > 0; // a stream's first start is not faded; a restart after an underrun is
    let p = at;
    let q = j;
    while (p < recorded.length && q < source.length) {
      const x = source[q] as number;
      if (recorded[p] !== (fadeIn ? fadeInValue(x, fadeFrames, q - j) : x)) break;
      p++;
      q++;
    }
    if (q === j) return fail(at, `source frame ${j}${fadeIn ? ' faded in' : ''}`);
    runs.push({ at, from: j, length: q - j });
    j = q;
    // The run ended: the ramp down from the last output sample, which must fit in the recording.
    const from = recorded[p - 1] as number;
    for (let k = 0; k < fadeFrames; k++) {
      const expected = fadeOutValue(from, fadeFrames, k);
      if (recorded[p + k] !== expected) {
        return fail(p + k, `source frame ${j} or fade-out value ${expected} (${k + 1}/${fadeFrames} of the ramp)`);
      }
    }
    i = p + fadeFrames;
  }
  for (; i < recorded.length; i++) if (recorded[i] !== 0) return fail(i, 'silence after the last source frame');
  return { runs, consumed: j };
}
