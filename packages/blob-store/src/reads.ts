/**
 * Opening an object's plaintext for reading: the data key is unwrapped, the blob files leased, and the first piece of
 * plaintext read and authenticated before a stream is handed out. Inline objects are decrypted whole from their
 * metadata entry. The chunk arithmetic and the file decryption are read.ts.
 */
import { Readable, addAbortSignal } from 'node:stream';

import { deriveStreamKey } from '@coffer/crypto';

import type { StoreContext } from './context.ts';
import { unwrapKey } from './envelope.ts';
import { BlobStoreError } from './errors.ts';
import { openInline } from './inline.ts';
import { OBJECT_STREAM_INFO, PlaintextReader, decryptSteps, planRead, type ReadStep } from './read.ts';
import { K } from './schema.ts';
import type { ObjectRecord, OpenOptions } from './types.ts';
import { findVersion } from './version-reads.ts';
import { versionIdOf } from './versions.ts';

/** The plaintext (or the inclusive `opts.range`) of an object as a stream; see `ObjectStore.openObject`. */
export async function openObject(ctx: StoreContext, rec: ObjectRecord, opts: OpenOptions = {}): Promise<Readable> {
  const steps = planRead(rec, opts.range); // before the unwrap: a bad record or range leaves no key to wipe
  const dek = unwrapKey(ctx.opts.keyRing, rec, opts.customer);
  if (steps.every((s) => s.segment.inline)) {
    const parts = await readInlineSteps(ctx, rec, dek, steps, opts.signal);
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
  ctx.leases.lease(blobIds);
  let gen: AsyncGenerator<Buffer, void, undefined> | undefined;
  let first: IteratorResult<Buffer, void>;
  try {
    opts.signal?.throwIfAborted();
    gen = steps.some((s) => s.segment.inline)
      ? mixedSteps(ctx, dek, steps)
      : decryptSteps(ctx.chunks, dek, steps, ctx.opts.cryptoPool);
    first = await gen.next();
    opts.signal?.throwIfAborted();
  } catch (err) {
    await gen?.return(undefined).catch(() => undefined);
    ctx.leases.unlease(blobIds);
    throw await readError(ctx, rec, err, opts.signal);
  }
  const reader = new PlaintextReader(gen, first, ctx.opts.readBufferSize);
  reader.once('close', () => ctx.leases.unlease(blobIds));
  if (opts.signal) addAbortSignal(opts.signal, reader);
  return reader;
}

/** The plaintext (or the inclusive `opts.range`) of an object stored wholly inline, as one Buffer. */
export async function readInline(ctx: StoreContext, rec: ObjectRecord, opts: OpenOptions = {}): Promise<Buffer> {
  const steps = planRead(rec, opts.range);
  const parts = await readInlineSteps(ctx, rec, unwrapKey(ctx.opts.keyRing, rec, opts.customer), steps, opts.signal);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Plaintext of inline steps, authenticated; wipes `dek`. */
async function readInlineSteps(
  ctx: StoreContext,
  rec: ObjectRecord,
  dek: Buffer,
  steps: readonly ReadStep[],
  signal: AbortSignal | undefined,
): Promise<Buffer[]> {
  try {
    signal?.throwIfAborted();
    const parts: Buffer[] = [];
    for (const step of steps) parts.push(await openInlineStep(ctx, dek, step));
    signal?.throwIfAborted();
    return parts;
  } catch (err) {
    throw await readError(ctx, rec, err, signal);
  } finally {
    dek.fill(0);
  }
}

/** Maps an error of opening a read: aborts, and missing data of an object replaced or deleted meanwhile. */
async function readError(
  ctx: StoreContext,
  rec: ObjectRecord,
  err: unknown,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  if (signal?.aborted) return new BlobStoreError('BLOB_ABORTED', 'the read was aborted', { cause: err });
  if (err instanceof BlobStoreError && err.code === 'BLOB_CORRUPT') {
    // A missing file (or inline entry) of a version deleted or overwritten since `rec` was read is not corruption.
    const now = (await findVersion(ctx.kv, rec.bucket, rec.key, versionIdOf(rec)))?.rec;
    if (now?.deleteMarker || now?.id !== rec.id)
      return new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.', { cause: err });
  }
  return err;
}

/** Verified plaintext of one inline step. `BLOB_CORRUPT` if its data entry is missing. */
async function openInlineStep(ctx: StoreContext, dek: Buffer, step: ReadStep): Promise<Buffer> {
  const seg = step.segment;
  const sealed = await ctx.kv.get(K.data(seg.blobId));
  if (sealed === undefined) throw new BlobStoreError('BLOB_CORRUPT', `inline data of blob ${seg.blobId} is missing`);
  const key = deriveStreamKey(dek, Buffer.from(seg.salt, 'base64'), seg.info ?? OBJECT_STREAM_INFO);
  try {
    return openInline(key, sealed, seg.plainSize, seg.chunkSize, step.start, step.end);
  } finally {
    key.fill(0);
  }
}

/** Plaintext of steps of which some are inline and some files (a copy can mix them only in theory: kept general). */
async function* mixedSteps(
  ctx: StoreContext,
  dek: Buffer,
  steps: readonly ReadStep[],
): AsyncGenerator<Buffer, void, undefined> {
  for (const step of steps) {
    if (step.segment.inline) {
      const p = await openInlineStep(ctx, dek, step);
      if (p.length > 0) yield p;
    } else {
      yield* decryptSteps(ctx.chunks, dek, [step], ctx.opts.cryptoPool);
    }
  }
}
