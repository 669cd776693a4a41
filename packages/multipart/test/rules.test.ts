import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MultipartError, multipartEtag, parsePartNumber, resolveCompletion, type StoredPart } from '../src/index.ts';

const MiB = 1024 * 1024;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('parsePartNumber', () => {
  it('should accept 1 and 10000', () => {
    assert.equal(parsePartNumber('1'), 1);
    assert.equal(parsePartNumber(10000), 10000);
  });
  for (const bad of ['0', '10001', '-1', '1.5', 'abc', '']) {
    it(`should refuse ${JSON.stringify(bad)} with MP_INVALID_PART_NUMBER`, () => {
      assert.throws(() => parsePartNumber(bad), (e: MultipartError) => e.code === 'MP_INVALID_PART_NUMBER' && e.details.ArgumentName === 'partNumber');
    });
  }
});

describe('multipartEtag', () => {
  it('should be the MD5 of the concatenated binary part MD5s, then -N', () => {
    const parts = [md5('a'), md5('b')];
    const expected = createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p, 'hex')))).digest('hex');
    assert.equal(multipartEtag(parts), `${expected}-2`);
  });
});

describe('resolveCompletion', () => {
  const stored = new Map<number, StoredPart>([
    [1, { partNumber: 1, etag: md5('1'), size: 5 * MiB }],
    [2, { partNumber: 2, etag: md5('2'), size: 5 * MiB }],
    [3, { partNumber: 3, etag: md5('3'), size: 10 }],
    [4, { partNumber: 4, etag: md5('4'), size: 100 }],
  ]);
  it('should accept ETags quoted or not and return the parts in order', () => {
    const parts = resolveCompletion('u', [{ partNumber: 1, etag: `"${md5('1')}"` }, { partNumber: 2, etag: md5('2') }, { partNumber: 3, etag: md5('3') }], stored);
    assert.deepEqual(parts.map((p) => p.partNumber), [1, 2, 3]);
  });
  it('should refuse an empty list', () => {
    assert.throws(() => resolveCompletion('u', [], stored), (e: MultipartError) => e.code === 'MP_NO_PARTS');
  });
  it('should refuse parts out of order, and repeated part numbers', () => {
    assert.throws(() => resolveCompletion('u', [{ partNumber: 2, etag: md5('2') }, { partNumber: 1, etag: md5('1') }], stored), (e: MultipartError) => e.code === 'MP_INVALID_PART_ORDER' && e.details.UploadId === 'u');
    assert.throws(() => resolveCompletion('u', [{ partNumber: 1, etag: md5('1') }, { partNumber: 1, etag: md5('1') }], stored), (e: MultipartError) => e.code === 'MP_INVALID_PART_ORDER');
  });
  it('should refuse an unknown part or a wrong ETag with InvalidPart details', () => {
    assert.throws(() => resolveCompletion('u', [{ partNumber: 9, etag: md5('9') }], stored), (e: MultipartError) => e.code === 'MP_INVALID_PART' && e.details.PartNumber === '9');
    assert.throws(() => resolveCompletion('u', [{ partNumber: 1, etag: md5('x') }], stored), (e: MultipartError) => e.code === 'MP_INVALID_PART');
  });
  it('should refuse a part under 5 MiB that is not the last', () => {
    assert.throws(() => resolveCompletion('u', [{ partNumber: 3, etag: md5('3') }, { partNumber: 4, etag: md5('4') }], stored),
      (e: MultipartError) => e.code === 'MP_ENTITY_TOO_SMALL' && e.details.ProposedSize === '10' && e.details.MinSizeAllowed === String(5 * MiB));
  });
});
