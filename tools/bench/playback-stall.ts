/**
 * How long a player would wait for audio during a streamed request: playback starts when the first chunk arrives and
 * plays every chunk right after the previous one; a chunk that arrives after its turn stalls playback until it comes.
 * Used by the browser benchmark (the cost of holding the LM back, if any, shows here).
 */

/** A chunk's arrival (ms from the request's start) and length (s). */
export interface ChunkArrival {
  readonly atMs: number;
  readonly seconds: number;
}

/** Total stall in ms (0 when every chunk was there in time). */
export function playbackStallMs(chunks: readonly ChunkArrival[]): number {
  const [first, ...rest] = chunks;
  if (first === undefined) return 0;
  let stall = 0;
  let playedUntil = first.atMs + first.seconds * 1000; // when the audio so far has been played
  for (const chunk of rest) {
    const wait = Math.max(0, chunk.atMs - playedUntil);
    stall += wait;
    playedUntil += wait + chunk.seconds * 1000;
  }
  return stall;
}
