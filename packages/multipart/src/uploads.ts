/**
 * Multipart upload sessions on top of an ObjectStore (`@coffer/blob-store`): upload records, encrypted parts,
 * completion without copying data, abort, listing and the sweep of abandoned uploads.
 *
 * Records (the store's generic records):
 * - `mpu` / `BUCKET \0 KEY \0 UPLOADID` → {@link UploadRecord} (so a bucket's uploads list in key order, then in
 *   initiation order: upload ids start with the initiation time).
 * - `mpp` / `UPLOADID \0 NNNNN` → {@link PartRecord}, one per part number; its blob file has one reference.
 * - `mpc` / `BUCKET \0 KEY \0 UPLOADID` → {@link CompletedRecord}: an upload that completed, so that a retried
 *   Complete answers as the first did; swept with the uploads' age rule.
 *
 * Every change is one store transaction (one synced LevelDB batch). A part's file is written and fsync'd before
 * its commit; a crash before the commit leaves a file with no reference, which the store's sweep removes.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';

import {
  BlobStoreError,
  commonPrefix,
  type ObjectStore,
  type ObjectEncryption,
  type ObjectMetadata,
  type ObjectRecord,
  type Segment,
  type Transaction,
  type WriteEncryption,
} from '@coffer/blob-store';
import { unquoteEtag, type ChecksumAlgorithm } from '@coffer/checksum';
import { CryptoError, secureRandom, ssecEtag, type SseCustomerKey } from '@coffer/crypto';

import { MULTIPART_MESSAGES, MultipartError, noSuchUpload } from './errors.ts';
import { resolveMultipartOptions, type MultipartOptions, type ResolvedMultipartOptions } from './options.ts';
import {
  MULTIPART_LIMITS,
  checkCompletionChecksums,
  multipartEtag,
  objectChecksum,
  parsePartNumber,
  resolveChecksumType,
  resolveCompletion,
  samePartList,
  type ChecksumType,
  type RequestedPart,
  type StoredPart,
} from './rules.ts';

/** Record namespaces in the store. */
export const MULTIPART_NAMESPACES = Object.freeze({ uploads: 'mpu', parts: 'mpp', completed: 'mpc' });

const SEP = '\x00';
/** Orphan part records removed per transaction by the sweep. */
const SWEEP_BATCH = 100;
/** Upload ids: 9 base-36 digits of the initiation time (so ids sort by age), then 128 random bits, base64url. */
const UPLOAD_ID = /^[0-9a-z]{9}[A-Za-z0-9_-]{22}$/;

/** A multipart upload in progress. */
export interface UploadRecord {
  /** Record version. */
  v: 1;
  /** The UploadId the client uses. */
  uploadId: string;
  bucket: string;
  key: string;
  /** Id of the object the upload becomes; bound into the data key's wrap. */
  objectId: string;
  /** User id of the initiator (and owner of the object). */
  owner: string;
  /** Initiation time, ISO 8601. */
  initiated: string;
  /** Content headers and user metadata given at CreateMultipartUpload. */
  metadata: ObjectMetadata;
  /** `x-amz-checksum-algorithm` given at CreateMultipartUpload. */
  checksumAlgorithm?: ChecksumAlgorithm;
  /** How the object's checksum follows from the parts' (with an algorithm; absent in older records: the default). */
  checksumType?: ChecksumType;
  /** The upload's data key, wrapped like an object's (SSE-C: under the customer key, with its MD5). */
  enc: ObjectEncryption;
}

/** One uploaded part. */
export interface PartRecord extends StoredPart {
  /** Record version. */
  v: 1;
  uploadId: string;
  /** Upload time, ISO 8601. */
  lastModified: string;
  /** Its encrypted stream: key HKDF(DEK, fresh 16-byte salt, `S3E1/part/N`). */
  segment: Segment;
}

/**
 * An upload that completed: what a retried CompleteMultipartUpload needs to answer as the first one did (the object
 * it made, whose record holds the part list). Kept as long as the upload could have lived (`maxUploadAgeMs`).
 */
export interface CompletedRecord {
  /** Record version. */
  v: 1;
  uploadId: string;
  bucket: string;
  key: string;
  /** Id of the object the upload became. */
  objectId: string;
  /** The upload's initiation time, ISO 8601 (the sweep's age rule). */
  initiated: string;
}

