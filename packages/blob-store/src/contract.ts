/**
 * The store contract: what multipart, the server and the conformance suite (`@coffer/blob-store/testing`) need of a
 * store, and all they may rely on. `BlobStore` implements it over a metadata engine and chunk files; another backend
 * (or a wrapper that delegates to one) implements the same methods and passes the same conformance suite.
 */
import type { Readable } from 'node:stream';

import type { SseCustomerKey } from '@coffer/crypto';

import type { Transaction } from './meta-tx.ts';
import type { CollectOptions, GarbageSweep, GcOptions, GcReport } from './garbage.ts';
import type {
  BucketObjectLock,
  BucketRecord,
  BucketSettings,
  CopyOptions,
  DeleteOutcome,
  ListQuery,
  ListResult,
  ObjectEncryption,
  ObjectLock,
  ObjectRecord,
  OpenOptions,
  PutOptions,
  RewrapOptions,
  RewrapResult,
  ScrubOptions,
  ScrubResult,
  Segment,
  SegmentWrite,
  SweepResult,
  VersionListQuery,
  VersionListResult,
  VersionRecord,
  WriteEncryption,
  WrittenSegment,
} from './types.ts';

/**
 * The bucket changes `updateBucket` takes (a field given as `undefined` removes it; `versioning` can only be set, to
 * `Enabled` or `Suspended`: a bucket never returns to unversioned).
 */
export type BucketPatch = Partial<
  Pick<BucketRecord, 'encryption' | 'cors' | 'tags' | 'lifecycle' | 'versioning' | 'objectLock'>
> &
  BucketSettings;

/** Options of `createBucket`: its location, Object Lock (which brings versioning), and the access settings. */
export type CreateBucketOptions = { location?: string; objectLock?: BucketObjectLock } & BucketSettings;

/** Options of `deleteObject`. */
export interface DeleteObjectOptions {
  /** Delete this version for good (`null` = the null version) instead of deleting the key. */
  versionId?: string;
  /** Only if the latest object under the key has this record id (a decision taken on it, e.g. a lifecycle expiry). */
  ifObjectId?: string;
  /** User id of the deleter: the owner of a delete marker the delete adds. */
  owner?: string;
  /**
   * Runs inside the commit on the object version the delete removes for good (none when it adds a delete marker);
   * throws to keep it (e.g. its Object Lock retention).
   */
  check?: (rec: ObjectRecord) => void;
}

/** Options of `deleteBucket`: hooks run inside its commit. */
export interface DeleteBucketOptions {
  /** True if something else still uses the bucket (e.g. multipart uploads): `BLOB_BUCKET_NOT_EMPTY`. */
  inUse?: (tx: Transaction) => Promise<boolean>;
  /** Removes what else belongs to the bucket, once it is found empty, in the same commit. */
  cascade?: (tx: Transaction) => Promise<void>;
}

/**
 * Buckets, objects (encrypted at rest) and generic records with atomic commits and plaintext-range reads. Methods
 * throw `BlobStoreError` with a stable code (README.md, "Errors"); `CryptoError`s and the caller's own errors (a
 * body's, a hook's) pass through. After `close()` every method fails with `BLOB_CLOSED`.
 */
export interface ObjectStore {
  /** The data directory. */
  readonly dir: string;

  /**
   * True while the store refuses writes (`BLOB_UNAVAILABLE`) after a failed metadata write, until its engine has
   * reopened the database (on the next write, once there is room). Reads go on meanwhile.
   */
  readonly recovering: boolean;

  /** Waits for in-flight operations, then closes the database. Later calls fail with `BLOB_CLOSED`. */
  close(): Promise<void>;

  // ---------------------------------------------------------------- buckets

  /**
   * Creates a bucket, with Object Lock (and versioning, which it needs) on if `opts.objectLock` is given, and the
   * access settings it starts with. `BLOB_BUCKET_EXISTS` (details.owner = the existing owner) if the name is taken.
   */
  createBucket(name: string, owner: string, opts?: CreateBucketOptions): Promise<BucketRecord>;

  /** A bucket, or undefined. */
  getBucket(name: string): Promise<BucketRecord | undefined>;

