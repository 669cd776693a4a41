import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  CHUNK_SIZE,
  TAG_LENGTH,
  chunkAad,
  chunkCount,
  chunkNonce,
  chunkPlainLength,
  chunkSpan,
  encryptedSize,
} from '../src/index.ts';

const C = CHUNK_SIZE;

describe('format constants', () => {
  it('should freeze C at 64 KiB and the tag at 16 bytes', () => {
    assert.equal(CHUNK_SIZE, 65536);
    assert.equal(TAG_LENGTH, 16);
  });
});

describe('chunkNonce', () => {
  it('should be u32be(0) ‖ u64be(i)', () => {
    assert.equal(chunkNonce(0).toString('hex'), '000000000000000000000000');
    assert.equal(chunkNonce(1).toString('hex'), '000000000000000000000001');
    assert.equal(chunkNonce(2 ** 32 + 5).toString('hex'), '000000000000000100000005');
  });
  it('should reject negative or fractional indexes', () => {
    assert.throws(() => chunkNonce(-1), RangeError);
    assert.throws(() => chunkNonce(1.5), RangeError);
  });
});

describe('chunkAad', () => {
  it('should be "S3E1" ‖ u64be(i) ‖ u8(final)', () => {
    assert.equal(chunkAad(7, false).toString('hex'), Buffer.from('S3E1').toString('hex') + '000000000000000700');
    assert.equal(chunkAad(7, true).toString('hex'), Buffer.from('S3E1').toString('hex') + '000000000000000701');
  });
});

describe('chunkCount', () => {
  it('should count one chunk for an empty object', () => {
    assert.equal(chunkCount(0), 1);
    assert.equal(chunkCount(1), 1);
    assert.equal(chunkCount(C), 1);
    assert.equal(chunkCount(C + 1), 2);
  });
});

describe('chunkPlainLength', () => {
  it('should give C for all but the last chunk', () => {
    assert.equal(chunkPlainLength(0, 3 * C + 7), C);
    assert.equal(chunkPlainLength(3, 3 * C + 7), 7);
    assert.equal(chunkPlainLength(0, 0), 0);
    assert.throws(() => chunkPlainLength(4, 3 * C + 7), RangeError);
  });
});

describe('encryptedSize', () => {
  it('should be n + 16·max(1, ceil(n/C))', () => {
    assert.equal(encryptedSize(0), 16);
    assert.equal(encryptedSize(1), 17);
    assert.equal(encryptedSize(C - 1), C + 15);
    assert.equal(encryptedSize(C), C + 16);
    assert.equal(encryptedSize(C + 1), C + 1 + 32);
    assert.equal(encryptedSize(3 * C + 7), 3 * C + 7 + 64);
  });
  it('should honour another chunk size', () => {
    assert.equal(encryptedSize(10, 4), 10 + 48);
  });
  it('should reject a bad chunk size or size', () => {
    assert.throws(() => encryptedSize(10, 0), /chunkSize/);
    assert.throws(() => encryptedSize(-1), /plainSize/);
  });
});

describe('chunkSpan', () => {
  it('should map a range inside one chunk', () => {
    assert.deepEqual(chunkSpan(10, 20, 3 * C), { firstChunk: 0, lastChunk: 0, encStart: 0, encEnd: C + 16, skip: 10 });
  });
  it('should map a range across chunks', () => {
    assert.deepEqual(chunkSpan(C - 1, C, 3 * C), {
      firstChunk: 0,
      lastChunk: 1,
      encStart: 0,
      encEnd: 2 * (C + 16),
      skip: C - 1,
    });
  });
  it('should clamp the end to the encrypted size for the last chunk', () => {
    const n = 2 * C + 7;
    assert.deepEqual(chunkSpan(2 * C + 1, n - 1, n), {
      firstChunk: 2,
      lastChunk: 2,
      encStart: 2 * (C + 16),
      encEnd: encryptedSize(n),
      skip: 1,
    });
  });
  it('should map the whole of an empty object as (0, -1, 0)', () => {
    assert.deepEqual(chunkSpan(0, -1, 0), { firstChunk: 0, lastChunk: 0, encStart: 0, encEnd: 16, skip: 0 });
  });
  it('should reject ranges outside the object', () => {
    assert.throws(() => chunkSpan(5, 4, 10), RangeError);
    assert.throws(() => chunkSpan(0, 10, 10), RangeError);
    assert.throws(() => chunkSpan(-1, 3, 10), RangeError);
    assert.throws(() => chunkSpan(0, 0, 0), RangeError);
  });
});
