import type { KvTransaction } from '@coffer/kv';

import { BlobStoreError } from './errors.ts';
import { K, decode, encode, type GarbageRecord, type RefRecord } from './schema.ts';
import type { BucketRecord, DeleteMarkerRecord, DeleteOutcome, ObjectRecord, VersionRecord } from './types.ts';
import { findVersion, latestObject, latestVersion, olderVersion } from './version-reads.ts';
import { newVersionId, versionIdOf, versionSortKey } from './versions.ts';

/**
 * The work of one metadata commit, in Coffer's terms (buckets, objects, blob references, generic records), over one
 * engine transaction: reads see committed state plus the transaction's own writes; everything written commits
 * atomically, or nothing does. A transaction may run more than once (an engine re-runs it on a conflict with another
 * node), so a callback must not act on the world before the commit resolves.
 */
export interface Transaction {
  /** A bucket, or undefined. */
  getBucket(name: string): Promise<BucketRecord | undefined>;
  /** Creates or replaces a bucket record. */
  putBucket(rec: BucketRecord): void;
  /** Deletes a bucket record (no checks; see `BlobStore.deleteBucket`). */
  deleteBucket(name: string): void;
  /** True if the bucket holds at least one object, older version or delete marker. */
  hasObjects(bucket: string): Promise<boolean>;
  /** The latest version of a key if it is an object (what GET without a version id reads), or undefined. */
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;
  /** The latest version of a key, object or delete marker, or undefined. */
  latestVersion(bucket: string, key: string): Promise<VersionRecord | undefined>;
  /** A version by id (`null` = the null version), or undefined (also for an id that is not a version id). */
  getVersion(bucket: string, key: string, versionId: string): Promise<VersionRecord | undefined>;
  /**
   * Writes a new object as S3 writes under the bucket's versioning state, and sets `rec.versionId`: unversioned, it
   * replaces the object; enabled, it gets a new version id and the previous latest version is kept; suspended, it
   * is the `null` version, replacing the previous null version wherever it is. +1 reference on each of its blobs,
   * -1 on each blob of a version it replaces.
   */
  putObject(rec: ObjectRecord): Promise<void>;
  /**
   * Rewrites an existing version in place (new tags, a re-wrapped key), found by `rec.versionId`: refcounts follow
   * its segments. `BLOB_NO_SUCH_KEY` if that version is gone.
   */
  updateVersion(rec: ObjectRecord): Promise<void>;
  /**
   * Deletes a key as S3's DELETE without a version id does under the bucket's versioning state: unversioned, the
   * object goes (undefined if there was none); enabled, a delete marker with a new version id becomes the latest;
   * suspended, a `null` delete marker does, replacing the null version. `owner` owns the marker.
   */
  deleteObject(bucket: string, key: string, owner?: string): Promise<DeleteOutcome | undefined>;
  /**
   * Deletes one version (`null` = the null version) for good, dropping its references; when it was the latest, the
   * next newest becomes the latest (deleting a delete marker brings the object back). Undefined if there was none.
   */
  deleteVersion(bucket: string, key: string, versionId: string): Promise<DeleteOutcome | undefined>;
  /** A generic record, or undefined. */
  getRecord<T>(ns: string, id: string): Promise<T | undefined>;
  /** Writes a generic record. */
  putRecord(ns: string, id: string, value: object): void;
  /** Deletes a generic record; false if there was none. */
  deleteRecord(ns: string, id: string): Promise<boolean>;
  /** True if the namespace holds a record whose id starts with `prefix`. */
  hasRecords(ns: string, prefix: string): Promise<boolean>;
  /**
   * The records of a namespace whose id starts with `prefix`, in id order (UTF-8 bytes), including those this
   * transaction wrote: what a commit reads to act on all of them (the parts of an upload) is part of what it checked.
   */
  listRecords<T>(ns: string, prefix: string): Promise<T[]>;
  /** +1 reference on each blob (of a segment another record keeps, e.g. a multipart part). */
  addRefs(blobIds: readonly string[]): void;
  /** -1 reference on each blob; a blob at 0 is deleted by (inline) or after (file) the commit. */
  dropRefs(blobIds: readonly string[]): void;
}