/** Options of {@link MultipartStore.create}. */
export interface CreateUploadOptions {
  owner: string;
  metadata: ObjectMetadata;
  encryption: WriteEncryption;
  checksumAlgorithm?: ChecksumAlgorithm;
  /** `x-amz-checksum-type` as given (checked against the algorithm; S3's default when absent). */
  checksumType?: string;
}

/** Options of {@link MultipartStore.uploadPart}. */
export interface UploadPartOptions {
  /** The customer key: required for an SSE-C upload, refused for an SSE-S3 one. */
  customer?: SseCustomerKey;
  /** Default 5 GiB (`BLOB_TOO_LARGE` past it). */
  maxSize?: number;
  /** After the body ended and before the commit (Content-MD5, checksums); throw to abort. May return a checksum to keep. */
  beforeCommit?: (w: {
    size: number;
    md5: Buffer;
  }) => Promise<{ checksum?: StoredPart['checksum'] } | void> | { checksum?: StoredPart['checksum'] } | void;
  signal?: AbortSignal;
}

/** Options of {@link MultipartStore.complete}. */
export interface CompleteOptions {
  /** `If-None-Match: *` on the destination key. */
  ifNoneMatch?: boolean;
  /** `If-Match: etag` on the destination key. */
  ifMatch?: string;
  /** `x-amz-mp-object-size`: the size the client expects. */
  objectSize?: number;
  /** An `x-amz-checksum-*` of the whole object the client sent: checked against the object's checksum. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  /** `x-amz-checksum-type` of the Complete request: must be the upload's. */
  checksumType?: string;
}

/** Query of {@link MultipartStore.listUploads}. */
export interface ListUploadsQuery {
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads: number;
}

/** Result of {@link MultipartStore.listUploads}. */
export interface ListUploadsResult {
  uploads: UploadRecord[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/** The multipart upload sessions of one store. Construct with {@link MultipartStore.constructor}; no I/O until used. */
export class MultipartStore {
  readonly #store: ObjectStore;
  readonly #opts: ResolvedMultipartOptions;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> | undefined;

  constructor(store: ObjectStore, options: MultipartOptions = {}) {
    if (!store || typeof store.transaction !== 'function') throw new TypeError('store must be an ObjectStore');
    this.#store = store;
    this.#opts = resolveMultipartOptions(options);
  }

  /** The options in effect. */
  get options(): Readonly<ResolvedMultipartOptions> {
    return this.#opts;
  }

  /** True when `bucket` has uploads in progress (for DeleteBucket's `inUse`, inside its transaction). */
  static hasUploads(tx: Transaction, bucket: string): Promise<boolean> {
    return tx.hasRecords(MULTIPART_NAMESPACES.uploads, bucket + SEP);
  }

  /**
   * DeleteBucket's cascade (`ObjectStore.deleteBucket(name, { cascade })`), inside its transaction: aborts every
   * upload of `bucket` (records gone, the parts' files freed after the commit) and forgets its completions, so that
   * the bucket and its uploads go in one batch. Each record is read again through `tx`, which sees commits not yet
   * in the listing. If an upload or a part is still there afterwards (it committed while the listing was read), the
   * delete is refused with `BLOB_BUCKET_NOT_EMPTY` rather than leave a record or a file without its bucket.
   */
  async removeBucketUploads(tx: Transaction, bucket: string): Promise<void> {
    const prefix = bucket + SEP;
    for (const up of await tx.listRecords<UploadRecord>(MULTIPART_NAMESPACES.uploads, prefix)) {
      await this.#removeUpload(tx, up, await txParts(tx, up.uploadId));
      if (await tx.hasRecords(MULTIPART_NAMESPACES.parts, up.uploadId + SEP)) throw bucketNotEmpty(bucket);
    }
    if (await MultipartStore.hasUploads(tx, bucket)) throw bucketNotEmpty(bucket);
    for (const done of await tx.listRecords<CompletedRecord>(MULTIPART_NAMESPACES.completed, prefix)) {
      await tx.deleteRecord(MULTIPART_NAMESPACES.completed, uploadKey(done));
    }
  }

  /** True when a string has the shape of an upload id. */
  static isUploadId(id: string): boolean {
    return UPLOAD_ID.test(id);
  }

  /** CreateMultipartUpload: a new upload with its own data key. `BLOB_NO_SUCH_BUCKET`. */
  async create(bucket: string, key: string, opts: CreateUploadOptions): Promise<UploadRecord> {
    const now = this.#opts.now();
    const uploadId = Math.floor(now).toString(36).padStart(9, '0') + randomBytes(16).toString('base64url');
    const objectId = randomUUID();
    const checksumType = resolveChecksumType(opts.checksumAlgorithm, opts.checksumType);
    const { dek, enc } = this.#store.newDataKey(objectId, opts.encryption);
    dek.fill(0);
    const rec: UploadRecord = {
      v: 1,
      uploadId,
      bucket,
      key,
      objectId,
      owner: opts.owner,
      initiated: new Date(now).toISOString(),
      metadata: { ...opts.metadata, userMeta: { ...opts.metadata.userMeta } },
      ...(opts.checksumAlgorithm ? { checksumAlgorithm: opts.checksumAlgorithm, checksumType } : {}),
      enc,
    };
    await this.#store.transaction(async (tx) => {
      if (!(await tx.getBucket(bucket))) {
        throw new BlobStoreError('BLOB_NO_SUCH_BUCKET', 'The specified bucket does not exist', {
          details: { BucketName: bucket },
        });
      }
      tx.putRecord(MULTIPART_NAMESPACES.uploads, uploadKey(rec), rec);
    });
    return rec;
  }

