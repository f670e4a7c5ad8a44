/**
 * The demo's one service worker: precaches the app (Workbox), serves it offline, and adds the cross-origin isolation
 * headers to every same-origin response it serves, so that a static host that cannot set headers still gets
 * `crossOriginIsolated` pages (SharedArrayBuffer playback, threaded wasm). Updates wait until the page asks
 * (`SKIP_WAITING`, or at the start of the next load `APPLY_IF_ALONE`, see register.ts), so a new version never
 * replaces a running one mid-utterance.
 */
/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, matchPrecache, precache } from 'workbox-precaching';
import { CacheFirst } from 'workbox-strategies';
import { withIsolationHeaders } from './isolation-headers.ts';
import { APPLY_IF_ALONE } from './messages.ts';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | { url: string; revision: string | null })[] };

precache(self.__WB_MANIFEST);
cleanupOutdatedCaches();
clientsClaim();

/** Same-origin files that are not precached but worth keeping once fetched (the WebGPU build's wasm). */
const onFirstUse = new CacheFirst({ cacheName: 'cosyvoice-demo-runtime' });

self.addEventListener('message', (event) => {
  const type = (event.data as { type?: unknown } | null)?.type;
  if (type === 'SKIP_WAITING') void self.skipWaiting();
  else if (type === APPLY_IF_ALONE.type) event.waitUntil(applyIfAlone(event.ports[0]));
});

/**
 * Takes over when the page asking is the app's only window (it has just loaded and plays nothing yet); answers
 * whether it did. With other windows open it keeps waiting: one of them may be speaking.
 */
async function applyIfAlone(reply: MessagePort | undefined): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const alone = windows.length <= 1;
  if (alone) await self.skipWaiting();
  reply?.postMessage(alone);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  // Cross-origin requests (a model on another host) go to the network untouched: they are CORS fetches, which COEP
  // allows without extra headers.
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  event.respondWith(respond(event, request, url));
});

async function respond(event: FetchEvent, request: Request, url: URL): Promise<Response> {
  const response =
    (await matchPrecache(isAppPage(request, url) ? 'index.html' : request.url)) ??
    (url.pathname.endsWith('.wasm') ? await onFirstUse.handle({ event, request }) : await fetch(request));
  return withIsolationHeaders(response);
}

/** A navigation to the app itself (its directory or index.html, with any query such as `?model=`). */
function isAppPage(request: Request, url: URL): boolean {
  if (request.mode !== 'navigate') return false;
  const scope = new URL(self.registration.scope).pathname;
  return url.pathname === scope || url.pathname === `${scope}index.html`;
}
