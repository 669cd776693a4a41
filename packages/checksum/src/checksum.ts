/** Incremental checksums of the five algorithms: Node's hashes and `zlib.crc32`, AWS's CRC32C and CRC64NVME. */
import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';

import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';

import type { ChecksumAlgorithm } from './algorithms.ts';

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
