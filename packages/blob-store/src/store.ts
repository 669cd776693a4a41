/**
 * `BlobStore`, the store over a metadata engine (`@coffer/kv`) and chunk files: the class wiring (open, close, the
 * in-flight operations, the commit bookkeeping) and the bucket, object and record operations as transactions. The
 * other concepts are modules of functions over its {@link StoreContext}: validation.ts, envelope.ts (data keys),
 * reads.ts, segments.ts, leases.ts, maintenance.ts (sweep, rewrap, scrub).
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';

import { type ChunkStore, LocalChunkStore } from '@coffer/chunk-store';
import { secureRandom, ssecEtag, type SseCustomerKey } from '@coffer/crypto';
import { isKvError, type KvEngine, type KvStats } from '@coffer/kv';

import { BucketCache } from './bucket-cache.ts';
import { chunkError } from './chunk-errors.ts';
import { committedObject, type StoreContext } from './context.ts';
import type {
  BucketPatch,
  CreateBucketOptions,
  DeleteBucketOptions,
  DeleteObjectOptions,
  ObjectStore,
} from './contract.ts';
import { newKey, rewrapKey, unwrapKey, wrapKey } from './envelope.ts';
import { openEngine } from './engine.ts';
import { BlobStoreError, metaError } from './errors.ts';
import {
  collectGarbage,
  compareBlobs,
  gcContext,
  type CollectOptions,
  type GarbageSweep,
  type GcOptions,
  type GcReport,
} from './garbage.ts';
import { readSmallBody } from './inline.ts';
import { checkLayout } from './layout.ts';
import { BlobLeases, acquireJobLease } from './leases.ts';
import { listKeys, objectIterator } from './list.ts';
import { rewrapKeys, scrub, sweep } from './maintenance.ts';
import { MetaTx, type CommitDone, type Transaction } from './meta-tx.ts';
import { resolveOptions, type BlobStoreOptions, type ResolvedOptions } from './options.ts';
import { DataLayout } from './paths.ts';
import { OBJECT_STREAM_INFO } from './read.ts';
import { openObject, readInline } from './reads.ts';
import { K, decode } from './schema.ts';
import { openMd5, sealMd5 } from './seal.ts';
import { discardSegment, inlineSegment, writeSegment } from './segments.ts';
import { listVersions } from './version-list.ts';
import { findVersion, latestVersion } from './version-reads.ts';
import type {
  BucketRecord,
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
import {
  checkBucketName,
  checkId,
  checkKey,
  checkNamespace,
  checkPreconditions,
  checkPutOptions,
  noSuchBucket,
  patchBucket,
  pickLock,
  pickMetadata,
} from './validation.ts';

export type { Transaction } from './meta-tx.ts';

/**
 * Buckets, objects and their metadata in a metadata engine (LevelDB in `DATA/meta`, or PostgreSQL), object data as
 * encrypted chunk files (`DATA/blobs/xx/yy/ID`), with atomic commits and plaintext-range reads. See README.md for the
 * commit protocol, and {@link ObjectStore} for what each method does.
 */
export class BlobStore implements ObjectStore {
  readonly #ctx: StoreContext;
  /** This store's identity as the holder of job leases. */
  readonly #nodeId = randomUUID();
  /** First references taken by transactions not yet settled (see `BlobState.claims`). */
  readonly #claims = new Map<string, object>();
  readonly #buckets: BucketCache;
  readonly #inflight = new Set<Promise<unknown>>();
  /**
   * After a commit failed in the engine (its write may have reached the log all the same), the fresh blobs it took
   * were left on disk for the sweep to judge; this is set until the next commit succeeds, which starts that sweep.
   */
  #sweepAfterFault = false;
  #closed = false;