/** What deleting `rec` (or adding it, a marker) did, as {@link Transaction.deleteObject} tells it. */
function outcome(rec: VersionRecord): DeleteOutcome {
  const deleteMarker = rec.deleteMarker === true;
  return rec.versionId === undefined ? { deleteMarker } : { versionId: rec.versionId, deleteMarker };
}

/** Checks shared with the store. */
export interface TxChecks {
  bucketName(name: unknown): string;
  key(key: unknown): string;
  namespace(ns: unknown): string;
  id(id: unknown): string;
}

/** What the store knows of blobs not yet committed. */
export interface BlobState {
  /** Blobs this process wrote that no committed record references yet (files, and inline blobs in memory). */
  uncommitted: ReadonlySet<string>;
  /** The ciphertext of an uncommitted inline blob, or undefined for a file blob. */
  pendingInline(blobId: string): Buffer | undefined;
  /**
   * Uncommitted blobs whose first reference a transaction has taken, by that transaction's token, until its commit
   * settles. Another transaction must not take a first reference to the same blob meanwhile: if an earlier member of
   * the same group freed it again, its file is about to be unlinked.
   */
  claims: Map<string, object>;
  /**
   * How long a released file blob stays (ms): more than 0 puts it on the garbage list (`!g!`) with that not-before
   * time, in the commit that released it, so that a node still reading it keeps its file; 0 frees it at once (one
   * node: its own readers hold the file, see `BlobStore`).
   */
  garbageDelayMs: number;
}

/** What a commit changed, for the store's bookkeeping once it is durable. */
export interface CommitDone {
  /** Fresh blobs now referenced. */
  committed: readonly string[];
  /** File blobs no longer referenced and not put on the garbage list (to unlink). */
  freed: readonly string[];
  /** Bucket records written (null = deleted). */
  buckets: ReadonlyMap<string, BucketRecord | null>;
}

/** A {@link Transaction} over one engine transaction. */
export class MetaTx implements Transaction {
  readonly #kv: KvTransaction;
  readonly #blobs: BlobState;
  readonly #c: TxChecks;
  readonly #deltas = new Map<string, number>();
  readonly #buckets = new Map<string, BucketRecord | null>();
  readonly #token: object;
  #done = false;

  /** `token` identifies the store's transaction across the engine's re-runs of it. */
  constructor(kv: KvTransaction, blobs: BlobState, checks: TxChecks, token: object) {
    this.#kv = kv;
    this.#blobs = blobs;
    this.#c = checks;
    this.#token = token;
  }

  #live(): void {
    if (this.#done) throw new TypeError('the transaction has ended');
  }

