import { Readable, type Transform } from 'node:stream';

import type { ChunkReader, ChunkStore } from '@coffer/chunk-store';
import { chunkSpan, createDecryptStream, deriveStreamKey, type CryptoPool } from '@coffer/crypto';

import { chunkError } from './chunk-errors.ts';
import { BlobStoreError } from './errors.ts';
import { checkLayout } from './layout.ts';
import type { ObjectRecord, Segment } from './types.ts';

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
 * Maps the inclusive plaintext range [start, end] of an object to per-segment steps (cumulative plainSize; a range
 * may span several segments), after checking that its record agrees with itself about its size (`BLOB_CORRUPT`,
 * layout.ts). An empty object reads its empty segment(s), so that even size 0 is authenticated.
 */
export function planRead(
  rec: Pick<ObjectRecord, 'size' | 'segments' | 'parts'>,
  range?: { start: number; end: number },
): ReadStep[] {
  checkLayout(rec);
  const { segments, size } = rec;
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
  return steps;
}

/**
 * Feeds `ds` the bytes of an open chunk read. A buffer the reader yields is written to `ds`, and the reader is asked
 * for the next one before that write has called back (both decrypt streams copy or decrypt their input before calling
 * back), so that one read is in flight while the last buffer is decrypted; the reader is asked for the one after only
 * once the write has called back, so it may reuse that buffer then (see `ChunkReader`: the local store reads into two
 * buffers in turn, and a GET allocates none per MiB). Ends `ds` at the end of the range or of the blob (a short blob
 * is the decrypt stream's truncation error).
 */
async function feed(reader: ChunkReader, ds: Transform, stopped: () => boolean): Promise<void> {
  // A destroyed stream may never call back a write it holds: its close ends every wait.
  const closed = new Promise<void>((resolve) => ds.once('close', resolve));
  let consumed: Promise<void> = Promise.resolve();
  for await (const buf of reader) {
    await consumed; // the previous buffer is in the decrypt stream; the one before it is done
    if (stopped()) return;
    consumed = Promise.race([
      closed,
      new Promise<void>((resolve, reject) => {
        ds.write(buf, (err) => (err ? reject(err) : resolve()));
      }),
    ]);
    consumed.catch(() => undefined);
  }
  await consumed;
  if (!stopped()) ds.end();
}

/**
 * The chunks a stream pushes, one by one, as pushed. Not `for await (… of stream)`: a paused Readable's `read()`
 * hands over everything buffered as one `Buffer.concat` (a copy and a fresh allocation of up to the whole buffer,
 * ~1 MiB per MiB on a GET). Flowing mode with a small queue, paused while the queue is full, keeps the backpressure.
 */
async function* chunksOf(stream: Transform, maxQueued = 32): AsyncGenerator<Buffer, void, undefined> {
  const queue: Buffer[] = [];
  let head = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length - head >= maxQueued) stream.pause();
    signal();
  };
  const onEnd = (): void => {
    ended = true;
    signal();
  };
  const onError = (err: Error): void => {
    failure = err;
    signal();
  };
  const onClose = (): void => {
    if (!ended) failure ??= Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    signal();
  };
  stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  try {
    for (;;) {
      if (head < queue.length) {
        const chunk = queue[head]!;
        queue[head++] = undefined as unknown as Buffer;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        if (stream.isPaused() && queue.length - head < maxQueued / 2) stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
  }
}

/**
 * Decrypts the steps in order, yielding verified plaintext. One blob read is open at a time; it is closed when the
 * generator finishes or is returned early. Errors: CryptoError `CRYPTO_AUTH_FAILED` for any corruption,
 * `BLOB_CORRUPT` for a missing blob or one of the wrong size, `BLOB_IO` for other failures of the chunk store, and
 * its `CHUNKS_UNAVAILABLE` (the backend is down) unchanged.
 */
export async function* decryptSteps(
  chunks: ChunkStore,
  dek: Buffer,
  steps: readonly ReadStep[],
  pool?: CryptoPool,
): AsyncGenerator<Buffer, void, undefined> {
  for (const { segment, start, end } of steps) {
    const key = deriveStreamKey(dek, Buffer.from(segment.salt, 'base64'), segment.info ?? OBJECT_STREAM_INFO);
    const span = chunkSpan(start, end, segment.plainSize, segment.chunkSize);
    const ds = createDecryptStream(key, {
      plainSize: segment.plainSize,
      firstChunk: span.firstChunk,
      lastChunk: span.lastChunk,
      skip: span.skip,
      length: end - start + 1,
      chunkSize: segment.chunkSize,
      pool,
    });
    key.fill(0);
    let reader: ChunkReader | undefined;
    let stop = false;
    let feeding: Promise<void> | undefined;
    try {
      reader = await chunks.read(segment.blobId, { start: span.encStart, end: span.encEnd });
      // A blob cut (or grown) by whole chunks would pass every chunk a range reads but the final one: its size,
      // against the record's, tells before the first byte (and a record that lies about the size, too).
      if (reader.size !== segment.encSize) {
        const why = `blob ${segment.blobId} has ${reader.size} bytes, expected ${segment.encSize}`;
        throw new BlobStoreError('BLOB_CORRUPT', why);
      }
      feeding = feed(reader, ds, () => stop || ds.destroyed);
      feeding.catch((err: unknown) => ds.destroy(err as Error));
      yield* chunksOf(ds);
    } catch (err) {
      throw chunkError(err);
    } finally {
      stop = true;
      ds.destroy();
      await feeding?.catch(() => undefined);
      await reader?.close();
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

  constructor(
    gen: AsyncGenerator<Buffer, void, undefined>,
    first: IteratorResult<Buffer, void>,
    highWaterMark: number,
  ) {
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