  /** All buckets, sorted by name (UTF-8 byte order). */
  listBuckets(): Promise<BucketRecord[]>;

  /** Changes a bucket's configuration (encryption, CORS, tags, lifecycle, Object Lock). `BLOB_NO_SUCH_BUCKET`. */
  updateBucket(name: string, patch: BucketPatch): Promise<void>;

  /**
   * Deletes an empty bucket. `BLOB_NO_SUCH_BUCKET`; `BLOB_BUCKET_NOT_EMPTY` if it holds an object, or if `inUse`
   * (run inside the commit, e.g. "has multipart uploads") returns true. `cascade` runs inside the same commit once
   * the bucket is found empty, to remove what else belongs to it (multipart uploads): one batch removes it all.
   */
  deleteBucket(name: string, opts?: DeleteBucketOptions): Promise<void>;

  // ---------------------------------------------------------------- objects

  /**
   * Stores an object: body → MD5/size → encryption → temp file → fsync → rename → `beforeCommit` → one commit
   * (object record + refcounts, with the preconditions checked in it). A body of at most `inlineMax` bytes is
   * encrypted in memory instead and its ciphertext goes into the same commit as the record (no file). The replaced
   * object's blob files are deleted after the commit. On any failure or abort nothing becomes visible and no file is
   * left.
   *
   * The body is read but not destroyed on failure (its owner decides; Node's HTTP server discards an unread request).
   * Errors: `BLOB_NO_SUCH_BUCKET`, `BLOB_PRECONDITION_FAILED`, `BLOB_NO_SUCH_KEY` (If-Match on no object),
   * `BLOB_TOO_LARGE`, `BLOB_ABORTED`, `BLOB_IO`; the body's own errors and `beforeCommit`'s pass through.
   *
   * The write follows the bucket's versioning, as S3's does: unversioned, it replaces the object; enabled, it is a
   * new version (its `versionId` set on the record returned) and the previous latest is kept; suspended, it is the
   * `null` version, replacing the previous one wherever it is. So do `copyObject` and `tx.putObject`.
   */
  putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectRecord>;

  /** The latest version of a key if it is an object (not a delete marker), or undefined. */
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;

  /** A version of a key by id (`null` = the null version): an object or a delete marker, or undefined. */
  getVersion(bucket: string, key: string, versionId: string): Promise<VersionRecord | undefined>;

  /** The latest version of a key, object or delete marker, or undefined (a key never written, or all deleted). */
  latestVersion(bucket: string, key: string): Promise<VersionRecord | undefined>;

  /**
   * Checks the key for an object without reading data (HEAD, 0-byte objects): SSE-C needs `customer`
   * (`BLOB_SSEC_REQUIRED`; a wrong key → CryptoError `CRYPTO_WRONG_KEY`); SSE-S3 refuses one
   * (`BLOB_SSEC_NOT_APPLICABLE`).
   */
  verifyKey(rec: ObjectRecord, customer?: SseCustomerKey): void;

  /**
   * Opens the plaintext of an object, or of the inclusive `range` within `0..size-1`. The data key is unwrapped and
   * the first piece of plaintext read and authenticated before the promise resolves, so a wrong key
   * (`CRYPTO_WRONG_KEY`) or a corrupt start (`CRYPTO_AUTH_FAILED`) rejects before any header is sent. A later
   * corrupt chunk errors the stream (never passing unauthenticated bytes). `BLOB_NO_SUCH_KEY` if the object was
   * deleted in the meantime; `BLOB_CORRUPT` if the record disagrees with itself about the object's size (before the
   * key is unwrapped), or a blob file is missing or not of its recorded size (before its first byte is sent).
   */
  openObject(rec: ObjectRecord, opts?: OpenOptions): Promise<Readable>;

  /**
   * The plaintext (or the inclusive `range` of it) of an object stored inline, read and authenticated whole, as one
   * Buffer; `undefined` for an object in blob files (use {@link openObject}). Small objects are stored inline
   * (`inlineMax`), so a server can answer them without a stream. Same checks and errors as {@link openObject}.
   */
  readInline(rec: ObjectRecord, opts?: OpenOptions): Promise<Buffer | undefined>;