  private constructor(opts: ResolvedOptions, kv: KvEngine, chunks: ChunkStore) {
    this.#ctx = {
      opts,
      chunks,
      kv,
      uncommitted: new Set(),
      inlinePending: new Map(),
      leases: new BlobLeases(chunks),
    };
    this.#buckets = new BucketCache(kv, opts.meta !== undefined);
  }

  /** Bookkeeping once a commit is durable: fresh blobs are committed, freed files go, the bucket cache follows. */
  #settle(done: CommitDone): void {
    for (const id of done.committed) {
      this.#ctx.uncommitted.delete(id);
      this.#ctx.inlinePending.delete(id);
      this.#claims.delete(id);
    }
    for (const id of done.freed) this.#ctx.leases.free(id);
    this.#buckets.committed(done.buckets);
  }

  /**
   * Opens (creating if needed) the data directory: `meta/`, and the chunk store (`blobs/`, `tmp/` by default). Removes
   * what unfinished writes left (`tmp/`) and every blob that no record references (left by a crash between write and
   * commit). Throws `BLOB_LOCKED` if another process (or another BlobStore in this one) has the directory open. A
   * chunk store given in the options is closed if the open fails.
   */
  static async open(options: BlobStoreOptions): Promise<BlobStore> {
    const opts = resolveOptions(options);
    let chunks = opts.chunks;
    let kv: KvEngine | undefined;
    try {
      kv = await openEngine(opts, new DataLayout(opts.dir));
      chunks ??= await LocalChunkStore.open({
        dir: opts.dir,
        sync: opts.sync,
        writeBufferSize: opts.writeBufferSize,
        readBufferSize: opts.readBufferSize,
        testing: { fs: opts.fs, write: opts.write },
      }).catch((err: unknown) => {
        throw chunkError(err);
      });
      const store = new BlobStore(opts, kv, chunks);
      if (opts.sweepAtOpen) await store.sweep();
      return store;
    } catch (err) {
      await kv?.close().catch(() => undefined);
      await chunks?.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    try {
      await this.#ctx.kv.close();
    } finally {
      await this.#ctx.chunks.close();
    }
  }

  get dir(): string {
    return this.#ctx.opts.dir;
  }

  get recovering(): boolean {
    return this.#ctx.kv.recovering;
  }

  /** The metadata engine's counters since open (transactions, commits, runs again on a conflict), for metrics. */
  metadataStats(): KvStats {
    return this.#ctx.kv.stats();
  }

  // ---------------------------------------------------------------- buckets

  async createBucket(name: string, owner: string, opts: CreateBucketOptions = {}): Promise<BucketRecord> {
    checkBucketName(name);
    if (typeof owner !== 'string' || owner === '') throw new TypeError('owner must be a non-empty string');
    return this.transaction(async (tx) => {
      const existing = await tx.getBucket(name);
      if (existing) {
        throw new BlobStoreError('BLOB_BUCKET_EXISTS', 'The requested bucket name is not available.', {
          details: { owner: existing.owner },
        });
      }
      const { location, objectLock, ...settings } = opts;
      const created = new Date().toISOString();
      // Object Lock protects versions: it comes with versioning on.
      const lock = objectLock ? { objectLock, versioning: 'Enabled' as const } : {};
      const rec = patchBucket(
        { v: 1, name, owner, created, location: location || 'us-east-1' },
        { ...settings, ...lock },
      );
      tx.putBucket(rec);
      return rec;
    });
  }

  async getBucket(name: string): Promise<BucketRecord | undefined> {
    checkBucketName(name);
    return this.#op(() => this.#buckets.get(name));
  }

  async listBuckets(): Promise<BucketRecord[]> {
    return this.#op(async () => {
      const out: BucketRecord[] = [];
      for await (const e of this.#ctx.kv.scan(K.buckets)) out.push(decode<BucketRecord>(e.value)!);
      return out;
    });
  }

  async updateBucket(name: string, patch: BucketPatch): Promise<void> {
    checkBucketName(name);
    await this.transaction(async (tx) => {
      const rec = await tx.getBucket(name);
      if (!rec) throw noSuchBucket(name);
      tx.putBucket(patchBucket(rec, patch));
    });
  }

  async deleteBucket(name: string, opts: DeleteBucketOptions = {}): Promise<void> {
    checkBucketName(name);
    await this.transaction(async (tx) => {
      if (!(await tx.getBucket(name))) throw noSuchBucket(name);
      if ((await tx.hasObjects(name)) || (opts.inUse && (await opts.inUse(tx)))) {
        throw new BlobStoreError('BLOB_BUCKET_NOT_EMPTY', 'The bucket you tried to delete is not empty', {
          details: { BucketName: name },
        });
      }
      await opts.cascade?.(tx);
      tx.deleteBucket(name);
    });
  }

  // ---------------------------------------------------------------- objects

  async putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectRecord> {
    checkBucketName(bucket);
    checkKey(key);
    const metadata = checkPutOptions(opts);
    return this.#op(async () => {
      // Cheap early checks so that a doomed upload is not stored first; the commit checks again. A body known to be
      // small (sizeHint) is read first instead: nothing is stored before the commit, whose checks are enough.
      const early = async (): Promise<void> => {
        if (!(await this.#buckets.get(bucket))) throw noSuchBucket(bucket);
        checkPreconditions(await committedObject(this.#ctx.kv, bucket, key), opts);
      };
      const limit = this.#ctx.opts.inlineMax;
      const tryInline = limit > 0 && !(opts.sizeHint !== undefined && opts.sizeHint > limit);
      let checked = false;
      if (!(tryInline && opts.sizeHint !== undefined)) {
        await early();
        checked = true;
      }

      const id = randomUUID();
      const chunkSize = this.#ctx.opts.chunkSize;
      const { dek, enc } = newKey(this.#ctx.opts.keyRing, id, chunkSize, opts.encryption);
      const salt = secureRandom(16);
      let seg: { segment: Segment; plainSize: number; md5: Buffer } | undefined;
      let fileBody = body;
      if (tryInline) {
        const small = await readSmallBody(body, limit, opts.maxSize, opts.signal);
        if (small.whole)
          seg = inlineSegment(this.#ctx, small.plain, small.md5, { dek, salt, info: OBJECT_STREAM_INFO, chunkSize });
        else fileBody = small.rest;
      }
      if (!seg) {
        if (!checked) await early();
        seg = await writeSegment(this.#ctx, fileBody, {
          dek,
          salt,
          info: OBJECT_STREAM_INFO,
          chunkSize,
          maxSize: opts.maxSize,
          signal: opts.signal,
        });
      }
      try {
        const extra = (await opts.beforeCommit?.({ size: seg.plainSize, md5: seg.md5 })) ?? undefined;
        if (opts.signal?.aborted)
          throw new BlobStoreError('BLOB_ABORTED', 'the write was aborted', { cause: opts.signal.reason });
        let etag: string;
        if (enc.scheme === 'SSE-C') {
          etag = ssecEtag(dek, seg.md5);
          enc.md5Sealed = sealMd5(dek, seg.md5);
        } else {
          etag = seg.md5.toString('hex');
        }
        const rec: ObjectRecord = {
          v: 1,
          bucket,
          key,
          id,
          size: seg.plainSize,
          etag,
          lastModified: new Date().toISOString(),
          owner: opts.owner,
          ...metadata,
          ...(extra?.checksum
            ? { checksum: { algorithm: extra.checksum.algorithm, value: extra.checksum.value } }
            : {}),
          enc,
          segments: [seg.segment],
        };
        await this.#transaction(async (tx) => {
          if (!(await tx.getBucket(bucket))) throw noSuchBucket(bucket);
          checkPreconditions(await tx.getObject(bucket, key), opts);
          await tx.putObject(rec);
        });
        return rec;
      } finally {
        // A no-op once committed.
        await discardSegment(this.#ctx, seg.segment);
      }
    });
  }

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    checkBucketName(bucket);
    checkKey(key);
    return this.#op(() => committedObject(this.#ctx.kv, bucket, key));
  }

  async getVersion(bucket: string, key: string, versionId: string): Promise<VersionRecord | undefined> {
    checkBucketName(bucket);
    checkKey(key);
    if (typeof versionId !== 'string') throw new TypeError('versionId must be a string');
    return this.#op(async () => (await findVersion(this.#ctx.kv, bucket, key, versionId))?.rec);
  }

  async latestVersion(bucket: string, key: string): Promise<VersionRecord | undefined> {
    checkBucketName(bucket);
    checkKey(key);
    return this.#op(() => latestVersion(this.#ctx.kv, bucket, key));
  }

  verifyKey(rec: ObjectRecord, customer?: SseCustomerKey): void {
    this.unwrapKey(rec, customer).fill(0);
  }

  async openObject(rec: ObjectRecord, opts: OpenOptions = {}): Promise<Readable> {
    return this.#op(() => openObject(this.#ctx, rec, opts));
  }

  async readInline(rec: ObjectRecord, opts: OpenOptions = {}): Promise<Buffer | undefined> {
    if (!rec.segments.every((s) => s.inline)) return undefined;
    return this.#op(() => readInline(this.#ctx, rec, opts));
  }

  async deleteObject(bucket: string, key: string, opts: DeleteObjectOptions = {}): Promise<DeleteOutcome | undefined> {
    checkBucketName(bucket);
    checkKey(key);
    if (opts.versionId !== undefined && typeof opts.versionId !== 'string')
      throw new TypeError('opts.versionId must be a string');
    return this.#op(() =>
      this.#transaction(async (tx) => {
        if (!(await tx.getBucket(bucket))) throw noSuchBucket(bucket);
        const b = await tx.getBucket(bucket);
        if (!b) throw noSuchBucket(bucket);
        // Only that object, not one written since under the same key (a lifecycle expiry decided on the old one).
        if (opts.ifObjectId !== undefined && (await tx.getObject(bucket, key))?.id !== opts.ifObjectId)
          return undefined;
        if (opts.check) {
          // The version that goes for good: the one named, the object of an unversioned bucket, or the null version
          // a suspended bucket's delete marker replaces; an enabled bucket only gains a marker.
          const gone =
            opts.versionId !== undefined
              ? await tx.getVersion(bucket, key, opts.versionId)
              : b.versioning === undefined
                ? await tx.getObject(bucket, key)
                : b.versioning === 'Suspended'
                  ? await tx.getVersion(bucket, key, 'null')
                  : undefined;
          if (gone && !gone.deleteMarker) opts.check(gone);
        }
        if (opts.versionId !== undefined) return tx.deleteVersion(bucket, key, opts.versionId);
        return tx.deleteObject(bucket, key, opts.owner);
      }),
    );
  }

  async setObjectTags(
    bucket: string,
    key: string,
    tags: Record<string, string> | undefined,
    opts: { versionId?: string } = {},
  ): Promise<ObjectRecord> {
    const picked = tags === undefined ? undefined : pickMetadata({ userMeta: {}, tags }).tags;
    return this.#patchObject(bucket, key, opts.versionId, (next) => {
      if (picked === undefined) delete next.tags;
      else next.tags = picked;
    });
  }

  async setObjectLock(
    bucket: string,
    key: string,
    update: (current: ObjectLock | undefined) => ObjectLock | undefined,
    opts: { versionId?: string } = {},
  ): Promise<ObjectRecord> {
    return this.#patchObject(bucket, key, opts.versionId, (next) => {
      const lock = update(next.lock === undefined ? undefined : pickLock(next.lock));
      if (lock === undefined) delete next.lock;
      else next.lock = pickLock(lock);
    });
  }

  /** Rewrites the latest version (or `versionId`) of an object after `patch` changed a copy of it (data stays). */
  async #patchObject(
    bucket: string,
    key: string,
    versionId: string | undefined,
    patch: (next: ObjectRecord) => void,
  ): Promise<ObjectRecord> {
    checkBucketName(bucket);
    checkKey(key);
    return this.#op(() =>
      this.#transaction(async (tx) => {
        if (!(await tx.getBucket(bucket))) throw noSuchBucket(bucket);
        const rec =
          versionId === undefined ? await tx.getObject(bucket, key) : await tx.getVersion(bucket, key, versionId);
        if (!rec || rec.deleteMarker)
          throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.', { details: { Key: key } });
        const next: ObjectRecord = { ...rec };
        patch(next);
        await tx.updateVersion(next);
        return next;
      }),
    );
  }

  async listObjects(bucket: string, q: ListQuery): Promise<ListResult> {
    return this.#list(bucket, q, () => listKeys((lower) => objectIterator(this.#ctx.kv, bucket, lower), q));
  }

  async listObjectVersions(bucket: string, q: VersionListQuery): Promise<VersionListResult> {
    return this.#list(bucket, q, () => listVersions(this.#ctx.kv, bucket, q));
  }

  /** Runs a listing of an existing bucket, after the checks every listing makes. */
  async #list<T>(bucket: string, q: { maxKeys: number }, list: () => Promise<T>): Promise<T> {
    checkBucketName(bucket);
    if (!Number.isSafeInteger(q?.maxKeys) || q.maxKeys < 0)
      throw new RangeError('q.maxKeys must be a non-negative integer');
    return this.#op(async () => {
      if (!(await this.#buckets.get(bucket))) throw noSuchBucket(bucket);
      return list();
    });
  }

  async copyObject(src: ObjectRecord, dstBucket: string, dstKey: string, opts: CopyOptions): Promise<ObjectRecord> {
    checkBucketName(dstBucket);
    checkKey(dstKey);
    if (typeof opts?.owner !== 'string') throw new TypeError('opts.owner must be a string');
    const metadata = pickMetadata(opts.metadata);
    return this.#op(async () => {
      checkLayout(src); // a record that lies about its size must not pass the lie on to a copy
      const dek = this.unwrapKey(src, opts.sourceCustomer);
      try {
        let md5: Buffer | undefined;
        if (src.enc.scheme === 'SSE-C') md5 = src.enc.md5Sealed ? openMd5(dek, src.enc.md5Sealed) : undefined;
        else if (/^[0-9a-f]{32}$/.test(src.etag)) md5 = Buffer.from(src.etag, 'hex');
        const id = randomUUID();
        const enc = wrapKey(this.#ctx.opts.keyRing, dek, id, src.enc.chunkSize, opts.encryption);
        let etag = src.etag;
        if (enc.scheme === 'SSE-C') {
          // The copy shares its source's data key: its own id makes its ETag its own. Without the MD5 (a multipart
          // source), the source ETag's digest stands in for it and its `-N` stays.
          const [digest, suffix = ''] = src.etag.split(/(?=-\d+$)/);
          etag = ssecEtag(dek, md5 ?? Buffer.from(digest!, 'hex'), id) + (md5 ? '' : suffix);
          if (md5) enc.md5Sealed = sealMd5(dek, md5);
        } else if (md5) {
          etag = md5.toString('hex');
        }
        opts.signal?.throwIfAborted();
        const rec: ObjectRecord = {
          v: 1,
          bucket: dstBucket,
          key: dstKey,
          id,
          size: src.size,
          etag,
          lastModified: new Date().toISOString(),
          owner: opts.owner,
          ...metadata,
          ...(src.checksum ? { checksum: { ...src.checksum } } : {}),
          enc,
          segments: src.segments.map((s) => ({ ...s })),
          ...(src.parts ? { parts: src.parts.map((p) => ({ ...p })) } : {}),
        };
        await this.#transaction(async (tx) => {
          if (!(await tx.getBucket(dstBucket))) throw noSuchBucket(dstBucket);
          checkPreconditions(await tx.getObject(dstBucket, dstKey), opts);
          await tx.putObject(rec);
        });
        return rec;
      } catch (err) {
        if (opts.signal?.aborted && !(err instanceof BlobStoreError)) {
          throw new BlobStoreError('BLOB_ABORTED', 'the copy was aborted', { cause: err });
        }
        throw err;
      } finally {
        dek.fill(0);
      }
    });
  }

  // ---------------------------------------------------------------- generic records

  async putRecord(ns: string, id: string, value: object): Promise<void> {
    checkNamespace(ns);
    checkId(id);
    if (value === null || typeof value !== 'object') throw new TypeError('value must be an object');
    await this.transaction(async (tx) => tx.putRecord(ns, id, value));
  }

  async getRecord<T>(ns: string, id: string): Promise<T | undefined> {
    checkNamespace(ns);
    checkId(id);
    return this.#op(async () => decode<T>(await this.#ctx.kv.get(K.record(ns, id))));
  }

  async listRecords<T>(ns: string, opts: { prefix?: string } = {}): Promise<T[]> {
    checkNamespace(ns);
    return this.#op(async () => {
      const prefix = opts.prefix ?? '';
      const out: T[] = [];
      for await (const e of this.#ctx.kv.scan(K.records(ns, prefix))) {
        if (!K.recordId(e.key, ns).startsWith(prefix)) break;
        out.push(decode<T>(e.value)!);
      }
      return out;
    });
  }

  async deleteRecord(ns: string, id: string): Promise<boolean> {
    checkNamespace(ns);
    checkId(id);
    return this.transaction(async (tx) => tx.deleteRecord(ns, id));
  }

  async acquireJobLease(job: string, ttlMs: number): Promise<boolean> {
    return acquireJobLease(this, this.#nodeId, job, ttlMs);
  }

  // ---------------------------------------------------------------- data keys and segments (multipart, tools)

  newDataKey(
    id: string,
    encryption: WriteEncryption,
    chunkSize = this.#ctx.opts.chunkSize,
  ): { dek: Buffer; enc: ObjectEncryption } {
    return newKey(this.#ctx.opts.keyRing, id, chunkSize, encryption);
  }

  unwrapKey(rec: { id: string; enc: ObjectEncryption }, customer?: SseCustomerKey): Buffer {
    return unwrapKey(this.#ctx.opts.keyRing, rec, customer);
  }

  rewrapKey(rec: { id: string; enc: ObjectEncryption }): ObjectEncryption {
    return rewrapKey(this.#ctx.opts.keyRing, rec);
  }

  async writeSegment(body: Readable, p: SegmentWrite): Promise<WrittenSegment> {
    return this.#op(() => writeSegment(this.#ctx, body, p));
  }

  async discardSegment(segment: Segment): Promise<void> {
    await discardSegment(this.#ctx, segment);
  }

  // ---------------------------------------------------------------- transactions

  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    return this.#op(() => this.#transaction(fn));
  }

  async #transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    const token = {};
    const checks = { bucketName: checkBucketName, key: checkKey, namespace: checkNamespace, id: checkId };
    const blobs = {
      uncommitted: this.#ctx.uncommitted,
      pendingInline: (id: string) => this.#ctx.inlinePending.get(id),
      claims: this.#claims,
      garbageDelayMs: this.#ctx.opts.garbageDelayMs,
    };
    let result: { value: T; done: CommitDone };
    try {
      result = await this.#ctx.kv.transact(async (ktx) => {
        const tx = new MetaTx(ktx, blobs, checks, token);
        const value = await fn(tx);
        return { value, done: await tx.finish() };
      });
    } catch (err) {
      const failed = isKvError(err);
      for (const [id, t] of this.#claims) {
        if (t !== token) continue;
        this.#claims.delete(id);
        if (failed) {
          // In doubt: a failed or timed-out write may be in the database once it is reopened, referencing this blob.
          // Not uncommitted any more, so no discard removes it; the sweep after the next good commit decides.
          this.#ctx.uncommitted.delete(id);
          this.#ctx.inlinePending.delete(id);
          this.#sweepAfterFault = true;
        }
      }
      if (failed) {
        // A write that failed may have landed: what the cache holds is no longer known to be what is committed.
        this.#buckets.clear();
      }
      throw failed ? metaError(err) : err;
    }
    this.#settle(result.done);
    if (this.#sweepAfterFault) {
      this.#sweepAfterFault = false;
      void this.sweep().catch(() => undefined);
    }
    return result.value;
  }

  // ---------------------------------------------------------------- maintenance (open, keys rotate, scrub)

  async sweep(): Promise<SweepResult> {
    return this.#op(() => sweep(this.#ctx));
  }

  async collectGarbage(opts: CollectOptions = {}): Promise<GarbageSweep> {
    return this.#op(() => collectGarbage(gcContext(this.#ctx), opts));
  }

  async gc(opts: GcOptions = {}): Promise<GcReport> {
    const graceMs = opts.graceMs ?? this.#ctx.opts.sweepGraceMs;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new RangeError('opts.graceMs must be an integer ≥ 0');
    return this.#op(() => compareBlobs(gcContext(this.#ctx), { ...opts, graceMs }));
  }

  async rewrapKeys(opts: RewrapOptions = {}): Promise<RewrapResult> {
    return this.#op(() => rewrapKeys(this.#ctx, (fn) => this.#transaction(fn), opts));
  }

  async scrub(opts: ScrubOptions = {}): Promise<ScrubResult> {
    return this.#op(() => scrub(this.#ctx, (rec, o) => this.openObject(rec, o), opts));
  }

  async #op<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new BlobStoreError('BLOB_CLOSED', 'the blob store is closed');
    const p = fn();
    this.#inflight.add(p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(p);
    }
  }
}
