/**
 * Small checks shared by the runners: token ids before they go into a graph, float32 outputs after a run (host
 * memory). No tensor classes: typed arrays in, typed arrays out.
 */
import { invalidInput, TTSError } from '../errors.ts';
import type { TensorMap } from './session.ts';

/**
 * Checks that every id is an integer in `[0, limit)` (or non-negative without a limit).
 *
 * @throws {TTSError} ERR_INVALID_INPUT naming the first bad id, e.g. `promptTokens[3] = 9999: ids must be integers in [0, 6561).`
 */
export function checkIds(ids: ArrayLike<number>, name: string, limit?: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === undefined || !Number.isInteger(id) || id < 0 || (limit !== undefined && id >= limit)) {
      const range = limit === undefined ? 'non-negative integers' : `integers in [0, ${limit})`;
      throw invalidInput(`${name}[${i}] = ${String(id)}: ids must be ${range}.`, { name, index: i });
    }
  }
}

/**
 * A float32 output of a graph run, in host memory, optionally of an exact length.
 *
 * @throws {TTSError} ERR_INFERENCE when it is missing, of another type, on the GPU or of another length.
 */
export function floatOutput(outputs: TensorMap, name: string, graph: string, length?: number): Float32Array {
  const tensor = outputs[name];
  const data = tensor?.type === 'float32' ? tensor.data : undefined;
  if (!(data instanceof Float32Array) || (length !== undefined && data.length !== length)) {
    const size = length === undefined ? '' : ` of ${length} values`;
    throw new TTSError('ERR_INFERENCE', `Graph "${graph}" returned no float32 output "${name}"${size} on the CPU.`, {
      details: { graph, output: name },
    });
  }
  return data;
}
