/** A text stream for bistream tests that stops in the middle until the test lets it go on. */

/** See {@link heldText}. */
export interface HeldText {
  /** The text pieces: `opening`, then (once released) `rest`. */
  readonly stream: AsyncIterable<string>;
  /** Lets the stream go on with `rest` and end. */
  release(): void;
  /** Whether {@link HeldText.release} has been called. */
  released(): boolean;
}

/**
 * A text stream that yields `opening`, then waits for {@link HeldText.release} before yielding `rest` and ending:
 * whatever a consumer receives before the release was made from the opening text alone, so "audio starts before
 * the text is complete" is a fact the test observes, not a timing.
 */
export function heldText(opening: readonly string[], rest: readonly string[]): HeldText {
  let release = (): void => undefined;
  let isReleased = false;
  const gate = new Promise<void>((resolve) => {
    release = () => {
      isReleased = true;
      resolve();
    };
  });
  async function* pieces(): AsyncGenerator<string> {
    yield* opening;
    await gate;
    yield* rest;
  }
  return { stream: pieces(), release, released: () => isReleased };
}