  /**
   * Deletes as S3's DeleteObject does. Without `versionId`, under the bucket's versioning: unversioned, the object
   * goes; enabled or suspended, a delete marker (owned by `owner`) becomes the latest version. With `versionId`
   * (`null` = the null version), that version goes for good, and the next newest becomes the latest. Undefined when
   * nothing was there to delete (or, with `ifObjectId`, when the latest object under the key is another one).
   * `check` runs inside the commit on the object version about to go for good and may throw to keep it. Blob
   * files no version refers to any more go after the commit. `BLOB_NO_SUCH_BUCKET`.
   */
  deleteObject(bucket: string, key: string, opts?: DeleteObjectOptions): Promise<DeleteOutcome | undefined>;

  /**
   * Replaces the tags of an object's latest version, or of version `opts.versionId` (`undefined` tags removes them),
   * keeping its data, ETag and Last-Modified, as S3's PutObjectTagging does. `BLOB_NO_SUCH_BUCKET`,
   * `BLOB_NO_SUCH_KEY` (no such version, or a delete marker).
   */
  setObjectTags(
    bucket: string,
    key: string,
    tags: Record<string, string> | undefined,
    opts?: { versionId?: string },
  ): Promise<ObjectRecord>;

  /**
   * Changes the Object Lock state of an object's latest version, or of version `opts.versionId`, to what `update`
   * makes of the current one (`undefined`: none), keeping its data, ETag and Last-Modified. `update` runs inside the
   * commit and may throw to refuse the change (a retention that may not be shortened). `BLOB_NO_SUCH_BUCKET`,
   * `BLOB_NO_SUCH_KEY` (no such version, or a delete marker).
   */
  setObjectLock(
    bucket: string,
    key: string,
    update: (current: ObjectLock | undefined) => ObjectLock | undefined,
    opts?: { versionId?: string },
  ): Promise<ObjectRecord>;

  /**
   * Lists a bucket's objects (the latest version of each key, never a delete marker) in UTF-8 binary key order with
   * prefix, delimiter (common prefixes), `after` (exclusive marker) and maxKeys. `BLOB_NO_SUCH_BUCKET`.
   */
  listObjects(bucket: string, q: ListQuery): Promise<ListResult>;

  /**
   * Lists every version and delete marker of a bucket in S3's order (key, then newest first, the latest flagged)
   * with prefix, delimiter, key and version-id markers, and maxKeys. `BLOB_NO_SUCH_BUCKET`.
   */
  listObjectVersions(bucket: string, q: VersionListQuery): Promise<VersionListResult>;

  /**
   * Copies an object without touching its data: the data key is unwrapped with the source's key and re-wrapped for
   * the new object id under the destination's (master key or a customer key), and the destination shares the
   * source's blob files (refcount +1 each, in the commit). This also rotates an SSE-C key or switches between
   * SSE-S3 and SSE-C. The ETag follows the destination scheme (plaintext MD5 for SSE-S3, `ssecEtag` bound to the new
   * object's id for SSE-C, a multipart one with its `-N`; other multipart ETags are kept). `BLOB_NO_SUCH_KEY` if the
   * source was deleted before the commit; `BLOB_CORRUPT` if the source record disagrees with itself about its size.
   */
  copyObject(src: ObjectRecord, dstBucket: string, dstKey: string, opts: CopyOptions): Promise<ObjectRecord>;

  // ---------------------------------------------------------------- generic records

  /** Writes a record (JSON) in namespace `ns` (1–64 of `[A-Za-z0-9._-]`). */
  putRecord(ns: string, id: string, value: object): Promise<void>;

  /** A record, or undefined. */
  getRecord<T>(ns: string, id: string): Promise<T | undefined>;

  /** All records of a namespace in id order (UTF-8 bytes), optionally only ids starting with `prefix`. */
  listRecords<T>(ns: string, opts?: { prefix?: string }): Promise<T[]>;

  /** Deletes a record; false if there was none. */
  deleteRecord(ns: string, id: string): Promise<boolean>;

