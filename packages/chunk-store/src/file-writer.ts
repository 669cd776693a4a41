import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

import { ChunkStoreError, fileError } from './errors.ts';
import type { FileWriteFn } from './local-options.ts';

/** Options of {@link ChunkFileWriter}. */
export interface ChunkFileWriterOptions {
  /** Bytes gathered before a write is issued. */
  bufferSize: number;
  /** TEST ONLY: replaces `FileHandle.write` (then every flush is one contiguous write). */
  write?: FileWriteFn;
  /**
   * Start an `fdatasync` in the background after every this many bytes (0: never), so that the kernel writes the
   * file back while the body is still arriving and the final fsync finds little left to do.
   */
  syncEvery?: number;
}

/**
 * Writable that appends to a FileHandle. Small writes are gathered into writes of at least `bufferSize` bytes,
 * issued as one `writev` of the gathered buffers (no copy into one buffer). One write is in flight while the next
 * is gathered; a second full buffer waits for it, so at most two buffers are held. Every write's `bytesWritten` is
 * checked, because on a full disk Node can write fewer bytes than asked without an error: the rest is retried, and
 * a write of 0 bytes fails with `CHUNKS_NO_SPACE`. Any file-system error becomes `CHUNKS_IO` (`CHUNKS_NO_SPACE` for
 * ENOSPC).
 */
export class ChunkFileWriter extends Writable {
  readonly #fh: FileHandle;
  readonly #bufferSize: number;
  readonly #write: FileWriteFn | undefined;
  readonly #syncEvery: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #position = 0;
  #inFlight: Promise<void> | undefined;
  #syncing: Promise<void> | undefined;
  #syncedTo = 0;
  #error: unknown;

  constructor(fh: FileHandle, opts: ChunkFileWriterOptions) {
    super({ highWaterMark: opts.bufferSize });
    this.#fh = fh;
    this.#bufferSize = opts.bufferSize;
    this.#write = opts.write;
    this.#syncEvery = opts.syncEvery ?? 0;
  }

  /** Bytes written to the file so far. */
  get bytesWritten(): number {
    return this.#position;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
    }
    if (this.#pendingBytes < this.#bufferSize) {
      cb();
      return;
    }
    this.#issue().then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#issue()
      .then(() => this.#inFlight)
      .then(() => this.#syncing)
      .then(() => {
        if (this.#error !== undefined) throw this.#error;
        cb();
      })
      .catch(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Let a write or sync in flight settle before the caller closes the file handle.
    Promise.allSettled([this.#inFlight, this.#syncing]).then(() => cb(err));
  }

  /** Waits for the write in flight, then starts writing what is gathered (not waiting for it). */
  async #issue(): Promise<void> {
    if (this.#inFlight) await this.#inFlight;
    if (this.#error !== undefined) throw this.#error;
    if (this.#pendingBytes === 0) return;
    const bufs = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    const p = this.#writeAll(bufs, bytes).then(
      () => {
        this.#inFlight = undefined;
        this.#maybeSync();
      },
      (err: unknown) => {
        this.#inFlight = undefined;
        this.#error = err;
        throw err;
      },
    );
    p.catch(() => undefined); // surfaced by the next #issue()
    this.#inFlight = p;
  }

  #maybeSync(): void {
    if (this.#syncEvery === 0 || this.#syncing || this.#position - this.#syncedTo < this.#syncEvery) return;
    const upTo = this.#position;
    this.#syncing = this.#fh.datasync().then(
      () => {
        this.#syncedTo = upTo;
        this.#syncing = undefined;
      },
      (err: unknown) => {
        this.#syncing = undefined;
        this.#error ??= fileError('sync of a blob file', err);
      },
    );
  }

  async #writeAll(bufs: Buffer[], bytes: number): Promise<void> {
    if (this.#write) {
      // Test hook: one contiguous buffer through the injected write function.
      const buf = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs, bytes);
      let off = 0;
      while (off < buf.length)
        off += this.#advance(
          await this.#call(() => this.#write!(this.#fh, buf, off, buf.length - off, this.#position)),
        );
      return;
    }
    let list = bufs;
    let left = bytes;
    while (left > 0) {
      const written = this.#advance(
        await this.#call(() =>
          list.length === 1
            ? this.#fh.write(list[0]!, 0, list[0]!.length, this.#position)
            : this.#fh.writev(list, this.#position),
        ),
      );
      left -= written;
      if (left > 0) list = dropFront(list, written);
    }
  }

  async #call(fn: () => Promise<{ bytesWritten: number }>): Promise<number> {
    try {
      return (await fn()).bytesWritten;
    } catch (err) {
      throw fileError('write of a blob file', err);
    }
  }

  #advance(written: number): number {
    // A write that makes no progress without an error is a full disk (DESIGN.md, "Durability").
    if (!(written > 0))
      throw new ChunkStoreError('CHUNKS_NO_SPACE', 'write of a blob file wrote 0 bytes: no space left on the device');
    this.#position += written;
    return written;
  }
}

/** The buffers after the first `n` bytes of `list` (a short writev). */
function dropFront(list: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (n >= list[i]!.length) n -= list[i++]!.length;
  const rest = list.slice(i);
  if (n > 0) rest[0] = rest[0]!.subarray(n);
  return rest;
}
