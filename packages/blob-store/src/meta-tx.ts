import type { KvTransaction } from '@coffer/kv';

import { BlobStoreError } from './errors.ts';
import { K, decode, encode, type GarbageRecord, type RefRecord } from './schema.ts';
import type { BucketRecord, ObjectRecord } from './types.ts';

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
  /** True if the bucket holds at least one object. */
  hasObjects(bucket: string): Promise<boolean>;
  /** An object record, or undefined. */
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;
  /** Writes an object record: +1 reference on each of its blobs, -1 on each blob of the record it replaces. */
  putObject(rec: ObjectRecord): Promise<void>;
  /** Deletes an object record and drops its references; false if there was none. */
  deleteObject(bucket: string, key: string): Promise<boolean>;
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
    for await (const _ of this.#kv.scan({ gte: K.objectsFrom(bucket, ''), lt: K.objectsEnd(bucket), limit: 1 }))
      return true;
    return false;
  }

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return decode<ObjectRecord>(await this.#kv.get(K.object(bucket, key)));
  }

  async putObject(rec: ObjectRecord): Promise<void> {
    this.#live();
    this.#c.bucketName(rec.bucket);
    this.#c.key(rec.key);
    const prev = await this.getObject(rec.bucket, rec.key);
    if (prev) this.dropRefs(prev.segments.map((s) => s.blobId));
    this.addRefs(rec.segments.map((s) => s.blobId));
    this.#kv.set(K.object(rec.bucket, rec.key), encode(rec));
  }

  async deleteObject(bucket: string, key: string): Promise<boolean> {
    this.#live();
    const prev = await this.getObject(bucket, key);
    if (!prev) return false;
    this.dropRefs(prev.segments.map((s) => s.blobId));
    this.#kv.delete(K.object(bucket, key));
    return true;
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
