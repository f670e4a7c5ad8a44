/**
 * The library's one error class. Every failure the user can act on is a {@link TTSError} with a stable `code`;
 * cancellation is the `AbortSignal`'s own reason (an `AbortError` `DOMException`), never wrapped.
 *
 * Errors cross worker boundaries as plain objects ({@link serializeError} / {@link deserializeError}) because class
 * identity does not survive `structuredClone`.
 */

/** Stable error codes. */
export const TTS_ERROR_CODES = [
  'ERR_UNSUPPORTED_ENV',
  'ERR_NOT_ISOLATED',
  'ERR_DEVICE_UNAVAILABLE',
  'ERR_ASSET_FETCH',
  'ERR_ASSET_INTEGRITY',
  'ERR_STORAGE_QUOTA',
  'ERR_MODEL_FORMAT',
  'ERR_SESSION_CREATE',
  'ERR_INFERENCE',
  'ERR_WORKER_CRASHED',
  'ERR_INVALID_INPUT',
  'ERR_DISPOSED',
] as const;

/** One of {@link TTS_ERROR_CODES}. */
export type TTSErrorCode = (typeof TTS_ERROR_CODES)[number];

/** Extra, structured facts about an error (URL, status, expected and actual values…). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Options of the {@link TTSError} constructor. */
export interface TTSErrorOptions {
  /** The underlying error. */
  readonly cause?: unknown;
  /** Structured facts for programmatic handling. */
  readonly details?: ErrorDetails;
}

/**
 * An error raised by cosyvoice-web. Messages say what failed, what was received and what is allowed.
 *
 * @example
 * ```ts
 * try { await tts.synthesize(text) } catch (e) { if (e instanceof TTSError && e.code === 'ERR_INVALID_INPUT') … }
 * ```
 */
export class TTSError extends Error {
  override readonly name = 'TTSError';
  /** Stable machine-readable code. */
  readonly code: TTSErrorCode;
  /** Structured facts (never large data). */
  readonly details: ErrorDetails | undefined;

  constructor(code: TTSErrorCode, message: string, options: TTSErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}

/** True for the rejection of an aborted operation (`DOMException` named `AbortError`, or any error so named). */
export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/** Throws the signal's reason when it is aborted (the standard `signal.throwIfAborted()`, tolerant of `undefined`). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  signal?.throwIfAborted();
}

/** Structured-clone-safe form of an error. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: TTSErrorCode;
  readonly stack?: string;
  readonly details?: ErrorDetails;
  readonly cause?: string;
}

/** Converts any thrown value into a {@link SerializedError} (the cause is summarised as text). */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof TTSError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(error.details === undefined ? {} : { details: error.details }),
      ...(error.cause === undefined ? {} : { cause: describe(error.cause) }),
    };
  }
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(error.cause === undefined ? {} : { cause: describe(error.cause) }),
    };
  }
  return { name: 'Error', message: describe(error) };
}

/** Rebuilds a thrown value from {@link serializeError}: a `TTSError`, an `AbortError` `DOMException`, or an `Error`. */
export function deserializeError(data: SerializedError): Error {
  if (data.name === 'AbortError') return new DOMException(data.message, 'AbortError');
  const error =
    data.code === undefined
      ? Object.assign(new Error(data.message), { name: data.name })
      : new TTSError(data.code, data.message, {
          ...(data.cause === undefined ? {} : { cause: data.cause }),
          ...(data.details === undefined ? {} : { details: data.details }),
        });
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Shorthand for an {@link TTSError} with code `ERR_INVALID_INPUT`. */
export function invalidInput(message: string, details?: ErrorDetails): TTSError {
  return new TTSError('ERR_INVALID_INPUT', message, details === undefined ? {} : { details });
}

/**
 * The `TTSError` for an error thrown by `src/dsp` (which cannot import this module, so it throws a plain `Error` with
 * a `code` and the code as the message prefix); any other error is returned unchanged.
 */
export function fromDspError(error: unknown): unknown {
  if (error instanceof TTSError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !(TTS_ERROR_CODES as readonly string[]).includes(code)) return error;
  const message = error.message.startsWith(`${code}: `) ? error.message.slice(code.length + 2) : error.message;
  return new TTSError(code as TTSErrorCode, message, { cause: error });
}

/** `ERR_MODEL_FORMAT` for a package file that cannot be read as what it should be (names the file and the reason). */
export function modelFormatError(file: string, what: string, cause: unknown): TTSError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TTSError('ERR_MODEL_FORMAT', `${file} is not ${what} (${reason}).`, { cause, details: { file } });
}
