/**
 * Saved voices in IndexedDB (idb-keyval): the voice file (`saveVoice` bytes, what cloning produced) and the trimmed
 * prompt as WAV (to play it back). They survive reloads and work offline.
 */
import { createStore, del, get, set, values } from 'idb-keyval';

/** A saved voice. */
export interface SavedVoice {
  readonly id: string;
  readonly name: string;
  /** Milliseconds since the epoch. */
  readonly created: number;
  /** The voice file (`CosyVoice.saveVoice`). */
  readonly voice: Uint8Array<ArrayBuffer>;
  /** The prompt it was cloned from, as WAV; absent for an imported voice file. */
  readonly prompt?: Blob;
}

const store = createStore('cosyvoice-demo', 'voices');

/** Every saved voice, oldest first. */
export async function listVoices(): Promise<SavedVoice[]> {
  return (await values<SavedVoice>(store)).sort((a, b) => a.created - b.created);
}

export async function saveVoice(voice: Omit<SavedVoice, 'id' | 'created'>): Promise<SavedVoice> {
  const saved: SavedVoice = { ...voice, id: crypto.randomUUID(), created: Date.now() };
  await set(saved.id, saved, store);
  return saved;
}

export async function renameVoice(id: string, name: string): Promise<void> {
  const saved = await get<SavedVoice>(id, store);
  if (saved !== undefined) await set(id, { ...saved, name }, store);
}

export async function deleteVoice(id: string): Promise<void> {
  await del(id, store);
}
