import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Transform, Writable, type TransformCallback } from 'node:stream';

import { BlobStoreError, ioError } from './errors.ts';
import type { FileWriteFn } from './options.ts';

const defaultWrite: FileWriteFn = (fh, buffer, offset, length, position) => fh.write(buffer, offset, length, position);

/**
 * Writable that appends to a FileHandle. Small writes are coalesced into writes of at least `bufferSize` bytes;
 * every write's `bytesWritten` is checked, because on a full disk Node can write fewer bytes than asked without an
 * error: the rest is retried, and a write of 0 bytes fails with `BLOB_IO`. Any file-system error becomes `BLOB_IO`.
 * Backpressure is honoured: `_write` calls back only once a due flush has completed.
 */
export class BlobFileWriter extends Writable {
  readonly #fh: FileHandle;
  readonly #bufferSize: number;
  readonly #write: FileWriteFn;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #position = 0;

  constructor(fh: FileHandle, opts: { bufferSize: number; write?: FileWriteFn }) {
    super({ highWaterMark: opts.bufferSize });
    this.#fh = fh;
    this.#bufferSize = opts.bufferSize;
    this.#write = opts.write ?? defaultWrite;
  }

  /** Bytes written to the file so far. */
  get bytesWritten(): number {
    return this.#position;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < this.#bufferSize) {
      cb();
      return;
    }
    this.#flush().then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#flush().then(() => cb(), cb);
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const buf = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    let off = 0;
    while (off < buf.length) {
      let written: number;
      try {
        ({ bytesWritten: written } = await this.#write(this.#fh, buf, off, buf.length - off, this.#position));
      } catch (err) {
        throw ioError('write of blob file', err);
      }
      if (!(written > 0)) {
        throw new BlobStoreError('BLOB_IO', 'write of blob file wrote 0 bytes (disk full?)');
      }
      off += written;
      this.#position += written;
    }
  }
}

/**
 * Pass-through Transform over the plaintext: MD5, byte count, and the `maxSize` limit (`BLOB_TOO_LARGE` as soon as
 * the body passes it).
 */
export class HashTap extends Transform {
  readonly #md5: Hash = createHash('md5');
  readonly #maxSize: number;
  #size = 0;

  constructor(maxSize: number | undefined) {
    super();
    this.#maxSize = maxSize ?? Number.POSITIVE_INFINITY;
  }

  /** Bytes seen. */
  get size(): number {
    return this.#size;
  }

  /** The MD5 of everything seen; call once, after the end. */
  digest(): Buffer {
    return this.#md5.digest();
  }

  override _transform(chunk: Buffer | string, enc: BufferEncoding, cb: TransformCallback): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk;
    this.#size += b.length;
    if (this.#size > this.#maxSize) {
      cb(new BlobStoreError('BLOB_TOO_LARGE', 'Your proposed upload exceeds the maximum allowed size', {
        details: { MaxSizeAllowed: String(this.#maxSize) },
      }));
      return;
    }
    this.#md5.update(b);
    cb(null, b);
  }
}
