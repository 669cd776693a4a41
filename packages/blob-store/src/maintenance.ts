/**
 * Maintenance over the whole store: the sweep of orphaned files (at open, and after a commit in doubt), re-wrapping
 * data keys under the active master key (`coffer keys rotate`) and the scrub of stored data (`coffer scrub`).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';

import type { StoreContext } from './context.ts';
import { rewrapKey } from './envelope.ts';
import { BlobStoreError, ioError } from './errors.ts';
import { checkLayout } from './layout.ts';
import type { Transaction } from './meta-tx.ts';
import type { FileOps } from './options.ts';
import { isBlobId } from './paths.ts';
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
} from './types.ts';

/**
 * When other nodes share the data directory, an unreferenced file younger than this may be another node's write in
 * progress (a temp file is written to as the body arrives; a blob file is committed right after its rename), so the
 * sweeper leaves it.
 */
const SHARED_SWEEP_GRACE_MS = 15 * 60_000;

/**
 * Removes every file in `tmp/` and every blob file without a refcount entry, except those of writes in progress
 * (this process's; with shared metadata, every file younger than 15 minutes, which may be another node's).
 */
export async function sweep(ctx: StoreContext): Promise<SweepResult> {
  let tmpFiles = 0;
  let blobFiles = 0;
  try {
    const { fs } = ctx.opts;
    const { tmp, blobs } = ctx.layout;
    for (const name of await fs.readdir(tmp)) {
      if (ctx.uncommitted.has(name) || (await young(ctx, path.join(tmp, name)))) continue;
      ctx.opts.point?.('sweep-unlink');
      await fs.rm(path.join(tmp, name), { recursive: true, force: true });
      tmpFiles++;
    }
    for (const xx of await readdirSafe(fs, blobs)) {
      for (const yy of await readdirSafe(fs, path.join(blobs, xx))) {
        const dir = path.join(blobs, xx, yy);
        const ids = (await readdirSafe(fs, dir)).filter((n) => isBlobId(n) && n.startsWith(xx + yy));
        if (ids.length === 0) continue;
        // In a transaction: no commit can reference a blob between this read and the check below (a first
        // reference needs the blob uncommitted, which is checked inside the commit's own transaction).
        const dead = await ctx.kv.transact(async (tx) => {
          const refs = await Promise.all(ids.map((id) => tx.get(K.ref(id))));
          return ids.filter((id, i) => refs[i] === undefined && !ctx.uncommitted.has(id));
        });
        for (const id of dead) {
          if (await young(ctx, path.join(dir, id))) continue;
          ctx.opts.point?.('sweep-unlink');
          await fs.rm(path.join(dir, id), { force: true });
          blobFiles++;
        }
      }
    }
  } catch (err) {
    throw ioError('sweeping the data directory', err);
  }
  return { tmpFiles, blobFiles };
}

/**
 * Re-wraps the data key of every SSE-S3 object not wrapped under the active master key, in commits (through
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
        const cur = await tx.getObject(old.bucket, old.key);
        if (!cur || cur.id !== old.id || cur.enc.scheme !== 'SSE-S3' || cur.enc.wrap.kekId === active) continue;
        await tx.putObject({ ...cur, enc: rewrapKey(ring, cur) });
        n++;
      }
      return n;
    });
    opts.onProgress?.({ scanned, rewrapped });
  };
  for await (const rec of objectRecords(ctx)) {
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
 * Verifies stored data: every record must agree with itself about the object's size (layout.ts), every blob file
 * must exist with its recorded size, and every SSE-S3 object must decrypt (through `open`) and authenticate end to
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
  for await (const rec of objectRecords(ctx)) {
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
      failures.push({ bucket: rec.bucket, key: rec.key, code: e.code ?? 'ERROR', message: e.message ?? String(err) });
    }
    opts.onProgress?.({ objects, bytes });
  }
  return { objects, bytes, sizeOnly, failures };
}

/** `BLOB_CORRUPT` unless a segment's data (file or inline entry) exists with its recorded size. */
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
  let size: number;
  try {
    size = (await stat(ctx.layout.blobPath(seg.blobId))).size;
  } catch (cause) {
    throw new BlobStoreError('BLOB_CORRUPT', `blob file ${seg.blobId} is missing`, { cause });
  }
  if (size !== seg.encSize)
    throw new BlobStoreError('BLOB_CORRUPT', `blob file ${seg.blobId} has ${size} bytes, expected ${seg.encSize}`);
}

/** Every object record, in key order. */
async function* objectRecords(ctx: StoreContext): AsyncGenerator<ObjectRecord> {
  for await (const e of ctx.kv.scan(K.objects)) yield decode<ObjectRecord>(e.value)!;
}

/** True when other nodes share the data directory and the file at `p` may still be one's write in progress. */
async function young(ctx: StoreContext, p: string): Promise<boolean> {
  if (!ctx.shared) return false;
  try {
    return Date.now() - (await stat(p)).mtimeMs < SHARED_SWEEP_GRACE_MS;
  } catch {
    return true; // gone meanwhile, or not ours to judge now
  }
}

async function readdirSafe(fs: FileOps, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}