  /**
   * Runs `fn` in one metadata transaction (serializable: it sees committed state and its own writes, and may run
   * again on a conflict) and commits everything it wrote atomically and durably; resolves once committed. If `fn`
   * throws, nothing of it is written. Blob files whose refcount reaches 0 are deleted after the commit.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T>;

  /**
   * Takes (or keeps) the lease on a background job for `ttlMs`, so that one node at a time runs it when several
   * share the metadata (the multipart sweep, the lifecycle run): true when this store holds it now. A lease whose
   * holder stopped renewing it (a node gone) is free once it has run out. A store alone always gets it.
   */
  acquireJobLease(job: string, ttlMs: number): Promise<boolean>;

  // ---------------------------------------------------------------- data keys and segments (multipart, tools)

  /**
   * A new data key for object `id`, wrapped per `encryption` (SSE-S3: the active master key, `kekId` = its id;
   * SSE-C: the customer key, `kekId` = `ssec`, and its MD5 kept). The caller must wipe `dek` after use.
   */
  newDataKey(id: string, encryption: WriteEncryption, chunkSize?: number): { dek: Buffer; enc: ObjectEncryption };

  /**
   * Unwraps an object's data key: SSE-C with `customer` (`BLOB_SSEC_REQUIRED` without one; CryptoError
   * `CRYPTO_WRONG_KEY` for a wrong one), SSE-S3 with the master key `enc.wrap.kekId` (`BLOB_SSEC_NOT_APPLICABLE` if a
   * customer key is given; `BLOB_CORRUPT` if it fails; CryptoError `CRYPTO_UNKNOWN_KEY` if the key id is unknown).
   */
  unwrapKey(rec: { id: string; enc: ObjectEncryption }, customer?: SseCustomerKey): Buffer;

  /**
   * Re-wraps an SSE-S3 data key under the active master key (key rotation re-wraps, it never re-encrypts data).
   * Returns `enc` unchanged for SSE-C or when it already uses the active key.
   */
  rewrapKey(rec: { id: string; enc: ObjectEncryption }): ObjectEncryption;

  /**
   * Writes one encrypted stream (an object body or a multipart part) under the stream key HKDF(dek, salt, info)
   * into a new blob file: durable, but referenced by nothing until a {@link transaction} puts a record that uses it.
   * Until then the sweeper leaves it alone; call {@link discardSegment} if it is not committed.
   */
  writeSegment(body: Readable, p: SegmentWrite): Promise<WrittenSegment>;

  /** Removes the blob file of a segment from {@link writeSegment} unless a commit references it (then a no-op). */
  discardSegment(segment: Segment): Promise<void>;

  // ---------------------------------------------------------------- maintenance

  /**
   * Removes every file in `tmp/` and every blob file that no reference and no garbage entry names, except those of
   * writes in progress (this process's; with shared metadata, every file younger than `sweepGraceMs`, 15 minutes by
   * default, which may be another node's). Safe to run at any time.
   */
  sweep(): Promise<SweepResult>;

  /**
   * The garbage sweep: deletes the blob files on the garbage list (released by commits, kept `garbageDelayMs` for
   * the reads still streaming them) that are due at `opts.now` (default now), then their entries. One node at a
   * time runs it (`acquireJobLease`).
   */
  collectGarbage(opts?: CollectOptions): Promise<GarbageSweep>;

  /**
   * The full compare of the stored blobs against the metadata (`coffer gc`): deletes blobs that no reference and no
   * garbage entry names once older than `graceMs` (`dryRun`: reports them only), and reports referenced blobs that
   * are missing with the objects that use them.
   */
  gc(opts?: GcOptions): Promise<GcReport>;

  /**
   * Re-wraps the data key of every SSE-S3 object not wrapped under the active master key, in commits of
   * `batchSize` objects (an object changed meanwhile is left to its new version). Multipart uploads in progress
   * are records of another package: it re-wraps them with {@link rewrapKey}.
   */
  rewrapKeys(opts?: RewrapOptions): Promise<RewrapResult>;

  /**
   * Verifies stored data: every record must agree with itself about the object's size, every blob file must exist
   * with its recorded size, and every SSE-S3 object must decrypt and authenticate end to end, final chunks included
   * (SSE-C objects cannot be decrypted without their key: only sizes are checked). Problems are reported, not
   * repaired.
   */
  scrub(opts?: ScrubOptions): Promise<ScrubResult>;
}
