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
