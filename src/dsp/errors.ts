/**
 * Error helper for the DSP layer.
 *
 * The project's typed `TTSError` lives outside `src/dsp` (which may import nothing inside the package), so DSP code
 * throws a plain `Error` whose message starts with the code and which carries the same code in `error.code`. The
 * messages always say what was wrong and what is allowed.
 *
 * @module
 */

/** Error codes thrown by `src/dsp`. */
export type DspErrorCode = 'ERR_INVALID_INPUT';

/** An `Error` with a machine-readable `code`, as thrown by every function in `src/dsp`. */
export interface DspError extends Error {
  /** Machine-readable error code, also the prefix of `message`. */
  readonly code: DspErrorCode;
}

/**
 * Builds the error thrown for invalid arguments or unsupported data.
 *
 * @param detail - what was wrong and what is allowed
 * @returns an `Error` with `code === 'ERR_INVALID_INPUT'` and message `"ERR_INVALID_INPUT: " + detail`
 */
export function invalidInput(detail: string): DspError {
  const error = new Error(`ERR_INVALID_INPUT: ${detail}`) as Error & { code: DspErrorCode };
  error.code = 'ERR_INVALID_INPUT';
  return error;
}
