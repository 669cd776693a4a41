import type { Transform } from 'node:stream';

import { sealChunkParts } from './chunk.ts';

/**
 * Seals a plaintext stream into chunks on the calling thread, pushing each chunk's ciphertext and tag to a stream.
 * It buffers at most one chunk: a full chunk is held back until more input (→ not final) or the end (→ final)
 * arrives, so the final flag is right for streams of unknown length. Input that holds a whole chunk and more is
 * sealed straight from the input, without a copy. Used by the inline encrypt stream and by the inline start of the
 * pooled one.
 */
export class ChunkSealer {
  /** Index of the next chunk to seal. */
  index = 0;
  readonly #key: Uint8Array;
  readonly #chunkSize: number;
  #buf: Buffer | undefined; // allocated lazily, then reused for every chunk
  #filled = 0;

  constructor(key: Uint8Array, chunkSize: number) {
    this.#key = key;
    this.#chunkSize = chunkSize;
  }

  /**
   * Takes `data` from `off` while chunks before index `limit` remain to be sealed; returns where it stopped. It
   * stops early only right after sealing chunk `limit − 1`, with nothing held back.
   */
  write(stream: Transform, data: Buffer, off = 0, limit = Infinity): number {
    const size = this.#chunkSize;
    while (off < data.length && this.index < limit) {
      if (this.#filled === size) {
        // More input follows a full held-back chunk, so that chunk is not the last.
        this.#emit(stream, this.#buf!, false);
        this.#filled = 0;
        continue;
      }
      if (this.#filled === 0 && data.length - off > size) {
        this.#emit(stream, data.subarray(off, off + size), false);
        off += size;
        continue;
      }
      this.#buf ??= Buffer.allocUnsafe(size);
      const n = Math.min(size - this.#filled, data.length - off);
      data.copy(this.#buf, this.#filled, off, off + n);
      this.#filled += n;
      off += n;
    }
    return off;
  }

  /** Seals what is held back (possibly nothing: an empty final chunk) as the stream's final chunk. */
  end(stream: Transform): void {
    this.#emit(stream, this.#buf ? this.#buf.subarray(0, this.#filled) : Buffer.alloc(0), true);
  }

  /** Zeroes the held-back plaintext. */
  wipe(): void {
    this.#buf?.fill(0);
  }

  #emit(stream: Transform, plain: Uint8Array, final: boolean): void {
    const [ct, tag] = sealChunkParts(this.#key, this.index++, final, plain);
    if (ct.length > 0) stream.push(ct);
    stream.push(tag);
  }
}
