/**
 * Cleanup for an object the caller drops without finishing it: a `stream()` iterator abandoned without `return()`
 * is suspended at a `yield`, so its `finally` never runs and the engine it holds would stay busy for good.
 *
 * Why a `FinalizationRegistry` and not an idle timeout: a slow consumer (a UI that waits for playback between chunks,
 * a server writing to a slow client) is not an abandoned one, and no timeout is right for every consumer — a timeout
 * would cancel live requests. Collection proves the iterator can never be resumed, so releasing then is always
 * safe. It happens late (when the collector runs), which only delays the next request of a caller that forgot to
 * close its iterator; closing it (`break`, `return()`) releases at once.
 */
const registry = new FinalizationRegistry<() => void>((cleanup) => {
  cleanup();
});

/**
 * Runs `cleanup` once `target` has been garbage-collected, unless the returned function is called first (when the
 * work finished normally). `cleanup` must not reference `target`, or it would keep it alive.
 */
export function onDropped(target: object, cleanup: () => void): () => void {
  const token = {};
  registry.register(target, cleanup, token);
  return () => {
    registry.unregister(token);
  };
}
