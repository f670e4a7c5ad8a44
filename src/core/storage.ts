/** Persistent-storage request for the model cache (main thread). */

/**
 * Asks the browser to keep our cached models under storage pressure (`navigator.storage.persist()`); browsers may
 * grant it silently or after engagement. Resolves whether storage is persistent; never throws.
 */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (storage?.persist === undefined) return false;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}
