/**
 * Reading a key's versions from the metadata engine (layout in schema.ts): the latest, the newest older one that
 * matches, one by id. Over a `KvReader`, so that the store reads committed state and a transaction its own view.
 */
import type { KvReader } from '@coffer/kv';

import { K, decode } from './schema.ts';
import type { ObjectRecord, VersionRecord } from './types.ts';
import { NULL_VERSION, VERSION_ID, versionIdOf } from './versions.ts';

/** A version with the engine key it is stored under. */
export interface StoredVersion {
  rec: VersionRecord;
  at: Buffer;
}

/** The latest version of a key if it is an object (`!o!`), or undefined. */
export async function latestObject(kv: KvReader, bucket: string, key: string): Promise<ObjectRecord | undefined> {
  return decode<ObjectRecord>(await kv.get(K.object(bucket, key)));
}

/** The newest older version (`!v!`) of a key that `match` accepts. */
export async function olderVersion(
  kv: KvReader,
  bucket: string,
  key: string,
  match: (rec: VersionRecord) => boolean = () => true,
): Promise<StoredVersion | undefined> {
  for await (const e of kv.scan(K.versionsOf(bucket, key))) {
    // A key that continues with NUL (`a` and `a\0b`) has its versions in the same range: not this key's.
    if (K.versionKeyTail(e.key, bucket) !== key) continue;
    const rec = decode<VersionRecord>(e.value)!;
    if (match(rec)) return { rec, at: e.key };
  }
  return undefined;
}

/** The latest version of a key, object or delete marker. */
export async function latestVersion(kv: KvReader, bucket: string, key: string): Promise<VersionRecord | undefined> {
  return (await latestObject(kv, bucket, key)) ?? (await olderVersion(kv, bucket, key))?.rec;
}

/** A version by id (`null` = the null version), wherever it is; undefined for an id that is not a version id. */
export async function findVersion(
  kv: KvReader,
  bucket: string,
  key: string,
  versionId: string,
): Promise<StoredVersion | undefined> {
  const latest = await latestObject(kv, bucket, key);
  if (latest && versionIdOf(latest) === versionId) return { rec: latest, at: K.object(bucket, key) };
  if (versionId === NULL_VERSION) return olderVersion(kv, bucket, key, (r) => r.versionId === undefined);
  if (!VERSION_ID.test(versionId)) return undefined;
  const at = K.version(bucket, key, versionId);
  const rec = decode<VersionRecord>(await kv.get(at));
  return rec?.versionId === versionId && rec.key === key ? { rec, at } : undefined;
}
