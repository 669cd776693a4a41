import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

import { chunkSpan, createDecryptStream, deriveStreamKey, type CryptoPool } from '@coffer/crypto';

import { BlobStoreError, ioError } from './errors.ts';
import type { DataLayout } from './paths.ts';
import type { Segment } from './types.ts';

/** Default HKDF info of a single-part object's stream key. */
export const OBJECT_STREAM_INFO = 'S3E1/obj';

/** One segment's share of a read: the inclusive local plaintext range, or the whole of an empty segment. */
export interface ReadStep {
  segment: Segment;
  /** Local plaintext start (inclusive). */
  start: number;
  /** Local plaintext end (inclusive); -1 with start 0 reads an empty segment (authenticates its size). */
  end: number;
}

/**
 * Maps the inclusive plaintext range [start, end] of an object made of `segments` to per-segment steps
 * (cumulative plainSize; a range may span several segments). An empty object reads its empty segment(s), so that
 * even size 0 is authenticated.
 */
export function planRead(segments: readonly Segment[], size: number, range?: { start: number; end: number }): ReadStep[] {
  if (size === 0) return segments.map((segment) => ({ segment, start: 0, end: -1 }));
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= size) {
    throw new RangeError('range must satisfy 0 <= start <= end < size');
  }
  const steps: ReadStep[] = [];
  let offset = 0;
  for (const segment of segments) {
    const segEnd = offset + segment.plainSize - 1;
    if (segment.plainSize > 0 && segEnd >= start && offset <= end) {
      steps.push({ segment, start: Math.max(start, offset) - offset, end: Math.min(end, segEnd) - offset });
    }
    offset += segment.plainSize;
    if (offset > end) break;
  }
  if (offset < end + 1) throw new BlobStoreError('BLOB_CORRUPT', 'object segments are shorter than its size');
  return steps;
}

function mapReadError(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException | null;
  if (e && typeof e === 'object' && typeof e.syscall === 'string') {
    if (e.code === 'ENOENT') return new BlobStoreError('BLOB_CORRUPT', 'a blob file of the object is missing', { cause: err });
    return ioError('reading a blob file', err);
  }
  return err;
}

/**
 * Decrypts the steps in order, yielding verified plaintext. One blob file is open at a time; it is closed when the
 * generator finishes or is returned early. Errors: CryptoError `CRYPTO_AUTH_FAILED` for any corruption,
 * `BLOB_CORRUPT` for a missing file, `BLOB_IO` for other file-system errors.
 */
export async function* decryptSteps(
  layout: DataLayout,
  dek: Buffer,
  steps: readonly ReadStep[],
  highWaterMark: number,
  pool?: CryptoPool,
): AsyncGenerator<Buffer, void, undefined> {
  for (const { segment, start, end } of steps) {
    const key = deriveStreamKey(dek, Buffer.from(segment.salt, 'base64'), segment.info ?? OBJECT_STREAM_INFO);
    const span = chunkSpan(start, end, segment.plainSize, segment.chunkSize);
    const rs = createReadStream(layout.blobPath(segment.blobId), { start: span.encStart, end: span.encEnd - 1, highWaterMark });
    const ds = createDecryptStream(key, {
      plainSize: segment.plainSize,
      firstChunk: span.firstChunk,
      lastChunk: span.lastChunk,
      skip: span.skip,
      length: end - start + 1,
      chunkSize: segment.chunkSize,
      pool,
    });
    rs.on('error', (err) => ds.destroy(err));
    rs.pipe(ds);
    try {
      for await (const chunk of ds) yield chunk as Buffer;
    } catch (err) {
      throw mapReadError(err);
    } finally {
      rs.destroy();
      ds.destroy();
    }
  }
}

/**
 * A byte Readable over a plaintext generator whose first result was already taken (and authenticated) by the opener.
 * Destroying it returns the generator, which closes the open blob file.
 */
export class PlaintextReader extends Readable {
  readonly #gen: AsyncGenerator<Buffer, void, undefined>;
  #first: IteratorResult<Buffer, void> | undefined;
  #busy = false;

  constructor(gen: AsyncGenerator<Buffer, void, undefined>, first: IteratorResult<Buffer, void>, highWaterMark: number) {
    super({ highWaterMark });
    this.#gen = gen;
    this.#first = first;
  }

  override _read(): void {
    if (this.#busy) return;
    this.#busy = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const r = this.#first ?? (await this.#gen.next());
        this.#first = undefined;
        if (this.destroyed) return;
        if (r.done) {
          this.push(null);
          return;
        }
        if (!this.push(r.value)) return;
      }
    } catch (err) {
      this.destroy(err as Error);
    } finally {
      this.#busy = false;
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#first = undefined;
    this.#gen.return(undefined).catch(() => undefined);
    cb(err);
  }
}
