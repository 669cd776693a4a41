import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, addAbortSignal } from 'node:stream';

import { unquoteEtag } from '@coffer/checksum';
import {
  CryptoError,
  deriveStreamKey,
  generateDataKey,
  secureRandom,
  ssecEtag,
  unwrapDataKey,
  wrapDataKey,
  type SseCustomerKey,
} from '@coffer/crypto';
import { LevelEngine, PgEngine, isKvError, type KvEngine, type KvError } from '@coffer/kv';

import { BlobStoreError, ioError, isNoSpace } from './errors.ts';
import { openInline, readSmallBody, sealInline } from './inline.ts';
import { checkLayout } from './layout.ts';
import { listKeys, type KeyIterator } from './list.ts';
import { MetaTx, type CommitDone, type Transaction } from './meta-tx.ts';
import { resolveOptions, type BlobStoreOptions, type FileOps, type ResolvedOptions } from './options.ts';
import { DataLayout, isBlobId, newBlobId } from './paths.ts';
import { OBJECT_STREAM_INFO, PlaintextReader, decryptSteps, planRead, type ReadStep } from './read.ts';
import { K, SEP, decode } from './schema.ts';
import { openMd5, sealMd5 } from './seal.ts';
import type {
  BucketRecord,
  CopyOptions,
  ListQuery,
  ListResult,
  ObjectEncryption,
  ObjectMetadata,
  ObjectRecord,
  OpenOptions,
  PutOptions,
  Segment,
  WriteEncryption,
} from './types.ts';
import { removeBlob, writeBlob } from './write.ts';

export type { Transaction } from './meta-tx.ts';

/** The record namespace of job leases (see `acquireJobLease`). */
const LEASE_NS = 'job-leases';

/** How long a cached bucket record is trusted when other nodes share the metadata. */
const SHARED_CACHE_MS = 2000;
/**
 * When other nodes share the data directory, an unreferenced file younger than this may be another node's write in
 * progress (a temp file is written to as the body arrives; a blob file is committed right after its rename), so the
 * sweeper leaves it.
 */
const SHARED_SWEEP_GRACE_MS = 15 * 60_000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkBucketName(name: unknown): string {
  if (typeof name !== 'string' || name === '' || name.includes(SEP))
    throw new TypeError('bucket must be a non-empty string without NUL');
  return name;
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '' || LONE_SURROGATE.test(key))
    throw new TypeError('key must be a non-empty, well-formed Unicode string');
  return key;
}

function checkNamespace(ns: unknown): string {
  if (typeof ns !== 'string' || !NAMESPACE.test(ns))
    throw new TypeError('ns must match /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/');
  return ns;
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw new TypeError('id must be a non-empty string');
  return id;
}

/** Copies the known metadata fields (and nothing else) of `m`. */
function pickMetadata(m: ObjectMetadata): ObjectMetadata {
  if (m === null || typeof m !== 'object') throw new TypeError('metadata must be an object');
  const out: ObjectMetadata = { userMeta: { ...(m.userMeta ?? {}) } };
  for (const f of [
    'contentType',
    'contentEncoding',
    'contentDisposition',
    'contentLanguage',
    'cacheControl',
    'expires',
  ] as const) {
    const v = m[f];
    if (v !== undefined) {
      if (typeof v !== 'string') throw new TypeError(`metadata.${f} must be a string`);
      out[f] = v;
    }
  }
  for (const [k, v] of Object.entries(out.userMeta)) {
    if (typeof v !== 'string') throw new TypeError(`metadata.userMeta.${k} must be a string`);
  }
  if (m.tags !== undefined) {
    out.tags = { ...m.tags };
    for (const [k, v] of Object.entries(out.tags)) {
      if (typeof v !== 'string') throw new TypeError(`metadata.tags.${k} must be a string`);
    }
  }
  return out;
}

/** Checks If-None-Match: * and If-Match against the current record (`undefined` = no object). */
function checkPreconditions(prev: ObjectRecord | undefined, c: { ifNoneMatch?: boolean; ifMatch?: string }): void {
  if (c.ifNoneMatch && prev !== undefined) {
    throw new BlobStoreError(
      'BLOB_PRECONDITION_FAILED',
      'At least one of the pre-conditions you specified did not hold',
      {
        details: { Condition: 'If-None-Match' },
      },
    );
  }
  if (c.ifMatch !== undefined) {
    if (prev === undefined) throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.');
    const want = unquoteEtag(c.ifMatch);
    if (want !== '*' && want !== prev.etag) {
      throw new BlobStoreError(
        'BLOB_PRECONDITION_FAILED',
        'At least one of the pre-conditions you specified did not hold',
        {
          details: { Condition: 'If-Match' },
        },
      );
    }
  }
}

/**
 * Buckets, objects and their metadata in LevelDB (`DATA/meta`), object data as encrypted chunk files
 * (`DATA/blobs/xx/yy/ID`), with atomic commits and plaintext-range reads. See README.md for the commit protocol.
 */
export class BlobStore {
  readonly #opts: ResolvedOptions;
  readonly #layout: DataLayout;
  /** The metadata engine: the only truth about buckets, objects and references. */
  readonly #kv: KvEngine;
  /** Other nodes share the metadata (and the data directory): caches expire, the sweeper spares young files. */
  readonly #shared: boolean;
  /** This store's identity as the holder of job leases. */
  readonly #nodeId = randomUUID();
  /** Blob files written but not (yet) referenced by a committed record; the sweeper leaves them alone. */
  readonly #uncommitted = new Set<string>();
  /** Ciphertext of uncommitted inline blobs: written under `!d!` by the commit that first references them. */
  readonly #inlinePending = new Map<string, Buffer>();
  /** First references taken by transactions not yet settled (see `BlobState.claims`). */
  readonly #claims = new Map<string, object>();
  /**
   * Bucket records, read on every request: cached once read or written, with the time they were. On LevelDB this
   * store is the only writer while it has the database open (LevelDB's lock) and updates the cache when a commit
   * writes a bucket, so entries never go stale. On a shared engine other nodes write too: an entry is read again
   * once older than {@link SHARED_CACHE_MS}, so another node's change shows within that bound. Every commit reads
   * the bucket inside its transaction, never from the cache.
   */
  readonly #bucketCache = new Map<string, { rec: BucketRecord; at: number }>();
  #bucketGen = 0;
  /** Open readers per blob id: a freed blob with readers is unlinked when the last one closes. */
  readonly #leases = new Map<string, number>();
  readonly #unlinkLater = new Set<string>();
  readonly #inflight = new Set<Promise<unknown>>();
  /**
   * After a commit failed in the engine (its write may have reached the log all the same), the fresh blobs it took
   * were left on disk for the sweep to judge; this is set until the next commit succeeds, which starts that sweep.
   */
  #sweepAfterFault = false;
  #closed = false;

