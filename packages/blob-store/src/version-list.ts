/**
 * ListObjectVersions over one bucket: the latest objects (`!o!`) and the older versions and delete markers (`!v!`)
 * merged into S3's order: by key (UTF-8 bytes), then newest first, the latest of each key flagged.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
import type { KvRange, KvReader } from '@coffer/kv';

import { commonPrefix, utf8Compare } from './list.ts';
import { K, decode } from './schema.ts';
import type { VersionListQuery, VersionListResult, VersionRecord } from './types.ts';
import { versionIdOf } from './versions.ts';

interface Entry {
  key: string;
  rec: VersionRecord;
  isLatest: boolean;
}

/** One scan as a pull iterator of (object key, record). */
function cursor(kv: KvReader, range: KvRange, keyOf: (k: Buffer) => string) {
  const it = kv.scan(range)[Symbol.asyncIterator]();
  return {
    async next(): Promise<{ key: string; rec: VersionRecord } | undefined> {
      const e = await it.next();
      return e.done ? undefined : { key: keyOf(e.value.key), rec: decode<VersionRecord>(e.value.value)! };
    },
    async close(): Promise<void> {
      await it.return?.();
    },
  };
}

/** Every version of the bucket's keys from `from` (inclusive) on, in S3's order. */
async function* entries(kv: KvReader, bucket: string, from: string): AsyncGenerator<Entry> {
  const latest = cursor(kv, { gte: K.objectsFrom(bucket, from), lt: K.objectsEnd(bucket) }, (k) =>
    K.objectKeyTail(k, bucket),
  );
  const older = cursor(kv, { gte: K.versionsFrom(bucket, from), lt: K.versionsEnd(bucket) }, (k) =>
    K.versionKeyTail(k, bucket),
  );
  try {
    let o = await latest.next();
    let v = await older.next();
    while (o || v) {
      const key = !v || (o && utf8Compare(o.key, v.key) <= 0) ? o!.key : v.key;
      let isLatest = true;
      if (o?.key === key) {
        yield { key, rec: o.rec, isLatest };
        isLatest = false;
        o = await latest.next();
      }
      while (v?.key === key) {
        yield { key, rec: v.rec, isLatest };
        isLatest = false;
        v = await older.next();
      }
    }
  } finally {
    await latest.close();
    await older.close();
  }
}

/**
 * Lists versions with prefix, delimiter (common prefixes count one entry each), key-marker / version-id-marker
 * (exclusive: after that version of that key, or after every version of the key without one) and maxKeys.
 */
export async function listVersions(kv: KvReader, bucket: string, q: VersionListQuery): Promise<VersionListResult> {
  const prefix = q.prefix ?? '';
  const delimiter = q.delimiter === '' ? undefined : q.delimiter;
  const out: VersionListResult = { versions: [], commonPrefixes: [], isTruncated: false };
  if (q.maxKeys <= 0) return out;
  const marker = q.keyMarker !== undefined && q.keyMarker !== '' ? q.keyMarker : undefined;
  const from = marker !== undefined && utf8Compare(marker, prefix) > 0 ? marker : prefix;
  // A marker that is a common prefix (a truncated page ended on it): every key under it was rolled up already.
  let rolled = marker !== undefined && commonPrefix(marker, prefix, delimiter) === marker ? marker : undefined;
  // Versions of the marker key up to and including this one were listed already (all of them without an id).
  let skipping = marker !== undefined && rolled === undefined;
  let count = 0;
  let last: { key: string; versionId?: string } | undefined;
  for await (const e of entries(kv, bucket, from)) {
    if (!e.key.startsWith(prefix)) {
      if (utf8Compare(e.key, prefix) > 0) break;
      continue;
    }
    if (skipping && e.key === marker) {
      if (q.versionIdMarker !== undefined && q.versionIdMarker !== '' && versionIdOf(e.rec) === q.versionIdMarker)
        skipping = false;
      continue;
    }
    skipping = false;
    if (rolled !== undefined && e.key.startsWith(rolled)) continue;
    if (count === q.maxKeys) {
      out.isTruncated = true;
      break;
    }
    count++;
    const common = commonPrefix(e.key, prefix, delimiter);
    if (common !== undefined) {
      out.commonPrefixes.push(common);
      rolled = common;
      last = { key: common };
    } else {
      out.versions.push({ rec: e.rec, isLatest: e.isLatest });
      last = { key: e.key, versionId: versionIdOf(e.rec) };
    }
  }
  if (out.isTruncated && last) {
    out.nextKeyMarker = last.key;
    if (last.versionId !== undefined) out.nextVersionIdMarker = last.versionId;
  }
  return out;
}
