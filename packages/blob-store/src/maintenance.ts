/**
 * Maintenance over the whole store: the sweep of orphaned files (at open, and after a commit in doubt), re-wrapping
 * data keys under the active master key (`coffer keys rotate`) and the scrub of stored data (`coffer scrub`).
 */
import type { Readable } from 'node:stream';

import { type ChunkInfo, isChunkStoreError } from '@coffer/chunk-store';
import type { KvEngine } from '@coffer/kv';

import { chunkError } from './chunk-errors.ts';
import type { StoreContext } from './context.ts';
import { rewrapKey } from './envelope.ts';
import { BlobStoreError, ioError } from './errors.ts';
import { checkLayout } from './layout.ts';
import type { Transaction } from './meta-tx.ts';
import { K, decode } from './schema.ts';
import type {
  ObjectRecord,
  OpenOptions,
  RewrapOptions,
  RewrapResult,
  ScrubFailure,
  ScrubOptions,
  ScrubResult,
  Segment,
  SweepResult,
  VersionRecord,
} from './types.ts';
import { versionIdOf } from './versions.ts';

/** Blobs judged in one metadata transaction by the sweep. */
const SWEEP_BATCH = 500;

/**
 * Removes what unfinished writes left in the chunk store (temp files, multipart uploads) and every blob without a
 * refcount entry or garbage entry, except those of writes in progress (this process's, and every blob younger than
 * `sweepGraceMs`, which may be another node's: a blob is written as the body arrives and committed right after).
 */
export async function sweep(ctx: StoreContext): Promise<SweepResult> {
  const { chunks } = ctx;
  const point = ctx.opts.point;
  let blobFiles = 0;
  const judge = async (found: ChunkInfo[]): Promise<void> => {
    const ids = found.map((b) => b.id);
    // In a transaction: no commit can reference a blob between this read and the check below (a first
    // reference needs the blob uncommitted, which is checked inside the commit's own transaction).
    // A blob on the garbage list has no reference either: the garbage sweep deletes it when it is due.
    const dead = await ctx.kv.transact(async (tx) => {
      const refs = await Promise.all(ids.map(async (id) => (await tx.get(K.ref(id))) ?? tx.get(K.garbage(id))));
      return found.filter((b, i) => refs[i] === undefined && !ctx.uncommitted.has(b.id));
    });
    for (const blob of dead) {
      if (young(ctx, blob.lastModified)) continue;
      point?.('sweep-unlink');
      await chunks.delete(blob.id);
      blobFiles++;
    }
  };
  try {
    const grace = ctx.opts.sweepGraceMs;
    const olderThan = grace > 0 ? new Date(Date.now() - grace) : undefined;
    const tmpFiles = await chunks.sweepIncomplete({ olderThan, beforeRemove: () => point?.('sweep-unlink') });
    let found: ChunkInfo[] = [];
    for await (const blob of chunks.list()) {
      found.push(blob);
      if (found.length < SWEEP_BATCH) continue;
      await judge(found);
      found = [];
    }
    if (found.length > 0) await judge(found);
    return { tmpFiles, blobFiles };
  } catch (err) {
    const e = chunkError(err);
    // the backend down (CHUNKS_UNAVAILABLE) stays what it is; the store's own errors too
    throw isChunkStoreError(e) ? e : ioError('sweeping the chunk store', e);
  }
}

/**
 * Re-wraps the data key of every SSE-S3 object version not wrapped under the active master key, in commits (through
 * `transact`) of `batchSize` objects; an object changed meanwhile is left to its new version.
 */
