/**
 * Segments, the encrypted streams an object's data is made of: written to a blob in the chunk store (write.ts) or,
 * when small, encrypted in memory and held until the commit that references it writes its ciphertext beside the
 * record. Either stays uncommitted (the sweeper leaves it alone) until a commit references it, or is discarded.
 */
import type { Readable } from 'node:stream';

import { newChunkId } from '@coffer/chunk-store';
import { deriveStreamKey } from '@coffer/crypto';

import type { StoreContext } from './context.ts';
import { sealInline } from './inline.ts';
import type { Segment, SegmentWrite, WrittenSegment } from './types.ts';
import { removeBlob, writeBlob } from './write.ts';

/** Writes `body` encrypted into a new blob, durable but uncommitted; see `ObjectStore.writeSegment`. */
export async function writeSegment(ctx: StoreContext, body: Readable, p: SegmentWrite): Promise<WrittenSegment> {
  const chunkSize = p.chunkSize ?? ctx.opts.chunkSize;
  const streamKey = deriveStreamKey(p.dek, p.salt, p.info);
  let blobId: string | undefined;
  try {
    const blob = await writeBlob(ctx.chunks, ctx.opts, body, {
      streamKey,
      chunkSize,
      maxSize: p.maxSize,
      signal: p.signal,
      onCreate: (id) => {
        blobId = id;
        ctx.uncommitted.add(id);
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
    if (blobId !== undefined) ctx.uncommitted.delete(blobId);
    throw err;
  } finally {
    streamKey.fill(0);
  }
}

/**
 * Encrypts a small body in memory into an inline segment, held (uncommitted) until the commit that references it
 * writes its ciphertext to `d` in the same batch as the record; {@link discardSegment} drops it.
 */
export function inlineSegment(
  ctx: StoreContext,
  plain: Buffer,
  md5: Buffer,
  p: Required<Pick<SegmentWrite, 'dek' | 'salt' | 'info' | 'chunkSize'>>,
): WrittenSegment {
  const streamKey = deriveStreamKey(p.dek, p.salt, p.info);
  let sealed: Buffer;
  try {
    sealed = sealInline(streamKey, plain, p.chunkSize);
  } finally {
    streamKey.fill(0);
  }
  const blobId = newChunkId();
  ctx.uncommitted.add(blobId);
  ctx.inlinePending.set(blobId, sealed);
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

/** Removes an uncommitted segment's file (or held ciphertext); a no-op once a commit references it. */
export async function discardSegment(ctx: StoreContext, segment: Segment): Promise<void> {
  if (!ctx.uncommitted.delete(segment.blobId)) return;
  if (segment.inline) ctx.inlinePending.delete(segment.blobId);
  else await removeBlob(ctx.chunks, segment.blobId);
}
