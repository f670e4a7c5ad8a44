/** SHA-256 via Web Crypto (available in browsers' secure contexts, workers and Node ≥ 19). */
import { TTSError } from '../errors.ts';

/** Lower-case hex SHA-256 of `data`. */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  // structural type: the realm's lib (DOM, WebWorker, or Node) decides where `Crypto` is declared
  const subtle = (
    globalThis as { crypto?: { subtle?: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } } }
  ).crypto?.subtle;
  if (subtle === undefined) {
    throw new TTSError(
      'ERR_UNSUPPORTED_ENV',
      'Web Crypto (crypto.subtle) is unavailable: model integrity cannot be verified. Serve the page over HTTPS or localhost.',
    );
  }
  const digest = await subtle.digest('SHA-256', data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
