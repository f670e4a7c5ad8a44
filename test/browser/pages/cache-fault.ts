/**
 * Test hook: a Cache API that cannot store, as browsers fail in private windows (`internal`: Chromium's "Unexpected
 * internal error") or with a full quota (`quota`). The page installs it in itself; each test worker bundle installs the
 * fault its URL names (`?cacheFault=…`), because nothing the page does reaches its workers' realms.
 */

/** The faults the hook can make `Cache.prototype.put` reject with. */
export const CACHE_FAULTS = ['internal', 'quota'] as const;
export type CacheFault = (typeof CACHE_FAULTS)[number];

function faultError(fault: CacheFault): DOMException {
  return fault === 'quota'
    ? new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    : new DOMException("Failed to execute 'put' on 'Cache': Unexpected internal error.", 'UnknownError');
}

/** Makes every `Cache.put` of this realm reject with the fault; counts the attempts in `cacheFaultPuts`. */
export function installCacheFault(fault: CacheFault): void {
  const realm = globalThis as { cacheFaultPuts?: number };
  realm.cacheFaultPuts = 0;
  Cache.prototype.put = function put(): Promise<void> {
    realm.cacheFaultPuts = (realm.cacheFaultPuts ?? 0) + 1;
    return Promise.reject(faultError(fault));
  };
}

/** Installs the fault named by `?cacheFault=` in `url` (a worker's own URL), if any. */
export function installCacheFaultOfUrl(url: string): void {
  const named = new URL(url).searchParams.get('cacheFault');
  const fault = CACHE_FAULTS.find((f) => f === named);
  if (fault !== undefined) installCacheFault(fault);
}
