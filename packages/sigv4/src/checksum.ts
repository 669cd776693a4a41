import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';

import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';

import type { ChecksumAlgorithm } from './types.ts';

/** The checksum algorithms S3 accepts, in AWS's spelling. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = Object.freeze(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']);

/** Digest length in bytes of each algorithm. */
export const CHECKSUM_LENGTHS: Readonly<Record<ChecksumAlgorithm, number>> = Object.freeze({
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
});

/** `x-amz-checksum-crc32` → `CRC32`; undefined for any other name. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name.toLowerCase());
  return m ? (m[1]!.toUpperCase() as ChecksumAlgorithm) : undefined;
}

/** `CRC32` → `x-amz-checksum-crc32`. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** Strict base64 decode of a checksum value: canonical base64 of exactly the algorithm's digest length. */
export function decodeChecksumValue(algorithm: ChecksumAlgorithm, value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  const buf = Buffer.from(value, 'base64');
  if (buf.length !== CHECKSUM_LENGTHS[algorithm] || buf.toString('base64') !== value) return undefined;
  return buf;
}

/** Incremental checksum. */
export interface Checksummer {
  update(data: Buffer): void;
  /** The digest (call once). */
  digest(): Promise<Buffer>;
}

class HashChecksummer implements Checksummer {
  readonly #hash: Hash;
  constructor(name: string) {
    this.#hash = createHash(name);
  }
  update(data: Buffer): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Buffer> {
    return this.#hash.digest();
  }
}

function u32be(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

class Crc32Checksummer implements Checksummer {
  #crc = 0;
  update(data: Buffer): void {
    this.#crc = zlib.crc32(data, this.#crc);
  }
  async digest(): Promise<Buffer> {
    return u32be(this.#crc);
  }
}

class Crc32cChecksummer implements Checksummer {
  readonly #crc = new Crc32c();
  update(data: Buffer): void {
    this.#crc.update(data);
  }
  async digest(): Promise<Buffer> {
    return u32be(this.#crc.digest());
  }
}

class Crc64NvmeChecksummer implements Checksummer {
  readonly #crc = new Crc64Nvme();
  update(data: Buffer): void {
    this.#crc.update(data);
  }
  async digest(): Promise<Buffer> {
    return Buffer.from(await this.#crc.digest());
  }
}

/** A fresh incremental checksum of the given algorithm. */
export function createChecksum(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Checksummer();
    case 'CRC32C':
      return new Crc32cChecksummer();
    case 'CRC64NVME':
      return new Crc64NvmeChecksummer();
    case 'SHA1':
      return new HashChecksummer('sha1');
    case 'SHA256':
      return new HashChecksummer('sha256');
  }
}

/** The CRCs whose checksums combine (all reflected, with initial value and final XOR all ones). */
export type CombinableAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME';

/** Reflected generator polynomials and widths. */
const CRC_PARAMS: Readonly<Record<CombinableAlgorithm, { width: bigint; poly: bigint }>> = Object.freeze({
  CRC32: { width: 32n, poly: 0xedb88320n },
  CRC32C: { width: 32n, poly: 0x82f63b78n },
  CRC64NVME: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
});

/** a·b modulo the polynomial, both in the reflected representation (x^0 is the top bit). */
function multModP(a: bigint, b: bigint, width: bigint, poly: bigint): bigint {
  let m = 1n << (width - 1n);
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) return p;
    }
    m >>= 1n;
    if (m === 0n) return p;
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
  }
}

/** x^(2^k) modulo each polynomial, k = 0..63 (enough for any byte length below 2^60). */
const X2N = new Map<CombinableAlgorithm, bigint[]>();
function x2nTable(algorithm: CombinableAlgorithm): bigint[] {
  let t = X2N.get(algorithm);
  if (!t) {
    const { width, poly } = CRC_PARAMS[algorithm];
    t = [1n << (width - 2n)]; // x^1
    for (let k = 1; k < 64; k++) t.push(multModP(t[k - 1]!, t[k - 1]!, width, poly));
    X2N.set(algorithm, t);
  }
  return t;
}

/**
 * The checksum of A ‖ B from the checksums of A and B and the length of B (zlib's `crc32_combine`, for any of the
 * three CRCs): how S3's FULL_OBJECT checksum of a multipart object follows from its parts' checksums.
 */
export function combineChecksums(algorithm: CombinableAlgorithm, first: Buffer, second: Buffer, secondLength: number): Buffer {
  const { width, poly } = CRC_PARAMS[algorithm];
  const bytes = Number(width / 8n);
  if (first.length !== bytes || second.length !== bytes) throw new RangeError(`${algorithm} checksums are ${bytes} bytes`);
  if (!Number.isSafeInteger(secondLength) || secondLength < 0) throw new RangeError('secondLength must be a non-negative integer');
  // x^(8·len) mod P, by the binary expansion of len·8 over the table of x^(2^k).
  const table = x2nTable(algorithm);
  let shift = 1n << (width - 1n); // x^0
  let n = BigInt(secondLength);
  for (let k = 3; n > 0n; k++, n >>= 1n) if (n & 1n) shift = multModP(table[k]!, shift, width, poly);
  const crc = multModP(shift, BigInt(`0x${first.toString('hex')}`), width, poly) ^ BigInt(`0x${second.toString('hex')}`);
  return Buffer.from(crc.toString(16).padStart(bytes * 2, '0'), 'hex');
}
