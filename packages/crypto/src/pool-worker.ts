/**
 * The worker side of {@link CryptoPool} (pool.ts): encrypts or decrypts one batch of consecutive chunks in
 * place, in the buffer the stream moved here, and moves that same buffer back. Nothing is structured-cloned but
 * the 32-byte key and a few numbers.
 *
 * Batch layout (both directions): chunk j of the batch sits at offset j·(C+16), the stride of the chunk file.
 * - encrypt: plaintext of chunk j at j·(C+16), its 16-byte tag slot right after it. The worker writes the
 *   ciphertext over the plaintext and the tag into the slot, so the buffer comes back as chunk-file bytes.
 * - decrypt: chunk-file bytes. The worker verifies each chunk and writes its plaintext at j·C (never past the
 *   ciphertext it has already consumed), so the verified plaintext comes back packed at the front.
 */
import { Piscina } from 'piscina';

import { decryptChunk, sealChunkParts } from './chunk.ts';
import { CryptoError } from './errors.ts';
import { TAG_LENGTH } from './format.ts';

/** One batch of work. Built by pool.ts; exported for its types only. */
export interface PoolTask {
  /** 'encrypt', 'decrypt', or 'ping' (warm-up: loads this module and answers). */
  op: 'encrypt' | 'decrypt' | 'ping';
  /** The stream key (a copy; wiped here after use). */
  key: Uint8Array;
  /** Index of the batch's first chunk in the stream. */
  firstIndex: number;
  /** Index of the stream's final chunk when it is in this batch, else -1. */
  finalIndex: number;
  /** Decrypt: plaintext size of the whole stream (checks the final chunk's length). */
  plainSize: number;
  /** Plaintext bytes per chunk. */
  chunkSize: number;
  /** The batch (moved, not copied). */
  buffer: ArrayBuffer;
  /** Bytes of `buffer` that belong to the batch (from offset 0). */
  length: number;
  /** Encrypt: plaintext bytes of each chunk; all but the final one are chunkSize. The final chunk's length. */
  lastPlainLength: number;
}

/** What a batch returns. */
export interface PoolResult {
  /** The same buffer, moved back: ciphertext (encrypt) or verified plaintext packed at the front (decrypt). */
  buffer: ArrayBuffer;
  /** Valid bytes at the front of `buffer`. */
  length: number;
  /** Decrypt: index of the first chunk that failed authentication, or -1. Chunks before it are in `buffer`. */
  failedAt: number;
  /** Why `failedAt` failed. */
  message: string;
}

function moved(result: PoolResult): unknown {
  return Piscina.move({
    [Piscina.transferableSymbol]: [result.buffer],
    [Piscina.valueSymbol]: result,
  } as never);
}

function encryptBatch(t: PoolTask): PoolResult {
  const stride = t.chunkSize + TAG_LENGTH;
  const buf = Buffer.from(t.buffer, 0, t.length);
  let off = 0;
  for (let index = t.firstIndex; off < t.length; index++) {
    const final = index === t.finalIndex;
    const n = final ? t.lastPlainLength : t.chunkSize;
    const [ct, tag] = sealChunkParts(t.key, index, final, buf.subarray(off, off + n));
    ct.copy(buf, off);
    tag.copy(buf, off + n);
    ct.fill(0);
    off += final ? n + TAG_LENGTH : stride;
    if (final) break;
  }
  return { buffer: t.buffer, length: off, failedAt: -1, message: '' };
}

function decryptBatch(t: PoolTask): PoolResult {
  const stride = t.chunkSize + TAG_LENGTH;
  const buf = Buffer.from(t.buffer, 0, t.length);
  let out = 0;
  let index = t.firstIndex;
  for (let off = 0; off < t.length; index++) {
    const final = index === t.finalIndex;
    const n = final ? t.length - off : stride;
    try {
      const plain = decryptChunk(t.key, index, final, buf.subarray(off, off + n));
      if (final && plain.length !== t.plainSize - index * t.chunkSize) {
        plain.fill(0);
        throw new CryptoError('CRYPTO_AUTH_FAILED', `chunk ${index} does not have the final chunk's length`);
      }
      // plain goes to [out, out+len) with out <= off: only bytes of chunks already consumed are overwritten.
      plain.copy(buf, out);
      plain.fill(0);
      out += plain.length;
    } catch (err) {
      buf.fill(0, out); // leave nothing unverified behind
      const message = err instanceof CryptoError ? err.message : `chunk ${index} failed authentication`;
      return { buffer: t.buffer, length: out, failedAt: index, message };
    }
    off += n;
  }
  return { buffer: t.buffer, length: out, failedAt: -1, message: '' };
}

/** The piscina handler: one batch in, the same buffer out. */
export default function run(task: PoolTask): unknown {
  try {
    if (task.op === 'ping') return { length: 0, failedAt: -1, message: 'pong' };
    return moved(task.op === 'encrypt' ? encryptBatch(task) : decryptBatch(task));
  } finally {
    task.key.fill(0);
  }
}
