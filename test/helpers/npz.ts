/**
 * Minimal reader for NumPy `.npy` arrays and `.npz` archives (stored or deflated zip), for comparing against
 * reference arrays written by Python (`np.savez`). Test-only; supports the little-endian dtypes we use.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** A decoded array: flat data plus shape. */
export interface NpyArray {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int16Array | Int8Array;
}

const DTYPES: Record<string, { bytes: number; make: (b: ArrayBuffer, o: number, n: number) => NpyArray['data'] }> = {
  '<f4': { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  '<f8': { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  '<i4': { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  '<i8': { bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  '<i2': { bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  '|u1': { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  '|i1': { bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  '|b1': { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
};

/** Parses one `.npy` file's bytes. */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY')
    throw new Error('not an .npy file');
  const major = bytes[6] ?? 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (descr === undefined) throw new Error(`unsupported .npy header: ${header}`);
  const spec = DTYPES[descr];
  if (spec === undefined) throw new Error(`unsupported .npy dtype ${descr}`);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLen;
  // Copy so the typed array is aligned regardless of where the payload sits in the archive.
  const payload = bytes.slice(offset, offset + count * spec.bytes);
  const data = spec.make(payload.buffer, 0, count);
  return { dtype: descr, shape, data: fortran ? toRowMajor(data, shape, spec.make) : data };
}

/** Row-major copy of column-major (`fortran_order`) data of the given shape. */
function toRowMajor(
  data: NpyArray['data'],
  shape: readonly number[],
  make: (b: ArrayBuffer, o: number, n: number) => NpyArray['data'],
): NpyArray['data'] {
  const n = data.length;
  const out = make(new ArrayBuffer(n * data.BYTES_PER_ELEMENT), 0, n);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0); // row-major multi-index of the output element
  for (let c = 0; c < n; c++) {
    // column-major offset: the first axis varies fastest
    let f = 0;
    for (let d = rank - 1; d >= 0; d--) f = f * (shape[d] ?? 1) + (index[d] ?? 0);
    (out as unknown as unknown[])[c] = (data as unknown as unknown[])[f];
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = (index[d] ?? 0) + 1;
      if ((index[d] ?? 0) < (shape[d] ?? 1)) break;
      index[d] = 0;
    }
  }
  return out;
}

/** Reads every array of an `.npz` archive, keyed by name without the `.npy` suffix. */
export function readNpz(path: string): Map<string, NpyArray> {
  const zip = readFileSync(path);
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (eocd >= 0 && view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error(`${path}: not a zip archive`);
  let entries = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || entries === 0xffff) {
    // zip64 end of central directory locator precedes the EOCD
    const locator = eocd - 20;
    const zip64Eocd = Number(view.getBigUint64(locator + 8, true));
    entries = Number(view.getBigUint64(zip64Eocd + 32, true));
    cdOffset = Number(view.getBigUint64(zip64Eocd + 48, true));
  }
  const arrays = new Map<string, NpyArray>();
  let p = cdOffset;
  for (let i = 0; i < entries; i++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field: sizes/offset that overflowed 32 bits
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e < extraEnd) {
      const id = view.getUint16(e, true);
      const size = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (view.getUint32(p + 24, true) === 0xffffffff) q += 8;
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(view.getBigUint64(q, true));
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = Number(view.getBigUint64(q, true));
      }
      e += 4 + size;
    }
    const localNameLen = view.getUint16(localOffset + 26, true);
    const localExtraLen = view.getUint16(localOffset + 28, true);
    const start = localOffset + 30 + localNameLen + localExtraLen;
    const raw = zip.subarray(start, start + compressedSize);
    const content = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : undefined;
    if (content === undefined) throw new Error(`${path}: unsupported zip method ${method} for ${name}`);
    arrays.set(
      name.replace(/\.npy$/, ''),
      parseNpy(new Uint8Array(content.buffer, content.byteOffset, content.byteLength)),
    );
    p += 46 + nameLen + extraLen + commentLen;
  }
  return arrays;
}

/** Gets an array or throws naming the missing key. */
export function need(arrays: Map<string, NpyArray>, name: string): NpyArray {
  const a = arrays.get(name);
  if (a === undefined) throw new Error(`missing array ${name}`);
  return a;
}

/** Numbers of an integer array (int64 → number). */
export function ints(a: NpyArray): number[] {
  return Array.from(a.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** Float32 copy of a float array. */
export function floats(a: NpyArray): Float32Array {
  return a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>, Number);
}

/** Largest absolute difference between two equally long arrays (NaN/inf mismatches count as Infinity). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? NaN;
    const y = b[i] ?? NaN;
    if (x === y) continue;
    const d = Math.abs(x - y);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
