/** Messages between the page (register.ts) and the service worker (sw.ts) beyond Workbox's own `SKIP_WAITING`. */

/** "Take over now if I am the app's only window" (sent by a page that starts while a version waits); reply: boolean. */
export const APPLY_IF_ALONE = { type: 'APPLY_IF_ALONE' } as const;
