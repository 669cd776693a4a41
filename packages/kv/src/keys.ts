import type { KvKey, KvRange } from './types.ts';

/**
 * Keys inside the engines are latin1 strings: one character per byte, so that a `Map` can hold them and `<` on two
 * of them is exactly the unsigned byte order of the keys (every code unit is below 256).
 */
export type KeyStr = string;

/** The latin1 string of a key (checked: a non-empty byte string). */
export function keyStr(key: KvKey): KeyStr {
  if (!(key instanceof Uint8Array)) throw new TypeError('key must be a Uint8Array');
  if (key.byteLength === 0) throw new TypeError('key must not be empty');
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The bytes of a latin1 key string. */
export function keyBuf(k: KeyStr): Buffer {
  return Buffer.from(k, 'latin1');
}

/** A value as a Buffer of its own (the caller may reuse its array). */
export function valueBuf(value: Uint8Array): Buffer {
  if (!(value instanceof Uint8Array)) throw new TypeError('value must be a Uint8Array');
  return Buffer.from(value);
}

/** A range with latin1 bounds; `limit` is a whole number or Infinity. */
export interface StrRange {
  gt?: KeyStr;
  gte?: KeyStr;
  lt?: KeyStr;
  lte?: KeyStr;
  limit: number;
}

/** Checks a range and turns its bounds into key strings. */
export function strRange(r: KvRange): StrRange {
  if (r === null || typeof r !== 'object') throw new TypeError('range must be an object');
  if (r.gt !== undefined && r.gte !== undefined) throw new TypeError('range must not have both gt and gte');
  if (r.lt !== undefined && r.lte !== undefined) throw new TypeError('range must not have both lt and lte');
  const limit = r.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0))
    throw new RangeError('range.limit must be a whole number');
  const s = (k: KvKey | undefined) => (k === undefined ? undefined : keyStr(k));
  return { gt: s(r.gt), gte: s(r.gte), lt: s(r.lt), lte: s(r.lte), limit };
}

/** True if `k` is inside the range's bounds. */
export function inRange(k: KeyStr, r: StrRange): boolean {
  if (r.gt !== undefined && !(k > r.gt)) return false;
  if (r.gte !== undefined && !(k >= r.gte)) return false;
  if (r.lt !== undefined && !(k < r.lt)) return false;
  if (r.lte !== undefined && !(k <= r.lte)) return false;
  return true;
}