export async function rewrapKeys(
  ctx: StoreContext,
  transact: <T>(fn: (tx: Transaction) => Promise<T>) => Promise<T>,
  opts: RewrapOptions,
): Promise<RewrapResult> {
  const batchSize = opts.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError('opts.batchSize must be a positive integer');
  const ring = ctx.opts.keyRing;
  const active = ring.activeId;
  let scanned = 0;
  let rewrapped = 0;
  let pending: ObjectRecord[] = [];
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    rewrapped += await transact(async (tx) => {
      let n = 0;
      for (const old of batch) {
        const cur = await tx.getVersion(old.bucket, old.key, versionIdOf(old));
        if (!cur || cur.deleteMarker || cur.id !== old.id) continue;
        if (cur.enc.scheme !== 'SSE-S3' || cur.enc.wrap.kekId === active) continue;
        await tx.updateVersion({ ...cur, enc: rewrapKey(ring, cur) });
        n++;
      }
      return n;
    });
    opts.onProgress?.({ scanned, rewrapped });
  };
  for await (const rec of objectRecords(ctx.kv)) {
    opts.signal?.throwIfAborted();
    scanned++;
    if (rec.enc.scheme === 'SSE-S3' && rec.enc.wrap.kekId !== active) pending.push(rec);
    if (pending.length >= batchSize) await flush();
  }
  await flush();
  opts.onProgress?.({ scanned, rewrapped });
  return { scanned, rewrapped };
}

/**
 * Verifies stored data: every record must agree with itself about the object's size (layout.ts), every blob must
 * exist with its recorded size, and every SSE-S3 object must decrypt (through `open`) and authenticate end to
 * end. Problems are reported, not repaired.
 */
export async function scrub(
  ctx: StoreContext,
  open: (rec: ObjectRecord, opts: OpenOptions) => Promise<Readable>,
  opts: ScrubOptions,
): Promise<ScrubResult> {
  const failures: ScrubFailure[] = [];
  let objects = 0;
  let bytes = 0;
  let sizeOnly = 0;
  for await (const rec of objectRecords(ctx.kv)) {
    opts.signal?.throwIfAborted();
    objects++;
    try {
      checkLayout(rec);
      for (const seg of rec.segments) await checkSegmentSize(ctx, seg);
      if (rec.enc.scheme === 'SSE-C') {
        sizeOnly++;
      } else {
        const stream = await open(rec, { signal: opts.signal });
        for await (const chunk of stream) bytes += (chunk as Buffer).length;
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const e = err as { code?: string; message?: string };
      failures.push({
        bucket: rec.bucket,
        key: rec.key,
        ...(rec.versionId === undefined ? {} : { versionId: rec.versionId }),
        code: e.code ?? 'ERROR',
        message: e.message ?? String(err),
      });
    }
    opts.onProgress?.({ objects, bytes });
  }
  return { objects, bytes, sizeOnly, failures };
}

/** `BLOB_CORRUPT` unless a segment's data (blob or inline entry) exists with its recorded size. */
async function checkSegmentSize(ctx: StoreContext, seg: Segment): Promise<void> {
  if (seg.inline) {
    const sealed = await ctx.kv.get(K.data(seg.blobId));
    if (sealed === undefined) throw new BlobStoreError('BLOB_CORRUPT', `inline data of blob ${seg.blobId} is missing`);
    if (sealed.length !== seg.encSize)
      throw new BlobStoreError(
        'BLOB_CORRUPT',
        `inline blob ${seg.blobId} has ${sealed.length} bytes, expected ${seg.encSize}`,
      );
    return;
  }
  let info: ChunkInfo | undefined;
  try {
    info = await ctx.chunks.stat(seg.blobId);
  } catch (err) {
    throw chunkError(err);
  }
  if (info === undefined) throw new BlobStoreError('BLOB_CORRUPT', `blob ${seg.blobId} is missing`);
  if (info.size !== seg.encSize)
    throw new BlobStoreError('BLOB_CORRUPT', `blob ${seg.blobId} has ${info.size} bytes, expected ${seg.encSize}`);
}

/** Every object record: the latest versions in key order, then the older ones (delete markers have no data). */
export async function* objectRecords(kv: KvEngine): AsyncGenerator<ObjectRecord> {
  for await (const e of kv.scan(K.objects)) yield decode<ObjectRecord>(e.value)!;
  for await (const e of kv.scan(K.versions)) {
    const rec = decode<VersionRecord>(e.value)!;
    if (!rec.deleteMarker) yield rec;
  }
}

/** True when a blob written at `at` is younger than the sweep grace: it may still be a write in progress. */
function young(ctx: StoreContext, at: Date): boolean {
  return Date.now() - at.getTime() < ctx.opts.sweepGraceMs;
}
