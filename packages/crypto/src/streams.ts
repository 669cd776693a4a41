import { Transform, type TransformCallback } from 'node:stream';

import { checkKey, decryptChunk } from './chunk.ts';
import { CryptoError } from './errors.ts';
import { CHUNK_SIZE, TAG_LENGTH, checkChunkSize, chunkCount } from './format.ts';
import { CryptoPool } from './pool.ts';
import { createPooledDecryptStream, createPooledEncryptStream } from './pool-streams.ts';
import { ChunkSealer } from './sealer.ts';

/** Options of {@link createEncryptStream}. */
export interface EncryptStreamOptions {
  /** Plaintext bytes per chunk. Default CHUNK_SIZE (64 KiB); must match what the reader is given. */
  chunkSize?: number;
  /**
   * Encrypt in this worker pool (batches of chunks, bounded in flight, results in order). Default: inline, on the
   * calling thread. The first `pool.inlineBelow` bytes are always encrypted inline. A closed pool means inline.
   */
  pool?: CryptoPool;
}

/** Options of {@link createDecryptStream}. */
export interface DecryptStreamOptions {
  /** Plaintext size of the whole stream (object or part); fixes which chunk is final and how long each is. */
  plainSize: number;
  /** Index of the chunk the input starts at. Default 0. */
  firstChunk?: number;
  /** Index of the last chunk to read (inclusive). Default: the stream's last chunk. */
  lastChunk?: number;
  /** Plaintext bytes to drop from the start of firstChunk. Default 0. */
  skip?: number;
  /** Plaintext bytes to emit after `skip`. Default: everything to the end of lastChunk. */
  length?: number;
  /** Plaintext bytes per chunk, as written. Default CHUNK_SIZE. */
  chunkSize?: number;
  /**
   * Decrypt in this worker pool. Default: inline. Spans of fewer than `pool.inlineBelow` plaintext bytes are
   * decrypted inline anyway, and so is everything once the pool is closed.
   */
  pool?: CryptoPool;
}

function checkPool(pool: unknown): CryptoPool | undefined {
  if (pool === undefined) return undefined;
  if (!(pool instanceof CryptoPool)) throw new TypeError('opts.pool must be a CryptoPool');
  return pool.closed ? undefined : pool;
}

const ENCRYPT_DEFAULTS = Object.freeze({ chunkSize: CHUNK_SIZE });

/**
 * A Transform from plaintext to chunk-file bytes (format.ts), sealed on the calling thread by a {@link ChunkSealer}
 * (at most one chunk buffered, the final flag right for streams of unknown length), or in `opts.pool`.
 */
export function createEncryptStream(key: Buffer, opts: EncryptStreamOptions = {}): Transform {
  checkKey(key);
  const chunkSize = checkChunkSize(opts.chunkSize ?? ENCRYPT_DEFAULTS.chunkSize, 'opts.chunkSize');
  const pool = checkPool(opts.pool);
  if (pool) return createPooledEncryptStream(key, chunkSize, pool);
  const k = Buffer.from(key); // private copy: the caller may wipe theirs
  const sealer = new ChunkSealer(k, chunkSize);

  return new Transform({
    transform(this: Transform, data: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        sealer.write(this, data);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(this: Transform, cb: TransformCallback) {
      try {
        sealer.end(this);
        sealer.wipe();
        k.fill(0);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    destroy(err, cb) {
      sealer.wipe();
      k.fill(0);
      cb(err);
    },
  });
}

function intOpt(value: number | undefined, def: number, name: string): number {
  const v = value ?? def;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative safe integer`);
  return v;
}

/**
 * A Transform from chunk-file bytes (starting at chunk `firstChunk`) to verified plaintext,
 * trimmed to [skip, skip + length) of the chunks read. Each chunk is authenticated as a whole
 * before any of its bytes are pushed. The stream fails with CryptoError CRYPTO_AUTH_FAILED on a
 * bad tag (flipped byte, swapped chunk, other key), on a chunk whose final flag or length does
 * not fit plainSize, on bytes after the object's final chunk, and on input that ends early.
 * Input past `lastChunk` when lastChunk is not the object's final chunk is ignored.
 */
export function createDecryptStream(key: Buffer, opts: DecryptStreamOptions): Transform {
  checkKey(key);
  if (opts === null || typeof opts !== 'object') throw new TypeError('opts must be an object');
  const chunkSize = checkChunkSize(opts.chunkSize ?? CHUNK_SIZE, 'opts.chunkSize');
  const plainSize = intOpt(opts.plainSize, NaN, 'opts.plainSize');
  const objLast = chunkCount(plainSize, chunkSize) - 1;
  const firstChunk = intOpt(opts.firstChunk, 0, 'opts.firstChunk');
  const lastChunk = intOpt(opts.lastChunk, objLast, 'opts.lastChunk');
  if (firstChunk > lastChunk || lastChunk > objLast) {
    throw new RangeError(`opts.firstChunk/lastChunk must satisfy firstChunk <= lastChunk <= ${objLast}`);
  }
  const spanBytes = Math.min(plainSize, (lastChunk + 1) * chunkSize) - firstChunk * chunkSize;
  const skip = intOpt(opts.skip, 0, 'opts.skip');
  if (skip > spanBytes) throw new RangeError('opts.skip is past the end of the chunks read');
  const length = intOpt(opts.length, spanBytes - skip, 'opts.length');
  if (skip + length > spanBytes) throw new RangeError('opts.skip + opts.length is past the end of the chunks read');
  const pool = checkPool(opts.pool);
  if (pool && spanBytes >= pool.inlineBelow) {
    return createPooledDecryptStream(key, { chunkSize, plainSize, objLast, firstChunk, lastChunk, skip, length }, pool);
  }

  const k = Buffer.from(key);
  const work = Buffer.allocUnsafe(chunkSize + TAG_LENGTH);
  let index = firstChunk;
  let filled = 0;
  let pos = 0; // plaintext offset (relative to firstChunk's start) of the next chunk
  const want = (i: number): number => (i < objLast ? chunkSize : plainSize - objLast * chunkSize) + TAG_LENGTH;
  const fail = (why: string): CryptoError => new CryptoError('CRYPTO_AUTH_FAILED', why);

  const open = (stream: Transform, sealed: Buffer): void => {
    const plain = decryptChunk(k, index, index === objLast, sealed);
    const from = Math.max(skip, pos) - pos;
    const to = Math.min(skip + length, pos + plain.length) - pos;
    if (to > from) stream.push(from === 0 && to === plain.length ? plain : plain.subarray(from, to));
    pos += plain.length;
    index++;
  };

  return new Transform({
    transform(this: Transform, data: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        let off = 0;
        while (off < data.length) {
          if (index > lastChunk) {
            if (lastChunk === objLast) throw fail('unexpected data after the final chunk');
            break; // the caller read further than asked; those bytes are not ours to check
          }
          const need = want(index);
          if (filled === 0 && data.length - off >= need) {
            open(this, data.subarray(off, off + need));
            off += need;
            continue;
          }
          const n = Math.min(need - filled, data.length - off);
          data.copy(work, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === need) {
            filled = 0;
            open(this, work.subarray(0, need));
          }
        }
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(this: Transform, cb: TransformCallback) {
      work.fill(0);
      k.fill(0);
      if (index <= lastChunk) {
        cb(fail(`encrypted data is truncated: ended in chunk ${index}, expected up to chunk ${lastChunk}`));
        return;
      }
      cb();
    },
    destroy(err, cb) {
      work.fill(0);
      k.fill(0);
      cb(err);
    },
  });
}