  async getBucket(name: string): Promise<BucketRecord | undefined> {
    return decode<BucketRecord>(await this.#kv.get(K.bucket(name)));
  }

  putBucket(rec: BucketRecord): void {
    this.#live();
    this.#kv.set(K.bucket(this.#c.bucketName(rec.name)), encode(rec));
    this.#buckets.set(rec.name, rec);
  }

  deleteBucket(name: string): void {
    this.#live();
    this.#kv.delete(K.bucket(name));
    this.#buckets.set(name, null);
  }

  async hasObjects(bucket: string): Promise<boolean> {
    for (const range of [
      { gte: K.objectsFrom(bucket, ''), lt: K.objectsEnd(bucket) },
      { gte: K.versionsFrom(bucket, ''), lt: K.versionsEnd(bucket) },
    ]) {
      for await (const _ of this.#kv.scan({ ...range, limit: 1 })) return true;
    }
    return false;
  }

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return latestObject(this.#kv, bucket, key);
  }

  async latestVersion(bucket: string, key: string): Promise<VersionRecord | undefined> {
    return latestVersion(this.#kv, bucket, key);
  }

  async getVersion(bucket: string, key: string, versionId: string): Promise<VersionRecord | undefined> {
    return (await findVersion(this.#kv, bucket, key, versionId))?.rec;
  }

  async putObject(rec: ObjectRecord): Promise<void> {
    this.#live();
    this.#c.bucketName(rec.bucket);
    this.#c.key(rec.key);
    const state = (await this.getBucket(rec.bucket))?.versioning;
    if (state === 'Enabled') rec.versionId = newVersionId();
    else delete rec.versionId;
    await this.#retireLatest(rec.bucket, rec.key, state);
    this.addRefs(rec.segments.map((s) => s.blobId));
    this.#kv.set(K.object(rec.bucket, rec.key), encode(rec));
  }

  async updateVersion(rec: ObjectRecord): Promise<void> {
    this.#live();
    const found = await findVersion(this.#kv, rec.bucket, rec.key, versionIdOf(rec));
    if (!found || found.rec.deleteMarker) {
      throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.', { details: { Key: rec.key } });
    }
    this.dropRefs(found.rec.segments.map((s) => s.blobId));
    this.addRefs(rec.segments.map((s) => s.blobId));
    this.#kv.set(found.at, encode(rec));
  }

  async deleteObject(bucket: string, key: string, owner = ''): Promise<DeleteOutcome | undefined> {
    this.#live();
    const state = (await this.getBucket(bucket))?.versioning;
    if (state === undefined && !(await this.getObject(bucket, key))) return undefined;
    await this.#retireLatest(bucket, key, state);
    this.#kv.delete(K.object(bucket, key));
    if (state === undefined) return { deleteMarker: false };
    const marker: DeleteMarkerRecord = {
      v: 1,
      deleteMarker: true,
      bucket,
      key,
      ...(state === 'Enabled' ? { versionId: newVersionId() } : {}),
      lastModified: new Date().toISOString(),
      owner,
    };
    this.#kv.set(K.version(bucket, key, versionSortKey(marker)), encode(marker));
    return outcome(marker);
  }

  async deleteVersion(bucket: string, key: string, versionId: string): Promise<DeleteOutcome | undefined> {
    this.#live();
    const found = await findVersion(this.#kv, bucket, key, versionId);
    if (!found) return undefined;
    const { rec, at } = found;
    if (!rec.deleteMarker) this.dropRefs(rec.segments.map((s) => s.blobId));
    this.#kv.delete(at);
    // Without an object as the latest, the newest older version is the latest now: an object moves up to `!o!`.
    if (!(await this.getObject(bucket, key))) {
      const next = await olderVersion(this.#kv, bucket, key);
      if (next && !next.rec.deleteMarker) {
        this.#kv.delete(next.at);
        this.#kv.set(K.object(bucket, key), encode(next.rec));
      }
    }
    return outcome(rec);
  }

  /**
   * Makes room for a new latest version under versioning `state`: the current latest object is dropped
   * (unversioned, or the null version while suspended) or kept as an older version; while suspended, an older
   * null version (object or marker) goes too. The caller writes the new latest.
   */
  async #retireLatest(bucket: string, key: string, state: BucketRecord['versioning']): Promise<void> {
    const prev = await this.getObject(bucket, key);
    if (prev) {
      if (state === undefined || (state === 'Suspended' && prev.versionId === undefined)) {
        this.dropRefs(prev.segments.map((s) => s.blobId));
      } else {
        this.#kv.set(K.version(bucket, key, versionSortKey(prev)), encode(prev));
      }
    }
    if (state !== 'Suspended') return;
    const oldNull = await olderVersion(this.#kv, bucket, key, (r) => r.versionId === undefined);
    if (!oldNull) return;
    if (!oldNull.rec.deleteMarker) this.dropRefs(oldNull.rec.segments.map((s) => s.blobId));
    this.#kv.delete(oldNull.at);
  }

  async getRecord<T>(ns: string, id: string): Promise<T | undefined> {
    return decode<T>(await this.#kv.get(K.record(this.#c.namespace(ns), id)));
  }

  putRecord(ns: string, id: string, value: object): void {
    this.#live();
    this.#kv.set(K.record(this.#c.namespace(ns), this.#c.id(id)), encode(value));
  }

  async deleteRecord(ns: string, id: string): Promise<boolean> {
    this.#live();
    const existed = (await this.getRecord(ns, id)) !== undefined;
    this.#kv.delete(K.record(this.#c.namespace(ns), this.#c.id(id)));
    return existed;
  }

  async hasRecords(ns: string, prefix: string): Promise<boolean> {
    const r = K.records(this.#c.namespace(ns), prefix);
    for await (const e of this.#kv.scan({ ...r, limit: 1 })) return K.recordId(e.key, ns).startsWith(prefix);
    return false;
  }

  async listRecords<T>(ns: string, prefix: string): Promise<T[]> {
    const out: T[] = [];
    for await (const e of this.#kv.scan(K.records(this.#c.namespace(ns), prefix))) {
      if (!K.recordId(e.key, ns).startsWith(prefix)) break;
      out.push(decode<T>(e.value)!);
    }
    return out;
  }

  addRefs(blobIds: readonly string[]): void {
    this.#live();
    for (const id of blobIds) this.#deltas.set(id, (this.#deltas.get(id) ?? 0) + 1);
  }

  dropRefs(blobIds: readonly string[]): void {
    this.#live();
    for (const id of blobIds) this.#deltas.set(id, (this.#deltas.get(id) ?? 0) - 1);
  }

  /**
   * Writes the reference counts the transaction changed, and ends it. A blob may rise from 0 only if it is a fresh
   * upload of this process (uncommitted, and not claimed by another transaction); otherwise its last reference went away before this commit
   * (`BLOB_NO_SUCH_KEY`: e.g. a copy source deleted meanwhile). An inline blob's ciphertext is written with its first
   * reference and deleted with its last; a file blob at 0 goes to the garbage list in this commit (a garbage delay
   * is set) or is listed in `freed` for the store to unlink once the commit is durable.
   */
  async finish(): Promise<CommitDone> {
    this.#done = true;
    const committed: string[] = [];
    const freed: string[] = [];
    for (const [id, delta] of this.#deltas) {
      if (delta === 0) continue;
      const cur = decode<RefRecord>(await this.#kv.get(K.ref(id))) ?? null;
      const n = (cur?.n ?? 0) + delta;
      if (cur === null && n > 0) {
        const claim = this.#blobs.claims.get(id);
        if (!this.#blobs.uncommitted.has(id) || (claim !== undefined && claim !== this.#token)) {
          throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.');
        }
        this.#blobs.claims.set(id, this.#token);
      }
      if (n <= 0) {
        if (cur === null) continue;
        this.#kv.delete(K.ref(id));
        if (cur.inline) this.#kv.delete(K.data(id));
        else if (this.#blobs.garbageDelayMs > 0) {
          const entry: GarbageRecord = { v: 1, notBefore: Date.now() + this.#blobs.garbageDelayMs };
          this.#kv.set(K.garbage(id), encode(entry));
        } else freed.push(id);
      } else if (cur === null) {
        const sealed = this.#blobs.pendingInline(id);
        this.#kv.set(K.ref(id), encode(sealed ? { v: 1, n, inline: true } : { v: 1, n }));
        if (sealed) this.#kv.set(K.data(id), sealed);
        committed.push(id);
      } else {
        this.#kv.set(K.ref(id), encode({ ...cur, n }));
      }
    }
    return { committed, freed, buckets: this.#buckets };
  }
}
