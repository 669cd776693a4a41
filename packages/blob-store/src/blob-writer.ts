import { Transform, type TransformCallback } from 'node:stream';

import { createOffThreadHash, type OffThreadHash } from '@coffer/crypto';

import { BlobStoreError } from './errors.ts';

/**
 * Pass-through Transform over the plaintext: MD5, byte count, and the `maxSize` limit (`BLOB_TOO_LARGE` as soon as
 * the body passes it). The MD5 of bodies of 1 MiB or more runs on the digest worker (`@coffer/crypto`
 * `OffThreadHash`), in parallel with the encryption and the file writes on this thread; a full window of batches at
 * the worker holds the body back.
 */
export class HashTap extends Transform {
  readonly #md5: OffThreadHash = createOffThreadHash('md5');
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
  digest(): Promise<Buffer> {
    return this.#md5.digest();
  }

  override _transform(chunk: Buffer | string, enc: BufferEncoding, cb: TransformCallback): void {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk;
    this.#size += b.length;
    if (this.#size > this.#maxSize) {
      cb(
        new BlobStoreError('BLOB_TOO_LARGE', 'Your proposed upload exceeds the maximum allowed size', {
          details: { MaxSizeAllowed: String(this.#maxSize) },
        }),
      );
      return;
    }
    let room: boolean;
    try {
      room = this.#md5.update(b);
    } catch (err) {
      cb(err as Error);
      return;
    }
    if (room) {
      cb(null, b);
      return;
    }
    this.push(b);
    this.#md5.drained().then(() => cb(), cb);
  }

  /** Abandons the hash (the write failed): frees its state at the digest worker. Idempotent. */
  discard(): void {
    this.#md5.destroy();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (err) this.#md5.destroy();
    cb(err);
  }
}
