/** Tiny DOM helpers shared by the demo's UI modules. */

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed getElementById, on purpose
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`demo: no element #${id}`);
  return element as T;
}

/** Sets the text of a status line. */
export function setStatus(id: string, text: string): void {
  $(id).textContent = text;
}

/**
 * Click handler that reports a failure in the status line `statusId` as a plain sentence (errors.ts) instead of
 * leaving an unhandled rejection.
 */
export function onClick(id: string, statusId: string, handler: () => Promise<void> | void): void {
  $(id).addEventListener('click', () => {
    Promise.resolve(handler()).catch((error: unknown) => {
      setStatus(statusId, describeError(error));
    });
  });
}

/** Megabytes with one decimal. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The library's error codes, as the advice a user can act on. */
const ADVICE: Readonly<Record<string, string>> = {
  ERR_UNSUPPORTED_ENV: 'This browser lacks something the app needs; try a current Chrome, Edge or Firefox.',
  ERR_NOT_ISOLATED: 'This needs a cross-origin isolated page; reload the page once.',
  ERR_DEVICE_UNAVAILABLE: 'WebGPU is not available here; choose WASM as the device and load again.',
  ERR_ASSET_FETCH: 'A file could not be downloaded; check the connection and the model URL, then try again.',
  ERR_ASSET_INTEGRITY: 'A downloaded file was damaged (its checksum did not match); load again to fetch it anew.',
  ERR_STORAGE_QUOTA:
    'The browser has no room left for the model; delete the cached model or free disk space, then load again.',
  ERR_MODEL_FORMAT: 'The model package is not one this version understands; check the model URL.',
  ERR_SESSION_CREATE: 'The model could not be started on this device; try the WASM device.',
  ERR_INFERENCE: 'The model failed while running; try again, or load it on the WASM device.',
  ERR_WORKER_CRASHED: 'A background worker stopped (often out of memory); load the model again.',
  ERR_INVALID_INPUT: 'Check the input and try again.',
  ERR_DISPOSED: 'The model was unloaded; load it again.',
};

/** An error as a plain sentence: what went wrong, then what to do. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const advice = typeof code === 'string' ? ADVICE[code] : undefined;
  if ((error as { name?: unknown } | null)?.name === 'QuotaExceededError')
    return `${message} ${ADVICE['ERR_STORAGE_QUOTA'] ?? ''}`;
  if ((error as { name?: unknown } | null)?.name === 'NotAllowedError')
    return "The microphone is blocked; allow it in the browser's site settings, or choose a file instead.";
  return advice === undefined ? message : `${message} ${advice}`;
}
