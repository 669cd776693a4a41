/**
 * The key layout of Coffer's metadata in the engine (`@coffer/kv`): one place for every key and value encoding.
 *
 * DO NOT CHANGE: these are the bytes an existing data directory holds. They are what abstract-level's sublevels wrote
 * before the engine seam existed (`!name!` prefixes, nested `!x!!ns!`; JSON values as UTF-8 text; inline ciphertext
 * as raw bytes), so a data directory from before opens unchanged. A new record kind takes a new prefix.
 *
 * | prefix          | key after it                 | value                                  |
 * |-----------------|------------------------------|----------------------------------------|
 * | `!b!`           | bucket name                  | BucketRecord (JSON)                     |
 * | `!o!`           | bucket NUL key               | ObjectRecord (JSON): the latest version |
 * | `!v!`           | bucket NUL key NUL vkey      | VersionRecord (JSON): an older version  |
 * | `!r!`           | blob id                      | RefRecord (JSON): references to a blob  |
 * | `!d!`           | blob id                      | inline ciphertext (bytes)               |
 * | `!g!`           | blob id                      | GarbageRecord (JSON): a released blob   |
 * | `!x!!NS!`       | record id                    | a generic record of namespace NS (JSON) |
 * | `!m!progress`   | (the whole key)              | `coffer meta migrate`'s progress record |
 *
 * Keys order as UTF-8 bytes, so the objects of one bucket are contiguous and in S3's list order: bucket names hold no
 * NUL, and NUL sorts before every other byte of a key.
 *
 * Versions: `!o!` holds a key's latest version when that is an object (so ListObjects scans only latest versions,
 * however many old ones there are); `!v!` holds every other version: the noncurrent ones, and delete markers (a
 * marker that is the latest too). `vkey` (32 characters) sorts a key's versions newest first: the version id itself,
 * or for the `null` version a key made from its Last-Modified (versions.ts). A record of `!o!` from before versions
 * existed is the `null` version of its key: a data directory from before opens unchanged.
 */
import type { BucketRecord, ObjectRecord, VersionRecord } from './types.ts';

/** Refcount record of a blob (prefix `!r!`, key = blob id). */
export interface RefRecord {
  v: 1;
  /** Number of records (objects, parts) that refer to the blob. */
  n: number;
  /** The blob's ciphertext is under `!d!` (an inline object), not in a file. Absent = a file. */
  inline?: true;
}

/** Length of a version sort key (versions.ts), the fixed-width end of every `!v!` key. */
export const VKEY_LENGTH = 32;

/**
 * A blob file no record refers to any more, kept until `notBefore` (ms since the epoch) because a node may still be
 * reading it (prefix `!g!`, key = blob id). The garbage sweep deletes the file, then the entry.
 */
export interface GarbageRecord {
  v: 1;
  /** The file may be deleted from this time on. */
  notBefore: number;
}

/** Separates a bucket name from an object key. */
export const SEP = '\x00';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

/** Every key of the metadata, and the ranges that scans use. */
export const K = Object.freeze({
  bucket: (name: string) => utf8('!b!' + name),
  buckets: Object.freeze({ gte: utf8('!b!'), lt: utf8('!b"') }),
  /** The bucket name of a bucket key. */
  bucketName: (key: Buffer) => key.toString('utf8', 3),

  object: (bucket: string, key: string) => utf8('!o!' + bucket + SEP + key),
  /** The first possible object key of a bucket after `tail` (`''` = its first). */
  objectsFrom: (bucket: string, tail: string) => utf8('!o!' + bucket + SEP + tail),
  /** The end (exclusive) of a bucket's objects. */
  objectsEnd: (bucket: string) => utf8('!o!' + bucket + '\x01'),
  objects: Object.freeze({ gte: utf8('!o!'), lt: utf8('!o"') }),
  /** The object key part (after bucket NUL) of an object key. */
  objectKeyTail: (key: Buffer, bucket: string) => key.toString('utf8', 3 + Buffer.byteLength(bucket) + 1),

  /** An older version (or a delete marker) of a key; `vkey` is its sort key (versions.ts). */
  version: (bucket: string, key: string, vkey: string) => utf8('!v!' + bucket + SEP + key + SEP + vkey),
  /** The older versions of one key, newest first. */
  versionsOf: (bucket: string, key: string) => ({
    gte: utf8('!v!' + bucket + SEP + key + SEP),
    lt: utf8('!v!' + bucket + SEP + key + '\x01'),
  }),
  /** The first possible version key of a bucket at or after key `tail` (`''` = its first). */
  versionsFrom: (bucket: string, tail: string) => utf8('!v!' + bucket + SEP + tail),
  /** The first possible version key of a bucket after every version of key `key`. */
  versionsAfter: (bucket: string, key: string) => utf8('!v!' + bucket + SEP + key + '\x01'),
  /** The end (exclusive) of a bucket's versions. */
  versionsEnd: (bucket: string) => utf8('!v!' + bucket + '\x01'),
  versions: Object.freeze({ gte: utf8('!v!'), lt: utf8('!v"') }),
  /** The object key of a version key (the tail after bucket NUL, less NUL vkey). */
  versionKeyTail: (key: Buffer, bucket: string) =>
    key.toString('utf8', 3 + Buffer.byteLength(bucket) + 1, key.length - VKEY_LENGTH - 1),

  ref: (blobId: string) => utf8('!r!' + blobId),
  data: (blobId: string) => utf8('!d!' + blobId),
  /** The references: every blob with a refcount entry. */
  refs: Object.freeze({ gte: utf8('!r!'), lt: utf8('!r"') }),
  /** The blob id of a `!r!` or `!g!` key. */
  blobIdOf: (key: Buffer) => key.toString('utf8', 3),

  garbage: (blobId: string) => utf8('!g!' + blobId),
  garbageAll: Object.freeze({ gte: utf8('!g!'), lt: utf8('!g"') }),

  record: (ns: string, id: string) => utf8(`!x!!${ns}!` + id),
  /** The records of a namespace whose id starts with `prefix`. */
  records: (ns: string, prefix = '') => ({ gte: utf8(`!x!!${ns}!` + prefix), lt: utf8(`!x!!${ns}"`) }),
  /** The id of a record key of namespace `ns`. */
  recordId: (key: Buffer, ns: string) => key.toString('utf8', 5 + Buffer.byteLength(ns)),
});

/**
 * The progress record that `coffer meta migrate` keeps in its target while a copy runs (`copyEngine` of @coffer/kv),
 * removed once the copy is verified. Under a prefix of its own, which no read of the store covers.
 */
export const MIGRATION_PROGRESS_KEY: Buffer = utf8('!m!progress');

/** The record namespace of the job leases (`acquireJobLease`): which node runs the multipart sweep, the lifecycle. */
export const JOB_LEASE_NS = 'job-leases';

/**
 * Keys `coffer meta migrate` leaves behind: the job leases name processes of the source, and copied they would keep
 * the new engine's nodes from the sweep and the lifecycle run until they ran out.
 */
export const MIGRATION_EXCLUDE: readonly { gte: Buffer; lt: Buffer }[] = Object.freeze([K.records(JOB_LEASE_NS)]);

/** A JSON value as the engine stores it. */
export function encode(value: object): Buffer {
  return utf8(JSON.stringify(value));
}

/** A JSON value from the engine, or undefined. */
export function decode<T>(bytes: Buffer | undefined): T | undefined {
  return bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as T);
}

export type { BucketRecord, ObjectRecord, VersionRecord };