  /** The upload `uploadId` of `bucket`/`key`, or `MP_NO_SUCH_UPLOAD`. */
  async getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord> {
    const rec = UPLOAD_ID.test(uploadId)
      ? await this.#store.getRecord<UploadRecord>(MULTIPART_NAMESPACES.uploads, uploadKey({ bucket, key, uploadId }))
      : undefined;
    if (!rec) throw noSuchUpload(uploadId);
    return rec;
  }

  /**
   * UploadPart (and UploadPartCopy, with the source's plaintext as `body`): encrypts the body under the part's own
   * key (fresh salt every time), then commits the part record in one batch. A part number uploaded again replaces
   * the earlier part, whose file is freed after the commit. `MP_NO_SUCH_UPLOAD` if the upload was completed or
   * aborted meanwhile (the new file is removed); SSE-C: `MP_SSEC_REQUIRED`, `MP_SSEC_NOT_APPLICABLE`,
   * `MP_SSEC_KEY_MISMATCH`, all checked before a byte of the body is read.
   */
  async uploadPart(
    upload: UploadRecord,
    partNumber: number,
    body: Readable,
    opts: UploadPartOptions = {},
  ): Promise<PartRecord> {
    parsePartNumber(partNumber);
    const dek = this.dataKey(upload, opts.customer);
    try {
      const w = await this.#store.writeSegment(body, {
        dek,
        salt: secureRandom(16),
        info: `S3E1/part/${partNumber}`,
        maxSize: opts.maxSize ?? MULTIPART_LIMITS.maxPartSize,
        signal: opts.signal,
      });
      try {
        const extra = (await opts.beforeCommit?.({ size: w.plainSize, md5: w.md5 })) ?? undefined;
        const part: PartRecord = {
          v: 1,
          uploadId: upload.uploadId,
          partNumber,
          size: w.plainSize,
          etag: upload.enc.scheme === 'SSE-C' ? ssecEtag(dek, w.md5) : w.md5.toString('hex'),
          lastModified: new Date(this.#opts.now()).toISOString(),
          ...(extra?.checksum
            ? {
                checksum: {
                  algorithm: extra.checksum.algorithm,
                  value: extra.checksum.value,
                  ...(extra.checksum.computed ? { computed: true as const } : {}),
                },
              }
            : {}),
          segment: w.segment,
        };
        await this.#store.transaction(async (tx) => {
          const cur = await tx.getRecord<UploadRecord>(MULTIPART_NAMESPACES.uploads, uploadKey(upload));
          if (!cur || cur.uploadId !== upload.uploadId) throw noSuchUpload(upload.uploadId);
          const prev = await tx.getRecord<PartRecord>(MULTIPART_NAMESPACES.parts, partKey(upload.uploadId, partNumber));
          if (prev) tx.dropRefs([prev.segment.blobId]);
          tx.putRecord(MULTIPART_NAMESPACES.parts, partKey(upload.uploadId, partNumber), part);
          tx.addRefs([w.segment.blobId]);
        });
        return part;
      } finally {
        // A no-op once committed.
        await this.#store.discardSegment(w.segment);
      }
    } finally {
      dek.fill(0);
    }
  }

  /**
   * The upload's data key, checking the customer key the way S3 does for parts (S3-ENCRYPTION.md Part B rows
   * 10–12): an SSE-C upload needs the key it was created with; an SSE-S3 upload takes none. Wipe it after use.
   */
  dataKey(upload: UploadRecord, customer?: SseCustomerKey): Buffer {
    const rec = { id: upload.objectId, enc: upload.enc };
    if (upload.enc.scheme === 'SSE-C') {
      if (!customer) throw new MultipartError('MP_SSEC_REQUIRED', MULTIPART_MESSAGES.ssecRequired);
      try {
        return this.#store.unwrapKey(rec, customer);
      } catch (err) {
        if (err instanceof CryptoError && err.code === 'CRYPTO_WRONG_KEY') {
          throw new MultipartError('MP_SSEC_KEY_MISMATCH', MULTIPART_MESSAGES.ssecMismatch, {}, { cause: err });
        }
        throw err;
      }
    }
    if (customer) throw new MultipartError('MP_SSEC_NOT_APPLICABLE', MULTIPART_MESSAGES.ssecNotApplicable);
    return this.#store.unwrapKey(rec);
  }

  /**
   * CompleteMultipartUpload: checks the list (S3's rules and checksums), then in one batch writes the object whose
   * segments are the listed parts' files (no data is copied), removes the upload and all its part records, drops
   * the parts' references (the listed parts' files now belong to the object, the others are freed after the commit)
   * and keeps a {@link CompletedRecord}. Runs under the store's commit mutex, so racing completes, parts and aborts
   * serialize. A Complete of an upload that already completed (a retry, or the loser of a race) gets the object it
   * made, as long as that object is still the current one and the part list is the same; `MP_NO_SUCH_UPLOAD`
   * otherwise, as SDKs retry a Complete whose answer was lost.
   */
  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    requested: readonly RequestedPart[],
    opts: CompleteOptions = {},
  ): Promise<ObjectRecord> {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    return this.#store.transaction(async (tx) => {
      const id = uploadKey({ bucket, key, uploadId });
      const up = await tx.getRecord<UploadRecord>(MULTIPART_NAMESPACES.uploads, id);
      if (!up) return completedObject(tx, { bucket, key, uploadId }, requested);
      // Read in the transaction: a part committed just before, in the same batch, is not in the database yet.
      const all = await txParts(tx, uploadId);
      const resolved = resolveCompletion(
        uploadId,
        requested,
        new Map(all.map((p) => [p.partNumber, p])),
      ) as PartRecord[];
      checkCompletionChecksums(up.checksumAlgorithm, requested, resolved);
      const size = resolved.reduce((n, p) => n + p.size, 0);
      if (opts.objectSize !== undefined && opts.objectSize !== size) {
        throw new MultipartError(
          'MP_OBJECT_SIZE_MISMATCH',
          `The provided 'x-amz-mp-object-size' header value ${opts.objectSize} does not match what was computed: ${size}`,
        );
      }
      if (!(await tx.getBucket(bucket))) {
        throw new BlobStoreError('BLOB_NO_SUCH_BUCKET', 'The specified bucket does not exist', {
          details: { BucketName: bucket },
        });
      }
      const prev = await tx.getObject(bucket, key);
      if (opts.ifNoneMatch && prev) {
        throw new MultipartError('MP_PRECONDITION_FAILED', MULTIPART_MESSAGES.preconditionFailed, {
          Condition: 'If-None-Match',
        });
      }
      if (opts.ifMatch !== undefined) {
        if (!prev)
          throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.', { details: { Key: key } });
        const want = unquoteEtag(opts.ifMatch);
        if (want !== '*' && want !== prev.etag) {
          throw new MultipartError('MP_PRECONDITION_FAILED', MULTIPART_MESSAGES.preconditionFailed, {
            Condition: 'If-Match',
          });
        }
      }
      const checksum = up.checksumAlgorithm
        ? await objectChecksum(up.checksumAlgorithm, uploadChecksumType(up)!, resolved)
        : undefined;
      checkObjectChecksum(up, checksum, opts);
      const rec: ObjectRecord = {
        v: 1,
        bucket,
        key,
        id: up.objectId,
        size,
        etag: multipartEtag(resolved.map((p) => p.etag)),
        lastModified: new Date(this.#opts.now()).toISOString(),
        owner: up.owner,
        ...up.metadata,
        ...(checksum ? { checksum: { algorithm: up.checksumAlgorithm!, value: checksum } } : {}),
        enc: up.enc,
        segments: resolved.map((p) => ({ ...p.segment })),
        parts: resolved.map((p) => ({ partNumber: p.partNumber, size: p.size, etag: p.etag })),
      };
      await tx.putObject(rec);
      await this.#removeUpload(tx, up, all);
      const done: CompletedRecord = { v: 1, uploadId, bucket, key, objectId: up.objectId, initiated: up.initiated };
      tx.putRecord(MULTIPART_NAMESPACES.completed, id, done);
      return rec;
    });
  }

  /** AbortMultipartUpload: removes the upload and its parts in one batch; their files are freed after the commit. */
  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
    await this.#store.transaction(async (tx) => {
      const up = await tx.getRecord<UploadRecord>(MULTIPART_NAMESPACES.uploads, uploadKey({ bucket, key, uploadId }));
      if (!up) throw noSuchUpload(uploadId);
      await this.#removeUpload(tx, up, await txParts(tx, uploadId));
    });
  }

  /** ListParts: parts above `partNumberMarker`, at most `maxParts` (0..1000). */
  async listParts(
    upload: UploadRecord,
    q: { partNumberMarker?: number; maxParts: number },
  ): Promise<{ parts: PartRecord[]; isTruncated: boolean; nextPartNumberMarker?: number }> {
    const marker = q.partNumberMarker ?? 0;
    const after = (await this.#parts(upload.uploadId)).filter((p) => p.partNumber > marker);
    const parts = after.slice(0, q.maxParts);
    const isTruncated = after.length > parts.length;
    return {
      parts,
      isTruncated,
      ...(parts.length > 0 ? { nextPartNumberMarker: parts[parts.length - 1].partNumber } : {}),
    };
  }

  /**
   * ListMultipartUploads: a bucket's uploads in key order, then initiation order, with prefix, delimiter (common
   * prefixes count as entries), `keyMarker` (exclusive) and `uploadIdMarker` (with `keyMarker`: that key's uploads
   * after this id). `MP_INVALID_UPLOAD_ID_MARKER` for a marker that is no upload id.
   */
  async listUploads(bucket: string, q: ListUploadsQuery): Promise<ListUploadsResult> {
    const prefix = q.prefix ?? '';
    const { keyMarker, delimiter } = q;
    const uploadIdMarker = keyMarker ? q.uploadIdMarker || undefined : undefined;
    if (uploadIdMarker !== undefined && !UPLOAD_ID.test(uploadIdMarker)) {
      throw new MultipartError('MP_INVALID_UPLOAD_ID_MARKER', MULTIPART_MESSAGES.invalidUploadIdMarker, {
        ArgumentName: 'upload-id-marker',
        ArgumentValue: uploadIdMarker,
      });
    }
    const out: ListUploadsResult = { uploads: [], commonPrefixes: [], isTruncated: false };
    if (q.maxUploads <= 0) return out;
    const all = await this.#store.listRecords<UploadRecord>(MULTIPART_NAMESPACES.uploads, {
      prefix: bucket + SEP + prefix,
    });
    let count = 0;
    let last: { key: string; uploadId?: string } | undefined;
    for (const up of all) {
      if (up.bucket !== bucket || !up.key.startsWith(prefix)) continue;
      if (keyMarker !== undefined && keyMarker !== '') {
        const after =
          up.key > keyMarker || (uploadIdMarker !== undefined && up.key === keyMarker && up.uploadId > uploadIdMarker);
        if (!after) continue;
      }
      const cp = commonPrefix(up.key, prefix, delimiter);
      if (cp !== undefined && ((cp === last?.key && last.uploadId === undefined) || (keyMarker && cp <= keyMarker)))
        continue;
      if (count === q.maxUploads) {
        out.isTruncated = true;
        break;
      }
      count++;
      if (cp !== undefined) {
        out.commonPrefixes.push(cp);
        last = { key: cp };
      } else {
        out.uploads.push(up);
        last = { key: up.key, uploadId: up.uploadId };
      }
    }
    if (out.isTruncated && last) {
      out.nextKeyMarker = last.key;
      out.nextUploadIdMarker = last.uploadId ?? '';
    }
    return out;
  }

  /**
   * Aborts every upload initiated more than `maxUploadAgeMs` ago, forgets the completions of those that old, then
   * removes part records whose upload is gone (left by a crash or an older version) with their blob references.
   * Returns how many uploads it aborted and how many orphan parts it removed.
   */
  async sweep(): Promise<{ aborted: number; orphanParts: number }> {
    const cutoff = this.#opts.now() - this.#opts.maxUploadAgeMs;
    const stale = (await this.#store.listRecords<CompletedRecord>(MULTIPART_NAMESPACES.completed)).filter(
      (c) => Date.parse(c.initiated) < cutoff,
    );
    if (stale.length > 0) {
      await this.#store.transaction(async (tx) => {
        for (const c of stale) await tx.deleteRecord(MULTIPART_NAMESPACES.completed, uploadKey(c));
      });
    }
    let aborted = 0;
    for (const up of await this.#store.listRecords<UploadRecord>(MULTIPART_NAMESPACES.uploads)) {
      if (Date.parse(up.initiated) >= cutoff) continue;
      try {
        await this.abort(up.bucket, up.key, up.uploadId);
        aborted++;
      } catch (err) {
        if ((err as { code?: string }).code !== 'MP_NO_SUCH_UPLOAD') throw err;
      }
    }
    return { aborted, orphanParts: await this.#sweepOrphanParts() };
  }

  /**
   * Removes the part records whose upload no longer exists. Parts are listed before uploads: a part is committed
   * only while its upload exists, and an upload id never comes back, so an upload missing from the later listing
   * is gone for good. Each removal checks again in its transaction that the part is the one listed.
   */
  async #sweepOrphanParts(): Promise<number> {
    const parts = await this.#store.listRecords<PartRecord>(MULTIPART_NAMESPACES.parts);
    if (parts.length === 0) return 0;
    const uploads = await this.#store.listRecords<UploadRecord>(MULTIPART_NAMESPACES.uploads);
    const live = new Set(uploads.map((u) => u.uploadId));
    const orphans = parts.filter((p) => !live.has(p.uploadId));
    let removed = 0;
    for (let i = 0; i < orphans.length; i += SWEEP_BATCH) {
      removed += await this.#store.transaction(async (tx) => {
        let n = 0;
        for (const p of orphans.slice(i, i + SWEEP_BATCH)) {
          const id = partKey(p.uploadId, p.partNumber);
          const cur = await tx.getRecord<PartRecord>(MULTIPART_NAMESPACES.parts, id);
          if (cur?.segment.blobId !== p.segment.blobId) continue;
          await tx.deleteRecord(MULTIPART_NAMESPACES.parts, id);
          tx.dropRefs([p.segment.blobId]);
          n++;
        }
        return n;
      });
    }
    return removed;
  }

  /**
   * Starts the background sweep (every `sweepIntervalMs`, timer unref'd so it never keeps the process alive).
   * It stops by itself once the store is closed. `onError` receives sweep failures (default: ignored).
   */
  start(onError: (err: unknown) => void = () => undefined): void {
    if (this.#timer) return;
    const run = () => {
      if (this.#sweeping) return;
      // One node at a time sweeps when several share the metadata; the lease outlives the interval a little, so
      // the node that holds it keeps it while it runs.
      const lease = Math.ceil(this.#opts.sweepIntervalMs * 1.5);
      this.#sweeping = this.#store
        .acquireJobLease('multipart-sweep', lease)
        .then((mine) => (mine ? this.sweep() : undefined))
        .catch((err) => {
          if ((err as { code?: string }).code === 'BLOB_CLOSED') this.stop();
          else onError(err);
        })
        .finally(() => {
          this.#sweeping = undefined;
        });
    };
    this.#timer = setInterval(run, this.#opts.sweepIntervalMs);
    this.#timer.unref();
    run();
  }

  /** Stops the background sweep and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }

  /**
   * Re-wraps the SSE-S3 data keys of uploads in progress under the active master key (after a key rotation;
   * ObjectStore.rewrapKeys does the objects). Returns how many it re-wrapped.
   */
  async rewrapKeys(): Promise<number> {
    let n = 0;
    for (const up of await this.#store.listRecords<UploadRecord>(MULTIPART_NAMESPACES.uploads)) {
      const enc = this.#store.rewrapKey({ id: up.objectId, enc: up.enc });
      if (enc === up.enc) continue;
      n += await this.#store.transaction(async (tx) => {
        const cur = await tx.getRecord<UploadRecord>(MULTIPART_NAMESPACES.uploads, uploadKey(up));
        if (!cur) return 0;
        tx.putRecord(MULTIPART_NAMESPACES.uploads, uploadKey(up), { ...cur, enc });
        return 1;
      });
    }
    return n;
  }

  async #parts(uploadId: string): Promise<PartRecord[]> {
    return this.#store.listRecords<PartRecord>(MULTIPART_NAMESPACES.parts, { prefix: uploadId + SEP });
  }

  async #removeUpload(tx: Transaction, up: UploadRecord, parts: readonly PartRecord[]): Promise<void> {
    for (const p of parts) await tx.deleteRecord(MULTIPART_NAMESPACES.parts, partKey(up.uploadId, p.partNumber));
    tx.dropRefs(parts.map((p) => p.segment.blobId));
    await tx.deleteRecord(MULTIPART_NAMESPACES.uploads, uploadKey(up));
  }
}