  private constructor(opts: ResolvedOptions, kv: KvEngine) {
    this.#opts = opts;
    this.#layout = new DataLayout(opts.dir);
    this.#kv = kv;
    this.#shared = opts.meta !== undefined;
  }

  /** Bookkeeping once a commit is durable: fresh blobs are committed, freed files go, the bucket cache follows. */
  #settle(done: CommitDone): void {
    for (const id of done.committed) {
      this.#uncommitted.delete(id);
      this.#inlinePending.delete(id);
      this.#claims.delete(id);
    }
    for (const id of done.freed) this.#free(id);
    if (done.buckets.size > 0) {
      this.#bucketGen++;
      for (const [name, rec] of done.buckets) {
        if (rec === null) this.#bucketCache.delete(name);
        else this.#bucketCache.set(name, { rec: freezeBucket(rec), at: Date.now() });
      }
    }
  }

  /**
   * Opens (creating if needed) the data directory: `meta/`, `blobs/`, `tmp/`. Removes everything in `tmp/` and every
   * blob file that no record references (left by a crash between write and commit).
   * Throws `BLOB_LOCKED` if another process (or another BlobStore in this one) has the directory open.
   */
  static async open(options: BlobStoreOptions): Promise<BlobStore> {
    const opts = resolveOptions(options);
    const layout = new DataLayout(opts.dir);
    try {
      for (const d of [layout.meta, layout.blobs, layout.tmp]) await opts.fs.mkdir(d, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError('creating the data directory', err);
    }
    let kv: KvEngine;
    try {
      kv =
        opts.meta !== undefined
          ? await PgEngine.open(opts.meta)
          : await LevelEngine.open(layout.meta, {
              sync: opts.sync,
              commitTimeoutMs: opts.commitTimeoutMs,
              batchHook: opts.batch,
            });
    } catch (err) {
      const e = (err as { cause?: { code?: string; cause?: { code?: string } } }).cause;
      if (e?.code === 'LEVEL_LOCKED' || e?.cause?.code === 'LEVEL_LOCKED') {
        throw new BlobStoreError(
          'BLOB_LOCKED',
          `the data directory ${opts.dir} is in use by another process (LevelDB lock held)`,
          { cause: err },
        );
      }
      if (isKvError(err)) throw ioError('opening the metadata database', err);
      throw err;
    }
    const store = new BlobStore(opts, kv);
    try {
      await store.sweep();
    } catch (err) {
      await kv.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  /** Waits for in-flight operations, then closes the database. Later calls fail with `BLOB_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.#kv.close();
  }

  /** The data directory. */
  get dir(): string {
    return this.#opts.dir;
  }

  // ---------------------------------------------------------------- buckets

  /** Creates a bucket. `BLOB_BUCKET_EXISTS` (details.owner = the existing owner) if the name is taken. */
  async createBucket(name: string, owner: string, opts: { location?: string } = {}): Promise<BucketRecord> {
    checkBucketName(name);
    if (typeof owner !== 'string' || owner === '') throw new TypeError('owner must be a non-empty string');
    return this.transaction(async (tx) => {
      const existing = await tx.getBucket(name);
      if (existing) {
        throw new BlobStoreError('BLOB_BUCKET_EXISTS', 'The requested bucket name is not available.', {
          details: { owner: existing.owner },
        });
      }
      const rec: BucketRecord = {
        v: 1,
        name,
        owner,
        created: new Date().toISOString(),
        location: opts.location || 'us-east-1',
      };
      tx.putBucket(rec);
      return rec;
    });
  }

  /** A bucket, or undefined. */
  async getBucket(name: string): Promise<BucketRecord | undefined> {
    checkBucketName(name);
    return this.#op(() => this.#bucket(name));
  }

  /** All buckets, sorted by name (UTF-8 byte order). */
  async listBuckets(): Promise<BucketRecord[]> {
    return this.#op(async () => {
      const out: BucketRecord[] = [];
      for await (const e of this.#kv.scan(K.buckets)) out.push(decode<BucketRecord>(e.value)!);
      return out;
    });
  }

  /** Changes a bucket's default encryption (`{ encryption: undefined }` removes it). `BLOB_NO_SUCH_BUCKET`. */
  async updateBucket(
    name: string,
    patch: Partial<Pick<BucketRecord, 'encryption' | 'cors' | 'tags' | 'lifecycle'>>,
  ): Promise<void> {
    checkBucketName(name);
    await this.transaction(async (tx) => {
      const rec = await tx.getBucket(name);
      if (!rec) throw noSuchBucket(name);
      const next: BucketRecord = { ...rec };
      if ('encryption' in patch) {
        if (patch.encryption === undefined) delete next.encryption;
        else {
          const { sseAlgorithm, blockedEncryptionTypes } = patch.encryption;
          next.encryption = blockedEncryptionTypes
            ? { sseAlgorithm, blockedEncryptionTypes: [...blockedEncryptionTypes] }
            : { sseAlgorithm };
        }
      }
      if ('cors' in patch) {
        if (patch.cors === undefined) delete next.cors;
        else next.cors = structuredClone(patch.cors);
      }
      if ('tags' in patch) {
        if (patch.tags === undefined) delete next.tags;
        else next.tags = { ...patch.tags };
      }
      if ('lifecycle' in patch) {
        if (patch.lifecycle === undefined) delete next.lifecycle;
        else next.lifecycle = structuredClone(patch.lifecycle);
      }
      tx.putBucket(next);
    });
  }

  /**
   * Deletes an empty bucket. `BLOB_NO_SUCH_BUCKET`; `BLOB_BUCKET_NOT_EMPTY` if it holds an object, or if `inUse`
   * (run inside the commit, e.g. "has multipart uploads") returns true. `cascade` runs inside the same commit once
   * the bucket is found empty, to remove what else belongs to it (multipart uploads): one batch removes it all.
   */
  async deleteBucket(
    name: string,
    opts: {
      inUse?: (tx: Transaction) => Promise<boolean>;
      cascade?: (tx: Transaction) => Promise<void>;
    } = {},
  ): Promise<void> {
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

  /**
   * Stores an object: body → MD5/size → encryption → temp file → fsync → rename → `beforeCommit` → one LevelDB batch
   * (object record + refcounts, with the preconditions checked in the group commit). A body of at most `inlineMax`
   * bytes is encrypted in memory instead and its ciphertext goes into the same batch as the record (no file). The
   * replaced object's blob files are deleted after the commit. On any failure or abort nothing becomes visible and
   * no file is left.
   *
   * The body is read but not destroyed on failure (its owner decides; Node's HTTP server discards an unread request).
   * Errors: `BLOB_NO_SUCH_BUCKET`, `BLOB_PRECONDITION_FAILED`, `BLOB_NO_SUCH_KEY` (If-Match on no object),
   * `BLOB_TOO_LARGE`, `BLOB_ABORTED`, `BLOB_IO`; the body's own errors and `beforeCommit`'s pass through.
   */
  async putObject(bucket: string, key: string, body: Readable, opts: PutOptions): Promise<ObjectRecord> {
    checkBucketName(bucket);
    checkKey(key);
    if (typeof opts?.owner !== 'string') throw new TypeError('opts.owner must be a string');
    const metadata = pickMetadata(opts.metadata);
    if (opts.maxSize !== undefined && !(Number.isSafeInteger(opts.maxSize) && opts.maxSize >= 0)) {
      throw new RangeError('opts.maxSize must be a non-negative integer');
    }
    if (opts.sizeHint !== undefined && !(Number.isSafeInteger(opts.sizeHint) && opts.sizeHint >= 0)) {
      throw new RangeError('opts.sizeHint must be a non-negative integer');
    }
    return this.#op(async () => {
      // Cheap early checks so that a doomed upload is not stored first; the commit checks again. A body known to be
      // small (sizeHint) is read first instead: nothing is stored before the commit, whose checks are enough.
      const early = async (): Promise<void> => {
        if (!(await this.#bucket(bucket))) throw noSuchBucket(bucket);
        checkPreconditions(await this.#object(bucket, key), opts);
      };
      const limit = this.#opts.inlineMax;
      const tryInline = limit > 0 && !(opts.sizeHint !== undefined && opts.sizeHint > limit);
      let checked = false;
      if (!(tryInline && opts.sizeHint !== undefined)) {
        await early();
        checked = true;
      }

      const id = randomUUID();
      const chunkSize = this.#opts.chunkSize;
      const { dek, enc } = this.#newKey(id, chunkSize, opts.encryption);
      const salt = secureRandom(16);
      let seg: { segment: Segment; plainSize: number; md5: Buffer } | undefined;
      let fileBody = body;
      if (tryInline) {
        const small = await readSmallBody(body, limit, opts.maxSize, opts.signal);
        if (small.whole)
          seg = this.#inlineSegment(small.plain, small.md5, { dek, salt, info: OBJECT_STREAM_INFO, chunkSize });
        else fileBody = small.rest;
      }
      if (!seg) {
        if (!checked) await early();
        seg = await this.#writeSegment(fileBody, {
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
        await this.#discard(seg.segment);
      }
    });
  }

  /** The object record, or undefined. */
  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    checkBucketName(bucket);
    checkKey(key);
    return this.#op(() => this.#object(bucket, key));
  }

  /**
   * Checks the key for an object without reading data (HEAD, 0-byte objects): SSE-C needs `customer`
   * (`BLOB_SSEC_REQUIRED`; a wrong key → CryptoError `CRYPTO_WRONG_KEY`); SSE-S3 refuses one (`BLOB_SSEC_NOT_APPLICABLE`).
   */
  verifyKey(rec: ObjectRecord, customer?: SseCustomerKey): void {
    this.unwrapKey(rec, customer).fill(0);
  }

  /**
   * Opens the plaintext of an object, or of the inclusive `range` within `0..size-1`. The data key is unwrapped and
   * the first piece of plaintext read and authenticated before the promise resolves, so a wrong key
   * (`CRYPTO_WRONG_KEY`) or a corrupt start (`CRYPTO_AUTH_FAILED`) rejects before any header is sent. A later
   * corrupt chunk errors the stream (never passing unauthenticated bytes). `BLOB_NO_SUCH_KEY` if the object was
   * deleted in the meantime; `BLOB_CORRUPT` if the record disagrees with itself about the object's size (before the
   * key is unwrapped), or a blob file is missing or not of its recorded size (before its first byte is sent).
   */
  async openObject(rec: ObjectRecord, opts: OpenOptions = {}): Promise<Readable> {
    return this.#op(async () => {
      const steps = planRead(rec, opts.range); // before the unwrap: a bad record or range leaves no key to wipe
      const dek = this.unwrapKey(rec, opts.customer);
      if (steps.every((s) => s.segment.inline)) {
        const parts = await this.#readInline(rec, dek, steps, opts.signal);
        const reader = new Readable({
          read() {
            for (const p of parts) if (p.length > 0) this.push(p);
            this.push(null);
          },
        });
        if (opts.signal) addAbortSignal(opts.signal, reader);
        return reader;
      }
      const blobIds = steps.filter((s) => !s.segment.inline).map((s) => s.segment.blobId);
      this.#lease(blobIds);
      let gen: AsyncGenerator<Buffer, void, undefined> | undefined;
      let first: IteratorResult<Buffer, void>;
      try {
        opts.signal?.throwIfAborted();
        gen = steps.some((s) => s.segment.inline)
          ? this.#mixedSteps(dek, steps)
          : decryptSteps(this.#layout, dek, steps, this.#opts.readBufferSize, this.#opts.cryptoPool);
        first = await gen.next();
        opts.signal?.throwIfAborted();
      } catch (err) {
        await gen?.return(undefined).catch(() => undefined);
        this.#unlease(blobIds);
        throw await this.#readError(rec, err, opts.signal);
      }
      const reader = new PlaintextReader(gen, first, this.#opts.readBufferSize);
      reader.once('close', () => this.#unlease(blobIds));
      if (opts.signal) addAbortSignal(opts.signal, reader);
      return reader;
    });
  }

  /**
   * The plaintext (or the inclusive `range` of it) of an object stored inline, read and authenticated whole, as one
   * Buffer; `undefined` for an object in blob files (use {@link openObject}). Small objects are stored inline
   * (`inlineMax`), so a server can answer them without a stream. Same checks and errors as {@link openObject}.
   */
  async readInline(rec: ObjectRecord, opts: OpenOptions = {}): Promise<Buffer | undefined> {
    if (!rec.segments.every((s) => s.inline)) return undefined;
    return this.#op(async () => {
      const steps = planRead(rec, opts.range);
      const parts = await this.#readInline(rec, this.unwrapKey(rec, opts.customer), steps, opts.signal);
      return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    });
  }

  /** Plaintext of inline steps, authenticated; wipes `dek`. */
  async #readInline(
    rec: ObjectRecord,
    dek: Buffer,
    steps: readonly ReadStep[],
    signal: AbortSignal | undefined,
  ): Promise<Buffer[]> {
    try {
      signal?.throwIfAborted();
      const parts: Buffer[] = [];
      for (const step of steps) parts.push(await this.#openInline(dek, step));
      signal?.throwIfAborted();
      return parts;
    } catch (err) {
      throw await this.#readError(rec, err, signal);
    } finally {
      dek.fill(0);
    }
  }

  /** Maps an error of opening a read: aborts, and missing data of an object replaced or deleted meanwhile. */
  async #readError(rec: ObjectRecord, err: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    if (signal?.aborted) return new BlobStoreError('BLOB_ABORTED', 'the read was aborted', { cause: err });
    if (err instanceof BlobStoreError && err.code === 'BLOB_CORRUPT') {
      // A missing file (or inline entry) of an object deleted or overwritten since `rec` was read is not corruption.
      const now = await this.#object(rec.bucket, rec.key);
      if (now?.id !== rec.id)
        return new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.', { cause: err });
    }
    return err;
  }

  /** Verified plaintext of one inline step. `BLOB_CORRUPT` if its data entry is missing. */
  async #openInline(dek: Buffer, step: ReadStep): Promise<Buffer> {
    const seg = step.segment;
    const sealed = await this.#kv.get(K.data(seg.blobId));
    if (sealed === undefined) throw new BlobStoreError('BLOB_CORRUPT', `inline data of blob ${seg.blobId} is missing`);
    const key = deriveStreamKey(dek, Buffer.from(seg.salt, 'base64'), seg.info ?? OBJECT_STREAM_INFO);
    try {
      return openInline(key, sealed, seg.plainSize, seg.chunkSize, step.start, step.end);
    } finally {
      key.fill(0);
    }
  }

  /** Plaintext of steps of which some are inline and some files (a copy can mix them only in theory: kept general). */
  async *#mixedSteps(dek: Buffer, steps: readonly ReadStep[]): AsyncGenerator<Buffer, void, undefined> {
    for (const step of steps) {
      if (step.segment.inline) {
        const p = await this.#openInline(dek, step);
        if (p.length > 0) yield p;
      } else {
        yield* decryptSteps(this.#layout, dek, [step], this.#opts.readBufferSize, this.#opts.cryptoPool);
      }
    }
  }

  /** Deletes an object; false if there was none. Its blob files go after the commit. `BLOB_NO_SUCH_BUCKET`. */
  async deleteObject(bucket: string, key: string, opts: { ifObjectId?: string } = {}): Promise<boolean> {
    checkBucketName(bucket);
    checkKey(key);
    return this.#op(() =>
      this.#transaction(async (tx) => {
        if (!(await tx.getBucket(bucket))) throw noSuchBucket(bucket);
        // Only that object, not one written since under the same key (a lifecycle expiry decided on the old one).
        if (opts.ifObjectId !== undefined && (await tx.getObject(bucket, key))?.id !== opts.ifObjectId) return false;
        return tx.deleteObject(bucket, key);
      }),
    );
  }

  /**
   * Replaces an object's tags (`undefined` removes them), keeping its data, ETag and Last-Modified, as S3's
   * PutObjectTagging does. `BLOB_NO_SUCH_BUCKET`, `BLOB_NO_SUCH_KEY`.
   */
  async setObjectTags(bucket: string, key: string, tags: Record<string, string> | undefined): Promise<ObjectRecord> {
    checkBucketName(bucket);
    checkKey(key);
    const picked = tags === undefined ? undefined : pickMetadata({ userMeta: {}, tags }).tags;
    return this.#op(() =>
      this.#transaction(async (tx) => {
        if (!(await tx.getBucket(bucket))) throw noSuchBucket(bucket);
        const rec = await tx.getObject(bucket, key);
        if (!rec)
          throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.', { details: { Key: key } });
        const next: ObjectRecord = { ...rec };
        if (picked === undefined) delete next.tags;
        else next.tags = picked;
        await tx.putObject(next);
        return next;
      }),
    );
  }

  /**
   * Lists a bucket's objects in UTF-8 binary key order with prefix, delimiter (common prefixes), `after`
   * (exclusive marker) and maxKeys. `BLOB_NO_SUCH_BUCKET`.
   */
  async listObjects(bucket: string, q: ListQuery): Promise<ListResult> {
    checkBucketName(bucket);
    if (!Number.isSafeInteger(q?.maxKeys) || q.maxKeys < 0)
      throw new RangeError('q.maxKeys must be a non-negative integer');
    return this.#op(async () => {
      if (!(await this.#bucket(bucket))) throw noSuchBucket(bucket);
      return listKeys((lower) => this.#objectIterator(bucket, lower), q);
    });
  }

  /**
   * Copies an object without touching its data: the data key is unwrapped with the source's key and re-wrapped for
   * the new object id under the destination's (master key or a customer key), and the destination shares the
   * source's blob files (refcount +1 each, in the commit batch). This also rotates an SSE-C key or switches between
   * SSE-S3 and SSE-C. The ETag follows the destination scheme (plaintext MD5 for SSE-S3, `ssecEtag` bound to the new
   * object's id for SSE-C, a multipart one with its `-N`; other multipart ETags are kept). `BLOB_NO_SUCH_KEY` if the
   * source was deleted before the commit; `BLOB_CORRUPT` if the source record disagrees with itself about its size
   * (layout.ts).
   */
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
        const enc = this.#wrapKey(dek, id, src.enc.chunkSize, opts.encryption);
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

  /** Writes a record (JSON) in namespace `ns` (1–64 of `[A-Za-z0-9._-]`). */
  async putRecord(ns: string, id: string, value: object): Promise<void> {
    checkNamespace(ns);
    checkId(id);
    if (value === null || typeof value !== 'object') throw new TypeError('value must be an object');
    await this.transaction(async (tx) => tx.putRecord(ns, id, value));
  }

  /** A record, or undefined. */
  async getRecord<T>(ns: string, id: string): Promise<T | undefined> {
    checkNamespace(ns);
    checkId(id);
    return this.#op(async () => decode<T>(await this.#kv.get(K.record(ns, id))));
  }

  /** All records of a namespace in id order (UTF-8 bytes), optionally only ids starting with `prefix`. */
  async listRecords<T>(ns: string, opts: { prefix?: string } = {}): Promise<T[]> {
    checkNamespace(ns);
    return this.#op(async () => {
      const prefix = opts.prefix ?? '';
      const out: T[] = [];
      for await (const e of this.#kv.scan(K.records(ns, prefix))) {
        if (!K.recordId(e.key, ns).startsWith(prefix)) break;
        out.push(decode<T>(e.value)!);
      }
      return out;
    });
  }

  /** Deletes a record; false if there was none. */
  async deleteRecord(ns: string, id: string): Promise<boolean> {
    checkNamespace(ns);
    checkId(id);
    return this.transaction(async (tx) => tx.deleteRecord(ns, id));
  }

  /**
   * Takes (or keeps) the lease on a background job for `ttlMs`, so that one node at a time runs it when several
   * share the metadata (the multipart sweep, the lifecycle run): true when this store holds it now. A lease whose
   * holder stopped renewing it (a node gone) is free once it has run out. On LevelDB this store is the only one and
   * always gets it.
   */
  async acquireJobLease(job: string, ttlMs: number): Promise<boolean> {
    checkId(job);
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer');
    return this.transaction(async (tx) => {
      const now = Date.now();
      const cur = await tx.getRecord<{ holder: string; until: number }>(LEASE_NS, job);
      if (cur && cur.holder !== this.#nodeId && cur.until > now) return false;
      tx.putRecord(LEASE_NS, job, { holder: this.#nodeId, until: now + ttlMs });
      return true;
    });
  }

  // ---------------------------------------------------------------- lower level (multipart, tools)

  /**
   * A new data key for object `id`, wrapped per `encryption` (SSE-S3: the active master key, `kekId` = its id;
   * SSE-C: the customer key, `kekId` = `ssec`, and its MD5 kept). The caller must wipe `dek` after use.
   */
  newDataKey(
    id: string,
    encryption: WriteEncryption,
    chunkSize = this.#opts.chunkSize,
  ): { dek: Buffer; enc: ObjectEncryption } {
    return this.#newKey(id, chunkSize, encryption);
  }

  /**
   * Unwraps an object's data key: SSE-C with `customer` (`BLOB_SSEC_REQUIRED` without one; CryptoError
   * `CRYPTO_WRONG_KEY` for a wrong one), SSE-S3 with the master key `enc.wrap.kekId` (`BLOB_SSEC_NOT_APPLICABLE` if a
   * customer key is given; `BLOB_CORRUPT` if it fails; CryptoError `CRYPTO_UNKNOWN_KEY` if the key id is unknown).
   */
  unwrapKey(rec: { id: string; enc: ObjectEncryption }, customer?: SseCustomerKey): Buffer {
    const enc = rec.enc;
    if (enc.scheme === 'SSE-C') {
      if (!customer) {
        throw new BlobStoreError(
          'BLOB_SSEC_REQUIRED',
          'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
        );
      }
      return unwrapDataKey(enc.wrap, { kek: customer.key, objectId: rec.id, chunkSize: enc.chunkSize });
    }
    if (customer)
      throw new BlobStoreError(
        'BLOB_SSEC_NOT_APPLICABLE',
        'The encryption parameters are not applicable to this object.',
      );
    const kek = this.#opts.keyRing.key(enc.wrap.kekId);
    try {
      return unwrapDataKey(enc.wrap, { kek, objectId: rec.id, chunkSize: enc.chunkSize });
    } catch (err) {
      if (err instanceof CryptoError && err.code === 'CRYPTO_WRONG_KEY') {
        throw new BlobStoreError('BLOB_CORRUPT', 'the master key does not unwrap the data key of this object', {
          cause: err,
        });
      }
      throw err;
    }
  }

  /**
   * Writes one encrypted stream (an object body or a multipart part) under the stream key
   * HKDF(dek, salt, info) into a new blob file: durable, but referenced by nothing until a {@link transaction} puts
   * a record that uses it (or calls `addRefs`). Until then the sweeper leaves it alone; call
   * {@link discardSegment} if it is not committed.
   */
  async writeSegment(
    body: Readable,
    p: { dek: Buffer; salt: Buffer; info: string; chunkSize?: number; maxSize?: number; signal?: AbortSignal },
  ): Promise<{ segment: Segment; plainSize: number; md5: Buffer }> {
    return this.#op(() => this.#writeSegment(body, p));
  }

  async #writeSegment(
    body: Readable,
    p: { dek: Buffer; salt: Buffer; info: string; chunkSize?: number; maxSize?: number; signal?: AbortSignal },
  ): Promise<{ segment: Segment; plainSize: number; md5: Buffer }> {
    const chunkSize = p.chunkSize ?? this.#opts.chunkSize;
    const streamKey = deriveStreamKey(p.dek, p.salt, p.info);
    let blobId: string | undefined;
    try {
      const blob = await writeBlob(this.#layout, this.#opts, body, {
        streamKey,
        chunkSize,
        maxSize: p.maxSize,
        signal: p.signal,
        onCreate: (id) => {
          blobId = id;
          this.#uncommitted.add(id);
        },
      });
      const segment: Segment = {
        blobId: blob.blobId,
        plainSize: blob.plainSize,
        encSize: blob.encSize,
        salt: p.salt.toString('base64'),
        chunkSize,
        info: p.info,
      };
      return { segment, plainSize: blob.plainSize, md5: blob.md5 };
    } catch (err) {
      if (blobId !== undefined) this.#uncommitted.delete(blobId);
      throw err;
    } finally {
      streamKey.fill(0);
    }
  }

  /** Removes the blob file of a segment from {@link writeSegment} unless a commit references it (then a no-op). */
  async discardSegment(segment: Segment): Promise<void> {
    await this.#discard(segment);
  }

  async #discard(segment: Segment): Promise<void> {
    if (!this.#uncommitted.delete(segment.blobId)) return;
    if (segment.inline) this.#inlinePending.delete(segment.blobId);
    else await removeBlob(this.#opts.fs, this.#layout, segment.blobId);
  }

  /**
   * Encrypts a small body in memory into an inline segment, held (uncommitted) until the commit that references it
   * writes its ciphertext to `d` in the same batch as the record; {@link #discard} drops it.
   */
  #inlineSegment(
    plain: Buffer,
    md5: Buffer,
    p: { dek: Buffer; salt: Buffer; info: string; chunkSize: number },
  ): { segment: Segment; plainSize: number; md5: Buffer } {
    const streamKey = deriveStreamKey(p.dek, p.salt, p.info);
    let sealed: Buffer;
    try {
      sealed = sealInline(streamKey, plain, p.chunkSize);
    } finally {
      streamKey.fill(0);
    }
    const blobId = newBlobId();
    this.#uncommitted.add(blobId);
    this.#inlinePending.set(blobId, sealed);
    const segment: Segment = {
      blobId,
      plainSize: plain.length,
      encSize: sealed.length,
      salt: p.salt.toString('base64'),
      chunkSize: p.chunkSize,
      info: p.info,
      inline: true,
    };
    return { segment, plainSize: plain.length, md5 };
  }

  /**
   * Runs `fn` in the next group commit (alone, in arrival order, seeing the writes of the transactions before it)
   * and applies everything it wrote in that group's one LevelDB batch (`sync` per the options); resolves once the
   * batch is written. If `fn` throws, nothing of it is written. Blob files whose refcount reaches 0 are deleted after
   * the commit; inline blobs by the commit itself.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    return this.#op(() => this.#transaction(fn));
  }

  async #transaction<T>(fn: (tx: Transaction) => Promise<T> | T): Promise<T> {
    const token = {};
    const checks = { bucketName: checkBucketName, key: checkKey, namespace: checkNamespace, id: checkId };
    const blobs = {
      uncommitted: this.#uncommitted,
      pendingInline: (id: string) => this.#inlinePending.get(id),
      claims: this.#claims,
    };
    let result: { value: T; done: CommitDone };
    try {
      result = await this.#kv.transact(async (ktx) => {
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
          this.#uncommitted.delete(id);
          this.#inlinePending.delete(id);
          this.#sweepAfterFault = true;
        }
      }
      if (failed) {
        // A write that failed may have landed: what the cache holds is no longer known to be what is committed.
        this.#bucketGen++;
        this.#bucketCache.clear();
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

  /**
   * Removes every file in `tmp/` and every blob file without a refcount entry, except those of writes in progress
   * (this process's; with shared metadata, every file younger than 15 minutes, which may be another node's).
   * Runs at open (the only caller; there is no `coffer gc` yet); safe to run at any time.
   */
  async sweep(): Promise<{ tmpFiles: number; blobFiles: number }> {
    return this.#op(async () => {
      let tmpFiles = 0;
      let blobFiles = 0;
      try {
        const fs = this.#opts.fs;
        for (const name of await fs.readdir(this.#layout.tmp)) {
          if (this.#uncommitted.has(name) || (await this.#young(path.join(this.#layout.tmp, name)))) continue;
          this.#opts.point?.('sweep-unlink');
          await fs.rm(path.join(this.#layout.tmp, name), { recursive: true, force: true });
          tmpFiles++;
        }
        for (const xx of await readdirSafe(fs, this.#layout.blobs)) {
          for (const yy of await readdirSafe(fs, path.join(this.#layout.blobs, xx))) {
            const dir = path.join(this.#layout.blobs, xx, yy);
            const ids = (await readdirSafe(fs, dir)).filter((n) => isBlobId(n) && n.startsWith(xx + yy));
            if (ids.length === 0) continue;
            // In a transaction: no commit can reference a blob between this read and the check below (a first
            // reference needs the blob uncommitted, which is checked inside the commit's own transaction).
            const dead = await this.#kv.transact(async (tx) => {
              const refs = await Promise.all(ids.map((id) => tx.get(K.ref(id))));
              return ids.filter((id, i) => refs[i] === undefined && !this.#uncommitted.has(id));
            });
            for (const id of dead) {
              if (await this.#young(path.join(dir, id))) continue;
              this.#opts.point?.('sweep-unlink');
              await fs.rm(path.join(dir, id), { force: true });
              blobFiles++;
            }
          }
        }
      } catch (err) {
        throw ioError('sweeping the data directory', err);
      }
      return { tmpFiles, blobFiles };
    });
  }

  // ---------------------------------------------------------------- maintenance (coffer keys rotate, coffer scrub)

  /**
   * Re-wraps an SSE-S3 data key under the active master key (key rotation re-wraps, it never re-encrypts data).
   * Returns `enc` unchanged for SSE-C or when it already uses the active key.
   */
  rewrapKey(rec: { id: string; enc: ObjectEncryption }): ObjectEncryption {
    if (rec.enc.scheme !== 'SSE-S3' || rec.enc.wrap.kekId === this.#opts.keyRing.activeId) return rec.enc;
    const dek = this.unwrapKey(rec);
    try {
      return {
        ...this.#wrapKey(dek, rec.id, rec.enc.chunkSize, { scheme: 'SSE-S3' }),
        ...(rec.enc.md5Sealed ? { md5Sealed: rec.enc.md5Sealed } : {}),
      };
    } finally {
      dek.fill(0);
    }
  }

  /**
   * Re-wraps the data key of every SSE-S3 object not wrapped under the active master key, in commits of
   * `batchSize` objects (an object changed meanwhile is left to its new version). Multipart uploads in progress
   * are records of another package: it re-wraps them with {@link rewrapKey}.
   */
  async rewrapKeys(
    opts: {
      batchSize?: number;
      signal?: AbortSignal;
      onProgress?: (p: { scanned: number; rewrapped: number }) => void;
    } = {},
  ): Promise<{ scanned: number; rewrapped: number }> {
    const batchSize = opts.batchSize ?? 100;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new RangeError('opts.batchSize must be a positive integer');
    return this.#op(async () => {
      const active = this.#opts.keyRing.activeId;
      let scanned = 0;
      let rewrapped = 0;
      let pending: ObjectRecord[] = [];
      const flush = async (): Promise<void> => {
        const batch = pending;
        pending = [];
        if (batch.length === 0) return;
        rewrapped += await this.#transaction(async (tx) => {
          let n = 0;
          for (const old of batch) {
            const cur = await tx.getObject(old.bucket, old.key);
            if (!cur || cur.id !== old.id || cur.enc.scheme !== 'SSE-S3' || cur.enc.wrap.kekId === active) continue;
            await tx.putObject({ ...cur, enc: this.rewrapKey(cur) });
            n++;
          }
          return n;
        });
        opts.onProgress?.({ scanned, rewrapped });
      };
      for await (const rec of this.#objectRecords()) {
        opts.signal?.throwIfAborted();
        scanned++;
        if (rec.enc.scheme === 'SSE-S3' && rec.enc.wrap.kekId !== active) pending.push(rec);
        if (pending.length >= batchSize) await flush();
      }
      await flush();
      opts.onProgress?.({ scanned, rewrapped });
      return { scanned, rewrapped };
    });
  }

  /**
   * Verifies stored data: every record must agree with itself about the object's size (layout.ts), every blob file
   * must exist with its recorded size, and every SSE-S3 object must decrypt and authenticate end to end, final chunks
   * included (SSE-C objects cannot be decrypted without their key: only sizes are checked). Problems are reported,
   * not repaired.
   */
  async scrub(
    opts: { signal?: AbortSignal; onProgress?: (p: { objects: number; bytes: number }) => void } = {},
  ): Promise<{
    objects: number;
    bytes: number;
    sizeOnly: number;
    failures: { bucket: string; key: string; code: string; message: string }[];
  }> {
    return this.#op(async () => {
      const failures: { bucket: string; key: string; code: string; message: string }[] = [];
      let objects = 0;
      let bytes = 0;
      let sizeOnly = 0;
      for await (const rec of this.#objectRecords()) {
        opts.signal?.throwIfAborted();
        objects++;
        try {
          checkLayout(rec);
          for (const seg of rec.segments) {
            if (seg.inline) {
              const sealed = await this.#kv.get(K.data(seg.blobId));
              if (sealed === undefined)
                throw new BlobStoreError('BLOB_CORRUPT', `inline data of blob ${seg.blobId} is missing`);
              if (sealed.length !== seg.encSize)
                throw new BlobStoreError(
                  'BLOB_CORRUPT',
                  `inline blob ${seg.blobId} has ${sealed.length} bytes, expected ${seg.encSize}`,
                );
              continue;
            }
            let size: number;
            try {
              size = (await stat(this.#layout.blobPath(seg.blobId))).size;
            } catch (cause) {
              throw new BlobStoreError('BLOB_CORRUPT', `blob file ${seg.blobId} is missing`, { cause });
            }
            if (size !== seg.encSize)
              throw new BlobStoreError(
                'BLOB_CORRUPT',
                `blob file ${seg.blobId} has ${size} bytes, expected ${seg.encSize}`,
              );
          }
          if (rec.enc.scheme === 'SSE-C') {
            sizeOnly++;
          } else {
            const stream = await this.openObject(rec, { signal: opts.signal });
            for await (const chunk of stream) bytes += (chunk as Buffer).length;
          }
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          const e = err as { code?: string; message?: string };
          failures.push({
            bucket: rec.bucket,
            key: rec.key,
            code: e.code ?? 'ERROR',
            message: e.message ?? String(err),
          });
        }
        opts.onProgress?.({ objects, bytes });
      }
      return { objects, bytes, sizeOnly, failures };
    });
  }

  // ---------------------------------------------------------------- internals

  #newKey(id: string, chunkSize: number, encryption: WriteEncryption): { dek: Buffer; enc: ObjectEncryption } {
    const dek = generateDataKey();
    return { dek, enc: this.#wrapKey(dek, id, chunkSize, encryption) };
  }

  #wrapKey(dek: Buffer, id: string, chunkSize: number, encryption: WriteEncryption): ObjectEncryption {
    if (encryption?.scheme === 'SSE-C') {
      const c = encryption.customer;
      if (!c || !(c.key instanceof Uint8Array) || typeof c.keyMD5 !== 'string')
        throw new TypeError('encryption.customer must be an SseCustomerKey');
      return {
        scheme: 'SSE-C',
        wrap: wrapDataKey(dek, { scheme: 'SSE-C', kek: c.key, kekId: 'ssec', objectId: id, chunkSize }),
        keyMD5: c.keyMD5,
        chunkSize,
      };
    }
    if (encryption?.scheme !== 'SSE-S3') throw new TypeError("encryption.scheme must be 'SSE-S3' or 'SSE-C'");
    const ring = this.#opts.keyRing;
    const kekId = ring.activeId;
    return {
      scheme: 'SSE-S3',
      wrap: wrapDataKey(dek, { scheme: 'SSE-S3', kek: ring.key(kekId), kekId, objectId: id, chunkSize }),
      chunkSize,
    };
  }

  /** A committed bucket record, from the cache or the database (which then fills the cache). */
  async #bucket(name: string): Promise<BucketRecord | undefined> {
    const hit = this.#bucketCache.get(name);
    if (hit && !(this.#shared && Date.now() - hit.at > SHARED_CACHE_MS)) return hit.rec;
    const gen = this.#bucketGen;
    const rec = decode<BucketRecord>(await this.#kv.get(K.bucket(name)));
    // A commit that wrote buckets meanwhile may have made this read stale: then leave the cache alone.
    if (gen === this.#bucketGen) {
      if (rec) this.#bucketCache.set(name, { rec: freezeBucket(rec), at: Date.now() });
      else this.#bucketCache.delete(name);
    }
    return rec;
  }

  /** True when other nodes share the data directory and the file at `p` may still be one's write in progress. */
  async #young(p: string): Promise<boolean> {
    if (!this.#shared) return false;
    try {
      return Date.now() - (await stat(p)).mtimeMs < SHARED_SWEEP_GRACE_MS;
    } catch {
      return true; // gone meanwhile, or not ours to judge now
    }
  }

  /**
   * True while the store refuses writes (`BLOB_UNAVAILABLE`) after a failed metadata write, until its engine has
   * reopened the database (on the next write, once there is room). Reads go on meanwhile.
   */
  get recovering(): boolean {
    return this.#kv.recovering;
  }

  /** A committed object record, or undefined. */
  async #object(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    return decode<ObjectRecord>(await this.#kv.get(K.object(bucket, key)));
  }

  /** Every object record, in key order. */
  async *#objectRecords(): AsyncGenerator<ObjectRecord> {
    for await (const e of this.#kv.scan(K.objects)) yield decode<ObjectRecord>(e.value)!;
  }

  /**
   * The listing iterator over one bucket's keys from `lower`: an engine scan, restarted at the target on a seek
   * (listing seeks past every key under a common prefix).
   */
  #objectIterator(bucket: string, lower: { gt?: string; gte?: string }): KeyIterator {
    const end = K.objectsEnd(bucket);
    let it: AsyncIterator<{ key: Buffer; value: Buffer }> | undefined;
    const start = (range: { gt?: Buffer; gte?: Buffer }) => {
      void it?.return?.();
      it = this.#kv.scan({ ...range, lt: end })[Symbol.asyncIterator]();
    };
    start(
      lower.gt !== undefined
        ? { gt: K.objectsFrom(bucket, lower.gt) }
        : { gte: K.objectsFrom(bucket, lower.gte ?? '') },
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

  #lease(ids: readonly string[]): void {
    for (const id of ids) this.#leases.set(id, (this.#leases.get(id) ?? 0) + 1);
  }

  #unlease(ids: readonly string[]): void {
    for (const id of ids) {
      const n = (this.#leases.get(id) ?? 1) - 1;
      if (n > 0) {
        this.#leases.set(id, n);
        continue;
      }
      this.#leases.delete(id);
      if (this.#unlinkLater.delete(id)) void removeBlob(this.#opts.fs, this.#layout, id);
    }
  }

  #free(id: string): void {
    if (this.#leases.has(id)) this.#unlinkLater.add(id);
    else void removeBlob(this.#opts.fs, this.#layout, id);
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

/** Cached bucket records are shared: frozen, so that no caller can change the cache by accident. */
function freezeBucket(rec: BucketRecord): BucketRecord {
  if (rec.encryption) Object.freeze(rec.encryption);
  return Object.freeze(rec);
}

/**
 * A metadata-engine failure as the store's error: a full disk is `BLOB_NO_SPACE`, an engine that takes no write for
 * now (reopening after a failed write, a stuck write, a database that cannot be reached) `BLOB_UNAVAILABLE`, anything
 * else `BLOB_IO`.
 */
function metaError(err: KvError): BlobStoreError {
  if (err.code === 'KV_UNAVAILABLE' && !isNoSpace(err)) {
    return new BlobStoreError('BLOB_UNAVAILABLE', 'The metadata store cannot take writes now. Please try again.', {
      cause: err,
    });
  }
  return ioError('the metadata commit', err);
}

function noSuchBucket(name: string): BlobStoreError {
  return new BlobStoreError('BLOB_NO_SUCH_BUCKET', 'The specified bucket does not exist', {
    details: { BucketName: name },
  });
}

async function readdirSafe(fs: FileOps, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return [];
    throw err;
  }
}
