/**
 * The one chunk type of the library (Node `Engine` and browser `CosyVoice` alike), and the numbering that turns the
 * pipeline's pieces into it: running index, start time in the request's audio, and the closing `final` chunk.
 */

/** A piece of synthesised audio. */
export interface AudioChunk {
  /** Mono samples in [−0.99, 0.99]. */
  readonly samples: Float32Array;
  readonly sampleRate: number;
  /** Chunk number within the request, from 0. */
  readonly index: number;
  /** Text segment this chunk belongs to (long text is split, spec §1.6; a text stream is one segment). */
  readonly segment: number;
  /** Text of that segment as spoken (after normalisation: numbers read out…); '' for a text stream. */
  readonly text: string;
  /** Where the chunk starts in the request's audio, in seconds (the samples of all earlier chunks). */
  readonly startTime: number;
  /** Last chunk of its segment. */
  readonly segmentEnd: boolean;
  /**
   * Last chunk of the request. Known when the chunk is made, so no chunk is held back to find out; should the last
   * segment make no audio at all, an empty chunk carries the flag.
   */
  readonly final: boolean;
}

/** What the pipeline knows of a piece of audio; the rest is numbering. */
export type ChunkPiece = Pick<AudioChunk, 'samples' | 'segment' | 'text' | 'segmentEnd' | 'final'>;

/** Numbers the chunks of one request. */
export class ChunkCounter {
  #index = 0;
  #samples = 0;
  #previous: AudioChunk | undefined;

  constructor(readonly sampleRate: number) {}

  /** Samples counted so far. */
  get samples(): number {
    return this.#samples;
  }

  /** The public chunk of the next piece. */
  next(piece: ChunkPiece): AudioChunk {
    const chunk: AudioChunk = {
      ...piece,
      sampleRate: this.sampleRate,
      index: this.#index++,
      startTime: this.#samples / this.sampleRate,
    };
    this.#samples += piece.samples.length;
    this.#previous = chunk;
    return chunk;
  }

  /** An empty `final` chunk when the request ended without one having been marked (else `undefined`). */
  closing(): AudioChunk | undefined {
    const previous = this.#previous;
    if (previous === undefined || previous.final) return undefined;
    return this.next({ ...previous, samples: new Float32Array(0), segmentEnd: true, final: true });
  }
}
