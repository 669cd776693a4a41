/**
 * The Coffer at-rest chunk format, version "S3E1" (S3-ENCRYPTION.md Part D, 4.2).
 *
 * DO NOT CHANGE anything in this file once data exists: every constant and layout below is
 * baked into objects already on disk. A new format needs a new magic ("S3E2") and a reader
 * that keeps accepting this one.
 *
 * - A data file is the concatenation of chunks, with no file or chunk header.
 * - Chunk i holds plaintext bytes [i·C, min((i+1)·C, n)); on disk it is ciphertext ‖ 16-byte GCM tag.
 * - Cipher: AES-256-GCM with a key unique to the stream (HKDF of the object's data key), so the
 *   counter nonce below never repeats under one key.
 * - nonce_i = u32be(0) ‖ u64be(i)                      (12 bytes)
 * - AAD_i   = "S3E1" ‖ u64be(i) ‖ u8(final)            (13 bytes; final = 1 only on the last chunk)
 * - Every chunk but the last holds exactly C plaintext bytes. An empty stream is one empty final
 *   chunk (a lone 16-byte tag), which authenticates "size 0" too.
 * The index and final flag in nonce/AAD stop reordering, truncation and extension.
 *
 * Where a stream ends, and why this format needed no new version for it (issue 10 point 5). This is the STREAM
 * construction (Hoang, Reyhanitabar, Rogaway, Vizár; Tink's streaming AEAD puts the same flag in its nonce): chunk i
 * is authenticated as "chunk i, final or not", and the chunk size C is bound into the data key's wrap (keys.ts), so
 * the final chunk fixes the plaintext length n = i_final·C + its own length. The length cannot also be bound into the
 * wrap or into every chunk: a body of unknown length (aws-chunked) is sealed chunk by chunk before its end is known.
 * What a reader of a stream of n bytes (n taken from the record) can therefore trust:
 * - A read that reaches chunk last(n) opens it as final: a stream that really ends elsewhere (the record or the
 *   file cut or grown by whole chunks, or by any number of bytes) fails there: its real final chunk is read as
 *   non-final, a non-final chunk as final, the final chunk's length is off, or the file ends early or goes on. So a
 *   whole-object read never ends short and clean: it fails at the end (a cut connection once bytes are sent), or
 *   before the first byte when the first chunk read is the one at fault.
 * - A range that ends before chunk last(n) cannot see the flag, but every chunk it reads is authenticated at its
 *   index, so it returns exactly the bytes written at those offsets: never wrong bytes, only (if the record lies) a
 *   wrong total in Content-Range. The store closes most of that gap before the first byte with what it holds
 *   outside the format: the file's size must be encryptedSize(n), and the record's sizes must agree with each
 *   other (blob-store layout.ts). Only a record and a file that lie alike (cut by the same whole chunks) are left
 *   to the flag check, which the read of the object's end makes (scrub reads every SSE-S3 object to its end).
 * - A multipart object is one stream per part, each with its own final chunk: "final" is per part, since which part
 *   is last is known only at completion, when the parts are long sealed (and an SSE-C Complete carries no key to
 *   seal anything new). Parts cannot be reordered (the part number is in each part key's HKDF info) and each part's
 *   end is authenticated as above; which parts make up the object is the record's word, checked for consistency
 *   (its parts list, segments and size) by the store.
 */

/** Format magic, bound into every chunk's AAD and every key wrap. */
export const FORMAT_MAGIC = 'S3E1';
/** Default plaintext bytes per chunk, C = 64 KiB (MinIO DARE parity). Stored per object so it may change for new data. */
export const CHUNK_SIZE = 65536;
/** Bytes of GCM tag appended to every chunk. */
export const TAG_LENGTH = 16;
/** Bytes of GCM nonce. */
export const NONCE_LENGTH = 12;
/** Bytes of every key (AES-256). */
export const KEY_LENGTH = 32;
/** The cipher of chunks and key wraps. */
export const CIPHER = 'aes-256-gcm';
/** Largest chunk size accepted (16 MiB): bounds the memory of one stream. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

const MAGIC = Buffer.from(FORMAT_MAGIC, 'latin1');
const TWO_32 = 2 ** 32;

/** Throws RangeError unless `chunkSize` is an integer in 1..MAX_CHUNK_SIZE. */
export function checkChunkSize(chunkSize: number, name = 'chunkSize'): number {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`${name} must be an integer between 1 and ${MAX_CHUNK_SIZE}`);
  }
  return chunkSize;
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0)
    throw new RangeError('chunk index must be a non-negative safe integer');
}

