/**
 * Page side of the service worker (sw.ts): registers it, makes the page cross-origin isolated with at most one
 * reload, and reports a waiting update or, at the start of the next load, applies it.
 *
 * Isolation: a page only gets `crossOriginIsolated` when its own document response carried COOP/COEP, i.e. when the
 * service worker served it. That is not the case on the very first visit (no worker yet) nor after a hard reload
 * (Shift+Reload bypasses the worker). In both cases, once the worker is active, the page loads itself again, once:
 * a marker in the URL (`?isolating`) says it already tried, so should the browser refuse isolation anyway the page
 * goes on without it (MessagePort playback, single-threaded WASM) instead of looping. Once isolated, the marker is
 * removed from the address bar. The marker lives in the URL rather than in sessionStorage because the storage a page
 * sees changes when COOP moves it into another browsing context group.
 */
import { messageSW, Workbox } from 'workbox-window';
import { APPLY_IF_ALONE } from './messages.ts';

const RETRY_MARKER = 'isolating';

/** What the page does about isolation. */
export type IsolationState =
  /** The page is cross-origin isolated. */
  | 'isolated'
  /** It loads itself again now to become isolated: start nothing. */
  | 'reloading'
  /** A new version waited and now takes over; the page loads itself again under it: start nothing. */
  | 'updating'
  /** It already tried once and is still not isolated, or has no service worker: it runs without isolation. */
  | 'not-isolated';

/** Hooks of {@link startServiceWorker}. */
export interface ServiceWorkerHooks {
  /** A new version is installed and waits; `apply()` activates it and reloads the page. */
  readonly onUpdateWaiting: (apply: () => void) => void;
  /** A version that waited takes over as this page starts; the page reloads under it once it controls the page. */
  readonly onTakingOver: () => void;
}

/**
 * Registers `sw.js` (next to the page, scope = the page's directory) and settles isolation. Resolves at once when the
 * page is already isolated; otherwise after the worker is active (first visit: after its precache is installed).
 */
export async function startServiceWorker(hooks: ServiceWorkerHooks): Promise<IsolationState> {
  const url = new URL(location.href);
  const retried = url.searchParams.has(RETRY_MARKER);
  url.searchParams.delete(RETRY_MARKER);
  if (crossOriginIsolated && retried) history.replaceState(history.state, '', url);
  if (!('serviceWorker' in navigator)) return crossOriginIsolated ? 'isolated' : 'not-isolated';
  const workbox = new Workbox(new URL('sw.js', document.baseURI).href, { scope: './' });
  workbox.addEventListener('waiting', (event) => {
    // a version that already waited when this page started is handled after register() below
    if (event.wasWaitingBeforeRegister !== true) announceUpdate(workbox, hooks);
  });
  const registration = await workbox.register();
  const waiting = registration?.waiting ?? null;
  if (waiting !== null) {
    if (await takeOverIfAlone(waiting, hooks)) return 'updating';
    announceUpdate(workbox, hooks);
  }
  if (crossOriginIsolated) return 'isolated';
  await navigator.serviceWorker.ready;
  if (retried) return 'not-isolated';
  // a new navigation rather than location.reload(), so the marker travels with it
  url.searchParams.set(RETRY_MARKER, '');
  location.replace(url);
  return 'reloading';
}

/** Tells the user that a new version waits; applying it activates it and reloads the page. */
function announceUpdate(workbox: Workbox, hooks: ServiceWorkerHooks): void {
  hooks.onUpdateWaiting(() => {
    workbox.addEventListener('controlling', () => {
      location.reload();
    });
    workbox.messageSkipWaiting();
  });
}

/**
 * A version that already waited when this page started: the user reloaded (or came back), nothing plays yet, so the
 * new version takes over now — unless another window of the app is open (it may be speaking), which only the service
 * worker can tell. Once it controls the page (its activation claims it), the page loads itself again so that the code
 * that runs is the new version's: the old page must not run under the new worker, whose precache no longer holds the
 * old page's lazily loaded files.
 *
 * Until then the page fetches nothing. Chromium activates the new version once the old worker is idle and stops it
 * as soon as it is; a request to the old worker after that starts it again with its full 30 s idle timeout, which is
 * what delayed the activation by half a minute when the favicon's request came late (the favicon is inline in
 * index.html for that reason).
 */
async function takeOverIfAlone(waiting: ServiceWorker, hooks: ServiceWorkerHooks): Promise<boolean> {
  const controlled = new Promise<void>((resolve) => {
    navigator.serviceWorker.addEventListener(
      'controllerchange',
      () => {
        resolve();
      },
      { once: true },
    );
  });
  if ((await messageSW(waiting, APPLY_IF_ALONE)) !== true) return false;
  hooks.onTakingOver();
  await controlled;
  location.reload();
  return true;
}
