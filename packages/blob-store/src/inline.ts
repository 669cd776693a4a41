import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  CryptoError,
  TAG_LENGTH,
  chunkCount,
  chunkSpan,
  decryptChunk,
  encryptChunk,
  encryptedSize,
} from '@coffer/crypto';

import { BlobStoreError } from './errors.ts';
import { mapWriteError } from './write.ts';

// Small objects ("inline"): the whole body is read into memory, encrypted there in the usual chunk format (the
// bytes are exactly what the blob file would hold), and committed into LevelDB with the object's record. That
// saves a temp file, two fsyncs and a rename per PUT, and the file open on GET; the one synced LevelDB batch is
// shared by concurrent PUTs (group commit). See README.md, "Inline objects".

/** A small body read whole, or the start of a larger one and the way to read the rest. */
export type SmallBody = { whole: true; plain: Buffer; md5: Buffer } | { whole: false; rest: Readable };

/**
 * Reads `body` until it ends or passes `limit` bytes. A body of at most `limit` bytes comes back whole, with its
 * MD5 (`BLOB_TOO_LARGE` past `maxSize`); a longer one comes back as a Readable that yields what was read and then
 * the rest of `body`. The body is iterated, never destroyed (its owner decides, as for file writes).
 */
export async function readSmallBody(
  body: Readable,
  limit: number,
  maxSize: number | undefined,
  signal: AbortSignal | undefined,
): Promise<SmallBody> {
  const it = body.iterator({ destroyOnReturn: false });
  const chunks: Buffer[] = [];
  let size = 0;
  let aborted: Promise<never> | undefined;
  let onAbort: (() => void) | undefined;
  if (signal) {
    aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
  }
  try {
    for (;;) {
      signal?.throwIfAborted();
      const r = aborted ? await Promise.race([it.next(), aborted]) : await it.next();
      if (r.done) break;
      const b = typeof r.value === 'string' ? Buffer.from(r.value) : (r.value as Buffer);
      chunks.push(b);
      size += b.length;
      if (maxSize !== undefined && size > maxSize) {
        throw new BlobStoreError('BLOB_TOO_LARGE', 'Your proposed upload exceeds the maximum allowed size', {
          details: { MaxSizeAllowed: String(maxSize) },
        });
      }
      if (size > limit) {
        const iterable = { [Symbol.asyncIterator]: () => it };
        const rest = Readable.from(
          (async function* () {
            yield* chunks;
            yield* iterable;
          })(),
          { objectMode: false },
        );
        return { whole: false, rest };
      }
    }
    const plain = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    return { whole: true, plain, md5: createHash('md5').update(plain).digest() };
  } catch (err) {
    throw mapWriteError(err, signal);
  } finally {
    if (onAbort) signal!.removeEventListener('abort', onAbort);
  }
}

/** Encrypts `plain` into the chunk format: exactly the bytes a blob file of it would hold. */
export function sealInline(streamKey: Buffer, plain: Buffer, chunkSize: number): Buffer {
  const n = chunkCount(plain.length, chunkSize);
  if (n === 1) return encryptChunk(streamKey, 0, true, plain);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++)
    parts.push(encryptChunk(streamKey, i, i === n - 1, plain.subarray(i * chunkSize, (i + 1) * chunkSize)));
  return Buffer.concat(parts, encryptedSize(plain.length, chunkSize));
}

/**
 * Verifies and decrypts the inclusive plaintext range [start, end] of an inline blob (`end` = -1 with `start` 0
 * authenticates an empty one). Every chunk the range touches is authenticated before any byte is returned;
 * CryptoError `CRYPTO_AUTH_FAILED` on any corruption or a wrong length.
 */
export function openInline(
  streamKey: Buffer,
  sealed: Buffer,
  plainSize: number,
  chunkSize: number,
  start: number,
  end: number,
): Buffer {
  if (sealed.length !== encryptedSize(plainSize, chunkSize)) {
    throw new CryptoError(
      'CRYPTO_AUTH_FAILED',
      `inline blob has ${sealed.length} bytes, expected ${encryptedSize(plainSize, chunkSize)}`,
    );
  }
  const span = chunkSpan(start, end, plainSize, chunkSize);
  const last = chunkCount(plainSize, chunkSize) - 1;
  const stride = chunkSize + TAG_LENGTH;
  const parts: Buffer[] = [];
  for (let i = span.firstChunk; i <= span.lastChunk; i++) {
    parts.push(
      decryptChunk(streamKey, i, i === last, sealed.subarray(i * stride, Math.min((i + 1) * stride, sealed.length))),
    );
  }
  const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const length = end - start + 1;
  return span.skip === 0 && all.length === length ? all : all.subarray(span.skip, span.skip + length);
}
