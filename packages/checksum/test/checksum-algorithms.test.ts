import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_LENGTHS,
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  decodeChecksumValue,
} from '../src/index.ts';

describe('CHECKSUM_ALGORITHMS', () => {
  it("should list the five algorithms S3 accepts, in AWS's order, frozen", () => {
    assert.deepEqual(CHECKSUM_ALGORITHMS, ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']);
    assert.ok(Object.isFrozen(CHECKSUM_ALGORITHMS));
    assert.deepEqual(CHECKSUM_LENGTHS, { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 });
  });
});

describe('checksumAlgorithmOfHeader and checksumHeaderName', () => {
  it('should map each x-amz-checksum-* header to its algorithm and back, in any letter case', () => {
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const name = checksumHeaderName(algorithm);
      assert.equal(name, `x-amz-checksum-${algorithm.toLowerCase()}`);
      assert.equal(checksumAlgorithmOfHeader(name), algorithm);
      assert.equal(checksumAlgorithmOfHeader(name.toUpperCase()), algorithm);
    }
  });

  it('should give undefined for other headers', () => {
    for (const name of [
      'x-amz-checksum-algorithm',
      'x-amz-checksum-type',
      'x-amz-checksum-md5',
      'x-amz-checksum-crc32 ',
    ]) {
      assert.equal(checksumAlgorithmOfHeader(name), undefined, name);
    }
  });
});

describe('decodeChecksumValue', () => {
  it("should decode canonical base64 of the algorithm's digest length", () => {
    assert.deepEqual(decodeChecksumValue('CRC32', 'y/Q5Jg=='), Buffer.from('cbf43926', 'hex'));
    assert.deepEqual(decodeChecksumValue('CRC64NVME', 'rosUhgp5mIg='), Buffer.from('ae8b14860a799888', 'hex'));
  });

  it('should refuse a wrong length, bad characters, missing padding and non-canonical trailing bits', () => {
    for (const [algorithm, value] of [
      ['CRC32', 'rosUhgp5mIg='], // 8 bytes for a 4-byte CRC
      ['CRC32', 'y/Q5Jg'], // no padding
      ['CRC32', 'y_Q5Jg=='], // base64url
      ['CRC32', ' y/Q5Jg=='],
      ['CRC32', 'y/Q5Jh=='], // same bytes, trailing bits set
      ['SHA256', ''],
    ] as const) {
      assert.equal(decodeChecksumValue(algorithm, value), undefined, `${algorithm} ${JSON.stringify(value)}`);
    }
  });
});
