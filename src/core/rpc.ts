/**
 * comlink glue shared by the main thread and the workers: a `"throw"` transfer handler that carries our error codes
 * and details across threads (comlink's default keeps only message/name/stack, so a `TTSError` would arrive as a
 * plain `Error`; house style §8 rule 3). Installed once per realm by {@link installRpc}.
 */
import * as Comlink from 'comlink';
import { deserializeError, serializeError } from '../errors.ts';
import type { SerializedError } from '../errors.ts';

const throwMarker = Symbol.for('cosyvoice-web.rpc-installed');

interface ThrownValue {
  readonly value: unknown;
}

/** Replaces comlink's `"throw"` handler (idempotent). */
export function installRpc(): void {
  const g = globalThis as { [throwMarker]?: boolean };
  if (g[throwMarker] === true) return;
  g[throwMarker] = true;
  const original = Comlink.transferHandlers.get('throw');
  if (original === undefined) return;
  Comlink.transferHandlers.set('throw', {
    canHandle: (value: unknown): value is ThrownValue => original.canHandle(value),
    serialize: (thrown: unknown) => [serializeError((thrown as ThrownValue).value), []],
    deserialize: (data: unknown) => {
      throw deserializeError(data as SerializedError);
    },
  });
}

export { Comlink };