function checkSize(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative safe integer`);
}

/** nonce_i = u32be(0) ‖ u64be(i). */
export function chunkNonce(index: number): Buffer {
  checkIndex(index);
  const b = Buffer.alloc(NONCE_LENGTH);
  b.writeUInt32BE(Math.floor(index / TWO_32), 4);
  b.writeUInt32BE(index % TWO_32, 8);
  return b;
}

/** AAD_i = "S3E1" ‖ u64be(i) ‖ u8(final). */
export function chunkAad(index: number, final: boolean): Buffer {
  checkIndex(index);
  const b = Buffer.alloc(13);
  MAGIC.copy(b, 0);
  b.writeUInt32BE(Math.floor(index / TWO_32), 4);
  b.writeUInt32BE(index % TWO_32, 8);
  b[12] = final ? 1 : 0;
  return b;
}

/** Number of chunks of an n-byte plaintext: max(1, ceil(n / C)). */
export function chunkCount(plainSize: number, chunkSize: number = CHUNK_SIZE): number {
  checkSize(plainSize, 'plainSize');
  checkChunkSize(chunkSize);
  return Math.max(1, Math.ceil(plainSize / chunkSize));
}

/** On-disk size of an n-byte plaintext: n + 16·max(1, ceil(n / C)). */
export function encryptedSize(plainSize: number, chunkSize: number = CHUNK_SIZE): number {
  return plainSize + TAG_LENGTH * chunkCount(plainSize, chunkSize);
}

/** Plaintext length of chunk `index` of an n-byte object (C for all but the last). */
export function chunkPlainLength(index: number, plainSize: number, chunkSize: number = CHUNK_SIZE): number {
  const last = chunkCount(plainSize, chunkSize) - 1;
  checkIndex(index);
  if (index > last) throw new RangeError(`chunk index ${index} is past the last chunk ${last}`);
  return index < last ? chunkSize : plainSize - last * chunkSize;
}

/** Where a plaintext range lives on disk; see {@link chunkSpan}. */
export interface ChunkSpan {
  /** First chunk holding the range. */
  firstChunk: number;
  /** Last chunk holding the range (inclusive). */
  lastChunk: number;
  /** Offset in the data file of firstChunk: firstChunk·(C+16). */
  encStart: number;
  /** End (exclusive) in the data file: min(encryptedSize(n), (lastChunk+1)·(C+16)). */
  encEnd: number;
  /** Plaintext bytes to drop from the start of firstChunk. */
  skip: number;
}

/**
 * Maps the inclusive plaintext range [plainStart, plainEndInclusive] of an object of plainSize
 * bytes to the chunks and encrypted byte range that hold it. Needs 0 ≤ start ≤ end < plainSize;
 * the one exception is (0, -1, 0), the whole of an empty object (its lone empty final chunk).
 * Throws RangeError otherwise.
 */
export function chunkSpan(
  plainStart: number,
  plainEndInclusive: number,
  plainSize: number,
  chunkSize: number = CHUNK_SIZE,
): ChunkSpan {
  checkSize(plainSize, 'plainSize');
  checkChunkSize(chunkSize);
  if (plainSize === 0 && plainStart === 0 && plainEndInclusive === -1) {
    return { firstChunk: 0, lastChunk: 0, encStart: 0, encEnd: TAG_LENGTH, skip: 0 };
  }
  checkSize(plainStart, 'plainStart');
  checkSize(plainEndInclusive, 'plainEndInclusive');
  if (plainStart > plainEndInclusive || plainEndInclusive >= plainSize) {
    throw new RangeError('range must satisfy 0 <= plainStart <= plainEndInclusive < plainSize');
  }
  const firstChunk = Math.floor(plainStart / chunkSize);
  const lastChunk = Math.floor(plainEndInclusive / chunkSize);
  const stride = chunkSize + TAG_LENGTH;
  return {
    firstChunk,
    lastChunk,
    encStart: firstChunk * stride,
    encEnd: Math.min(encryptedSize(plainSize, chunkSize), (lastChunk + 1) * stride),
    skip: plainStart - firstChunk * chunkSize,
  };
}
