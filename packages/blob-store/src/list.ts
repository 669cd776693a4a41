import type { KvEngine } from '@coffer/kv';

import { K, decode } from './schema.ts';
import type { ListQuery, ListResult, ObjectRecord } from './types.ts';

/** The slice of an abstract-level iterator that listing needs. */
export interface KeyIterator {
  next(): Promise<[string, ObjectRecord] | undefined>;
  seek(target: string): void;
  close(): Promise<void>;
}

/** Compares two strings by their UTF-8 bytes (S3's key order; LevelDB's bytewise order). */
export function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The common prefix `key` rolls up into in a listing by `prefix` and `delimiter`: `key` up to and including the
 * first `delimiter` after `prefix`; undefined without a delimiter or when the rest of the key holds none.
 */
export function commonPrefix(key: string, prefix: string, delimiter: string | undefined): string | undefined {
  if (!delimiter) return undefined;
  const i = key.indexOf(delimiter, prefix.length);
  return i >= 0 ? key.slice(0, i + delimiter.length) : undefined;
}

// Sorts after every string that starts with P, in UTF-8 byte order, when appended to P … except strings that
// continue with U+10FFFF itself; those few are skipped one by one.
const MAX_CHAR = '\u{10FFFF}';

/**
 * ListObjects over the keys of one bucket, in UTF-8 binary order. `open(lower)` returns an iterator over the
 * bucket's keys (without the bucket part) starting at `lower`.
 *
 * - Keys outside `prefix` end the listing (keys with a prefix are contiguous).
 * - With a delimiter, a key whose remainder after the prefix contains it rolls up into the common prefix ending at
 *   the first delimiter; the common prefix counts as one entry toward maxKeys, and the iterator seeks past all keys
 *   under it.
 * - `after` is exclusive. When it is itself a common prefix (the nextMarker of a truncated page), every key under it
 *   is skipped too, as S3 does.
 */
export async function listKeys(
  open: (lower: { gt?: string; gte?: string }) => KeyIterator,
  q: ListQuery,
): Promise<ListResult> {
  const prefix = q.prefix ?? '';
  const delimiter = q.delimiter === '' ? undefined : q.delimiter;
  const out: ListResult = { objects: [], commonPrefixes: [], isTruncated: false };
  if (q.maxKeys <= 0) return out;

  const after = q.after !== undefined && q.after !== '' && utf8Compare(q.after, prefix) >= 0 ? q.after : undefined;
  let skip: string | undefined; // keys starting with this are rolled up already
  let sought: string | undefined; // skip prefix we already seeked past
  if (after?.startsWith(prefix) && commonPrefix(after, prefix, delimiter) === after) skip = after;

  const it = open(after !== undefined ? { gt: after } : { gte: prefix });
  let count = 0;
  let last: string | undefined;
  try {
    for (;;) {
      const entry = await it.next();
      if (entry === undefined) break;
      const [key, rec] = entry;
      if (!key.startsWith(prefix)) break;
      if (skip !== undefined && key.startsWith(skip)) {
        if (sought !== skip) {
          sought = skip;
          it.seek(skip + MAX_CHAR);
        }
        continue;
      }
      const common = commonPrefix(key, prefix, delimiter);
      if (count === q.maxKeys) {
        out.isTruncated = true;
        break;
      }
      count++;
      if (common !== undefined) {
        out.commonPrefixes.push(common);
        last = common;
        skip = common;
        sought = common;
        it.seek(common + MAX_CHAR);
      } else {
        out.objects.push(rec);
        last = key;
      }
    }
  } finally {
    await it.close();
  }
  if (out.isTruncated) out.nextMarker = last;
  return out;
}

/**
 * The listing iterator over one bucket's keys from `lower`: an engine scan, restarted at the target on a seek
 * (listing seeks past every key under a common prefix).
 */
export function objectIterator(kv: KvEngine, bucket: string, lower: { gt?: string; gte?: string }): KeyIterator {
  const end = K.objectsEnd(bucket);
  let it: AsyncIterator<{ key: Buffer; value: Buffer }> | undefined;
  const start = (range: { gt?: Buffer; gte?: Buffer }) => {
    void it?.return?.();
    it = kv.scan({ ...range, lt: end })[Symbol.asyncIterator]();
  };
  start(
    lower.gt !== undefined ? { gt: K.objectsFrom(bucket, lower.gt) } : { gte: K.objectsFrom(bucket, lower.gte ?? '') },
  );
  return {
    next: async () => {
      const e = await it!.next();
      return e.done ? undefined : [K.objectKeyTail(e.value.key, bucket), decode<ObjectRecord>(e.value.value)!];
    },
    seek: (target) => start({ gte: K.objectsFrom(bucket, target) }),
    close: async () => {
      await it?.return?.();
    },
  };
}
