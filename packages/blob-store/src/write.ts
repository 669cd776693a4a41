import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { finished, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { createEncryptStream, encryptedSize } from '@coffer/crypto';

import { BlobFileWriter, HashTap } from './blob-writer.ts';
import { BlobStoreError, ioError } from './errors.ts';
import type { FileOps, ResolvedOptions } from './options.ts';
import { type DataLayout, newBlobId } from './paths.ts';

/** Bytes between background fdatasyncs of a durable blob write (see BlobFileWriter). */
const SYNC_EVERY = 8 * 1024 * 1024;

/** A blob file written, fsync'd and renamed into `blobs/`, but not yet referenced by any record. */
export interface WrittenBlob {
  /** Blob id. */
  blobId: string;
  /** Plaintext bytes. */
  plainSize: number;
  /** File bytes. */
  encSize: number;
  /** Plaintext MD5. */
  md5: Buffer;
}

/** fsync a directory, so that a rename or a new entry in it is durable. */
export async function syncDir(fs: FileOps, dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fs.open(dir, 'r');
    await fh.sync();
  } finally {
    await fh?.close();
  }
}

/** mkdir -p, then fsync the parents of whatever was created (when durable). */
async function makeDir(fs: FileOps, dir: string, root: string, sync: boolean): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (first === undefined || !sync) return;
  // `first` is the top-most directory created: its parent and every created directory above `dir` need an fsync.
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    await syncDir(fs, d);
    if (d === path.dirname(first) || d === root || d === path.dirname(d)) break;
  }
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
 * Streams `body` through MD5/size tap → encryption → coalescing file writer into `tmp/ID`, then fsync, close,
 * rename to `blobs/xx/yy/ID` and fsync that directory. On any failure or abort the internal streams are destroyed,
 * the file is removed, and the error is rethrown; the body is left to its owner (not destroyed). The result is not referenced yet: the caller commits it, or
 * removes it with {@link removeBlob}.
 */
export async function writeBlob(
  layout: DataLayout,
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
  const blobId = newBlobId();
  const tmp = layout.tmpPath(blobId);
  const final = layout.blobPath(blobId);
  const fs = opts.fs;
  let fh: FileHandle | undefined;
  let tap: HashTap | undefined;
  let renamed = false;
  p.onCreate?.(blobId);
  try {
    p.signal?.throwIfAborted();
    try {
      fh = await fs.open(tmp, 'wx', 0o600);
    } catch (err) {
      throw ioError('creating a temp file', err);
    }
    tap = new HashTap(p.maxSize);
    const sink = new BlobFileWriter(fh, {
      bufferSize: opts.writeBufferSize,
      write: opts.write,
      syncEvery: opts.sync ? SYNC_EVERY : 0,
    });
    await pipeline(
      feedFrom(body, tap),
      createEncryptStream(p.streamKey, { chunkSize: p.chunkSize, pool: opts.cryptoPool }),
      sink,
      p.signal ? { signal: p.signal } : {},
    );
    // The digest worker finishes the MD5 while the file is fsync'd.
    const md5Promise = tap.digest();
    md5Promise.catch(() => undefined);
    const plainSize = tap.size;
    const encSize = encryptedSize(plainSize, p.chunkSize);
    if (sink.bytesWritten !== encSize) {
      throw new BlobStoreError('BLOB_IO', `blob file has ${sink.bytesWritten} bytes, expected ${encSize}`);
    }
    try {
      if (opts.sync) await fh.sync();
      const h = fh;
      fh = undefined;
      await h.close();
      const dir = layout.blobDir(blobId);
      await makeDir(fs, dir, layout.blobs, opts.sync);
      await fs.rename(tmp, final);
      renamed = true;
      if (opts.sync) await syncDir(fs, dir);
    } catch (err) {
      throw ioError('storing the blob file', err);
    }
    opts.point?.('blob-stored');
    const md5 = await md5Promise;
    p.signal?.throwIfAborted();
    return { blobId, plainSize, encSize, md5 };
  } catch (err) {
    tap?.discard();
    await fh?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    if (renamed) await fs.rm(final, { force: true }).catch(() => undefined);
    throw mapWriteError(err, p.signal);
  }
}

/** Removes a blob file that no committed record references. Errors are ignored: the sweep at open retries. */
export async function removeBlob(fs: FileOps, layout: DataLayout, blobId: string): Promise<void> {
  await fs.rm(layout.blobPath(blobId), { force: true }).catch(() => undefined);
}
