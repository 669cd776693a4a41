import { finished, pipeline, type Readable } from 'node:stream';

import { type ChunkStore, newChunkId } from '@coffer/chunk-store';
import { createEncryptStream, encryptedSize } from '@coffer/crypto';

import { HashTap } from './blob-writer.ts';
import { chunkError } from './chunk-errors.ts';
import { BlobStoreError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

/** A blob written to the chunk store (durably), but not yet referenced by any record. */
export interface WrittenBlob {
  /** Blob id. */
  blobId: string;
  /** Plaintext bytes. */
  plainSize: number;
  /** Stored (ciphertext) bytes. */
  encSize: number;
  /** Plaintext MD5. */
  md5: Buffer;
}

/** Maps a failure of a body-consuming write to the store's errors: aborts become BLOB_ABORTED, the rest pass. */
export function mapWriteError(err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof BlobStoreError) return err;
  if (signal?.aborted) return new BlobStoreError('BLOB_ABORTED', 'the write was aborted', { cause: err });
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ABORT_ERR' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new BlobStoreError('BLOB_ABORTED', 'the body ended prematurely or the write was aborted', { cause: err });
  }
  // The body's own errors (a signature check in a decoding transform, …) and CryptoErrors pass through unchanged.
  return err;
}

/**
 * Pipes `body` into `tap` without making `body` part of the pipeline, so that a failure here never destroys the
 * caller's stream: it is unpiped and left to its owner. (Iterating the body would do the same at the cost of an
 * async-iterator hop per chunk, and a paused Readable's `read()` concatenates what is buffered.) The body's error,
 * or its close before the end, fails `tap`. Returns `tap`, for `pipeline()`.
 */
function feedFrom(body: Readable, tap: HashTap): HashTap {
  const stop = finished(body, { writable: false }, (err) => {
    if (err) tap.destroy(err);
  });
  tap.once('close', () => {
    body.unpipe(tap);
    stop();
  });
  body.pipe(tap);
  return tap;
}

/**
 * Streams `body` through MD5/size tap → encryption → the chunk store, as a new blob under a fresh id (durable when
 * the chunk store's write resolves: the local store fsyncs the file, renames it and fsyncs its directory). On any
 * failure or abort the internal streams are destroyed, nothing is left under the id, and the error is rethrown; the
 * body is left to its owner (not destroyed). The result is not referenced yet: the caller commits it, or deletes it.
 */
export async function writeBlob(
  chunks: ChunkStore,
  opts: ResolvedOptions,
  body: Readable,
  p: {
    streamKey: Buffer;
    chunkSize: number;
    maxSize?: number;
    signal?: AbortSignal;
    onCreate?: (blobId: string) => void;
  },
): Promise<WrittenBlob> {
  const blobId = newChunkId();
  let tap: HashTap | undefined;
  let source: Readable | undefined;
  let written = false;
  p.onCreate?.(blobId);
  try {
    p.signal?.throwIfAborted();
    tap = new HashTap(p.maxSize);
    // The tap's error (the body's, BLOB_TOO_LARGE) reaches the chunk store through the encrypt stream it destroys.
    source = pipeline(
      feedFrom(body, tap),
      createEncryptStream(p.streamKey, { chunkSize: p.chunkSize, pool: opts.cryptoPool }),
      () => undefined,
    );
    const { size } = await chunks.write(blobId, source, p.signal ? { signal: p.signal } : {});
    written = true;
    // The digest worker finishes the MD5 while the chunk store made the blob durable.
    const md5Promise = tap.digest();
    md5Promise.catch(() => undefined);
    const plainSize = tap.size;
    const encSize = encryptedSize(plainSize, p.chunkSize);
    if (size !== encSize) throw new BlobStoreError('BLOB_IO', `blob ${blobId} has ${size} bytes, expected ${encSize}`);
    opts.point?.('blob-stored');
    const md5 = await md5Promise;
    p.signal?.throwIfAborted();
    return { blobId, plainSize, encSize, md5 };
  } catch (err) {
    tap?.discard();
    source?.destroy();
    if (written) await chunks.delete(blobId).catch(() => undefined);
    throw mapWriteError(chunkError(err), p.signal);
  }
}

/** Deletes a blob that no committed record references. Errors are ignored: the sweep at open retries. */
export async function removeBlob(chunks: ChunkStore, blobId: string): Promise<void> {
  await chunks.delete(blobId).catch(() => undefined);
}