/** The part records of an upload as the transaction sees them, in part-number order. */
function txParts(tx: Transaction, uploadId: string): Promise<PartRecord[]> {
  return tx.listRecords<PartRecord>(MULTIPART_NAMESPACES.parts, uploadId + SEP);
}

/**
 * The answer to a Complete of an upload that is gone: the object it made when it completed, if that object is still
 * the current one and the part list is the one it was made of (S3 answers a retried Complete that way).
 */
async function completedObject(
  tx: Transaction,
  u: { bucket: string; key: string; uploadId: string },
  requested: readonly RequestedPart[],
): Promise<ObjectRecord> {
  const done = await tx.getRecord<CompletedRecord>(MULTIPART_NAMESPACES.completed, uploadKey(u));
  const cur = done && (await tx.getObject(u.bucket, u.key));
  if (!cur || cur.id !== done.objectId || !samePartList(requested, cur.parts ?? [])) throw noSuchUpload(u.uploadId);
  return cur;
}

function bucketNotEmpty(bucket: string): BlobStoreError {
  const details = { BucketName: bucket };
  return new BlobStoreError('BLOB_BUCKET_NOT_EMPTY', 'The bucket you tried to delete is not empty', { details });
}

function uploadKey(u: { bucket: string; key: string; uploadId: string }): string {
  return u.bucket + SEP + u.key + SEP + u.uploadId;
}

