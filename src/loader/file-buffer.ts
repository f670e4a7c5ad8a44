/**
 * The one buffer a whole model file needs (a download, or a decoded compressed file): a file that memory cannot hold
 * is the one storage failure nothing can work around, so it becomes a typed error saying what to do, not a RangeError.
 */
import { TTSError } from '../errors.ts';

/**
 * A zeroed buffer of `bytes` for the file `name`, which the caller is about to `action` ("hold", "decode").
 *
 * @throws {TTSError} ERR_STORAGE_QUOTA when memory cannot hold it, with `details` (plus `bytes`)
 */
export function fileBuffer(
  bytes: number,
  name: string,
  action: string,
  details: Readonly<Record<string, unknown>>,
): Uint8Array {
  try {
    return new Uint8Array(bytes);
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new TTSError(
      'ERR_STORAGE_QUOTA',
      `${name}: not enough memory to ${action} the file (${bytes} bytes): ${cause.message}. Close other tabs, or use a smaller variant of the model (e.g. int8 or q4).`,
      { cause, details: { ...details, bytes } },
    );
  }
}
