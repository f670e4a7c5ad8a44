/**
 * Lets the realm's event loop run between inference steps, so an abort from a timer (`AbortSignal.timeout`), a UI
 * event or a worker's `cancel()` message takes effect within one step. onnxruntime-web's wasm runs resolve through
 * microtasks only, so without this a whole request would run without timers or messages (issue #13: a 10 ms
 * interval ticked zero times during a 640 ms synthesis).
 *
 * A macrotask, not a microtask (a resolved promise lets no timer run). Not `scheduler.yield()` either: its
 * continuation has a higher priority than ordinary tasks, and in a Chromium worker a loop yielding with it starved
 * both `setTimeout` callbacks and incoming `postMessage`s (probe: 50 steps of 4 ms, neither ran; with a
 * `MessageChannel` both ran after the first step). `setImmediate` in Node (its check phase comes after the timers
 * phase of each loop turn), one reused `MessageChannel` elsewhere (browsers clamp nested `setTimeout(0)` to 4 ms).
 */

type Resume = () => void;

/** The part of a `MessageChannel` used here (the realm's own; this module is typed for every realm). */
interface Wakeup {
  readonly port1: { onmessage: ((event: never) => void) | null };
  readonly port2: { postMessage(message: null): void };
}

let channel: { readonly port: Wakeup['port2']; readonly waiting: Resume[] } | undefined;

function viaMessageChannel(): Promise<void> {
  if (channel === undefined) {
    // Node's typings describe its own MessagePort (an EventEmitter); this path runs only where the DOM one exists
    const created = new MessageChannel() as unknown as Wakeup;
    const waiting: Resume[] = [];
    created.port1.onmessage = () => waiting.shift()?.();
    channel = { port: created.port2, waiting };
  }
  const { port, waiting } = channel;
  return new Promise<void>((resolve) => {
    waiting.push(resolve);
    port.postMessage(null);
  });
}

const setImmediateFn = (globalThis as { setImmediate?: (callback: Resume) => unknown }).setImmediate;

/**
 * Resolves in a later macrotask of this realm, after pending timers and messages had their turn.
 *
 * @example
 * ```ts
 * for (const step of steps) { await yieldToEventLoop(); signal?.throwIfAborted(); await run(step); }
 * ```
 */
export function yieldToEventLoop(): Promise<void> {
  if (setImmediateFn !== undefined) return new Promise<void>((resolve) => setImmediateFn(resolve));
  return viaMessageChannel();
}

/**
 * Yields to the event loop (unless `enabled` is false), then throws the signal's reason when it was aborted meanwhile.
 * The one call the decode loops make between steps.
 */
export async function yieldAndCheck(signal: AbortSignal | undefined, enabled = true): Promise<void> {
  if (enabled) await yieldToEventLoop();
  signal?.throwIfAborted();
}
