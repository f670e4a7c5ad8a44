/**
 * Storage facts of the model panel: used and available space (`navigator.storage.estimate()`) and whether the browser
 * keeps our data under storage pressure (`persist()`).
 */
import { requestPersistentStorage } from 'cosyvoice-web';
import type { LoadProgressEvent } from 'cosyvoice-web';
import { mb } from './dom.ts';

export async function describeStorage(): Promise<string> {
  const estimate = await navigator.storage.estimate();
  const used = estimate.usage ?? 0;
  const quota = estimate.quota ?? 0;
  return `Storage: ${mb(used)} used of ${mb(quota)} available to this site.`;
}

export async function describePersistence(): Promise<string> {
  return (await requestPersistentStorage())
    ? 'Storage is persistent: the browser will not evict the cached model under storage pressure.'
    : 'Storage is not persistent (the browser decides; installing the app or using it more often helps): the cached model may be evicted when space runs low.';
}

/** The library's `storage` warning as a plain sentence: the model works now but was not kept. */
export function describeStorageWarning(event: Extract<LoadProgressEvent, { type: 'storage' }>): string {
  const why =
    event.reason === 'quota'
      ? 'it has no room left for it (a private window has very little)'
      : event.reason === 'unavailable'
        ? 'its cache cannot be used on this page'
        : 'its cache failed (this happens in private windows)';
  return `The browser did not keep the model because ${why}, so it will be downloaded again next time.`;
}