function partKey(uploadId: string, partNumber: number): string {
  return uploadId + SEP + String(partNumber).padStart(5, '0');
}

/** The checksum type of an upload (records written before types were kept have the default). */
export function uploadChecksumType(
  up: Pick<UploadRecord, 'checksumAlgorithm' | 'checksumType'>,
): ChecksumType | undefined {
  return up.checksumType ?? resolveChecksumType(up.checksumAlgorithm, undefined);
}

/**
 * The whole-object checks of a Complete: its `x-amz-checksum-type` must be the upload's, and an `x-amz-checksum-*`
 * it carries must be of the upload's algorithm and equal the object's checksum (compared without the `-N` of a
 * COMPOSITE one, which clients send either way).
 */
function checkObjectChecksum(up: UploadRecord, computed: string | undefined, opts: CompleteOptions): void {
  const type = uploadChecksumType(up);
  if (opts.checksumType !== undefined && opts.checksumType.trim().toUpperCase() !== type) {
    throw new MultipartError(
      'MP_INVALID_CHECKSUM_TYPE',
      `The upload was created using the ${type ?? 'null'} checksum mode. The complete request must use the same checksum mode.`,
    );
  }
  const given = opts.checksum;
  if (!given) return;
  if (given.algorithm !== up.checksumAlgorithm) {
    throw new MultipartError(
      'MP_CHECKSUM_MISSING',
      `Checksum Type mismatch occurred, expected checksum Type: ${up.checksumAlgorithm?.toLowerCase() ?? 'null'}, actual checksum Type: ${given.algorithm.toLowerCase()}`,
    );
  }
  const bare = (v: string) => v.trim().replace(/-\d+$/, '');
  if (computed === undefined || bare(computed) !== bare(given.value)) {
    throw new MultipartError(
      'MP_BAD_DIGEST',
      `The ${given.algorithm.toLowerCase()} you specified did not match the calculated checksum.`,
    );
  }
}
