/**
 * Why the model cache could not keep a file. A leaf module, so the loader (which meets the failure) and the event
 * union (which reports it) share the set without importing each other.
 */

/**
 * - `quota`: the browser's storage quota refused the bytes (a full disk, or a private window's small in-memory quota);
 * - `unavailable`: the cache cannot be used here at all (no Cache API, e.g. an insecure context, or the browser
 *   refused to open it);
 * - `error`: the cache failed to read or write (e.g. Chromium's "Unexpected internal error" in an off-the-record
 *   profile).
 */
export const STORAGE_FAILURE_REASONS = ['quota', 'unavailable', 'error'] as const;
/** One of {@link STORAGE_FAILURE_REASONS}. */
export type StorageFailureReason = (typeof STORAGE_FAILURE_REASONS)[number];

/** A cache failure the load survived: the files are used from memory and downloaded again next time. */
export interface StorageFailure {
  readonly reason: StorageFailureReason;
  /** What failed, in words (including the browser's own error). */
  readonly message: string;
}
