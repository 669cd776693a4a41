import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  type MultipartError,
  multipartEtag,
  objectChecksum,
  parsePartNumber,
  resolveChecksumType,
  resolveCompletion,
  type StoredPart,
} from '../src/index.ts';

const MiB = 1024 * 1024;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('parsePartNumber', () => {
  it('should accept 1 and 10000', () => {
    assert.equal(parsePartNumber('1'), 1);
    assert.equal(parsePartNumber(10000), 10000);
  });
  for (const bad of ['0', '10001', '-1', '1.5', 'abc', '']) {
    it(`should refuse ${JSON.stringify(bad)} with MP_INVALID_PART_NUMBER`, () => {
      assert.throws(
        () => parsePartNumber(bad),
        (e: MultipartError) => e.code === 'MP_INVALID_PART_NUMBER' && e.details.ArgumentName === 'partNumber',
      );
    });
  }
});

describe('multipartEtag', () => {
  it('should be the MD5 of the concatenated binary part MD5s, then -N', () => {
    const parts = [md5('a'), md5('b')];
    const expected = createHash('md5')
      .update(Buffer.concat(parts.map((p) => Buffer.from(p, 'hex'))))
      .digest('hex');
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
    const parts = resolveCompletion(
      'u',
      [
        { partNumber: 1, etag: `"${md5('1')}"` },
        { partNumber: 2, etag: md5('2') },
        { partNumber: 3, etag: md5('3') },
      ],
      stored,
    );
    assert.deepEqual(
      parts.map((p) => p.partNumber),
      [1, 2, 3],
    );
  });
  it('should refuse an ETag with an unbalanced quote (unquoteEtag: quotes come in pairs)', () => {
    for (const etag of [`"${md5('1')}`, `${md5('1')}"`]) {
      assert.throws(
        () => resolveCompletion('u', [{ partNumber: 1, etag }], stored),
        (e: MultipartError) => e.code === 'MP_INVALID_PART' && e.details.ETag === etag,
      );
    }
  });
  it('should refuse an empty list', () => {
    assert.throws(
      () => resolveCompletion('u', [], stored),
      (e: MultipartError) => e.code === 'MP_NO_PARTS',
    );
  });
  it('should refuse parts out of order, and repeated part numbers', () => {
    assert.throws(
      () =>
        resolveCompletion(
          'u',
          [
            { partNumber: 2, etag: md5('2') },
            { partNumber: 1, etag: md5('1') },
          ],
          stored,
        ),
      (e: MultipartError) => e.code === 'MP_INVALID_PART_ORDER' && e.details.UploadId === 'u',
    );
    assert.throws(
      () =>
        resolveCompletion(
          'u',
          [
            { partNumber: 1, etag: md5('1') },
            { partNumber: 1, etag: md5('1') },
          ],
          stored,
        ),
      (e: MultipartError) => e.code === 'MP_INVALID_PART_ORDER',
    );
  });
  it('should refuse an unknown part or a wrong ETag with InvalidPart details', () => {
    assert.throws(
      () => resolveCompletion('u', [{ partNumber: 9, etag: md5('9') }], stored),
      (e: MultipartError) => e.code === 'MP_INVALID_PART' && e.details.PartNumber === '9',
    );
    assert.throws(
      () => resolveCompletion('u', [{ partNumber: 1, etag: md5('x') }], stored),
      (e: MultipartError) => e.code === 'MP_INVALID_PART',
    );
  });
  it('should refuse a part under 5 MiB that is not the last', () => {
    assert.throws(
      () =>
        resolveCompletion(
          'u',
          [
            { partNumber: 3, etag: md5('3') },
            { partNumber: 4, etag: md5('4') },
          ],
          stored,
        ),
      (e: MultipartError) =>
        e.code === 'MP_ENTITY_TOO_SMALL' &&
        e.details.ProposedSize === '10' &&
        e.details.MinSizeAllowed === String(5 * MiB),
    );
  });
});

describe('resolveChecksumType', () => {
  it('should default to FULL_OBJECT for CRC64NVME and COMPOSITE for the others, and nothing without an algorithm', () => {
    assert.equal(resolveChecksumType('CRC64NVME', undefined), 'FULL_OBJECT');
    for (const alg of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const)
      assert.equal(resolveChecksumType(alg, undefined), 'COMPOSITE');
    assert.equal(resolveChecksumType(undefined, undefined), undefined);
  });

  it('should take the pairs S3 supports, in any case', () => {
    assert.equal(resolveChecksumType('CRC32', 'full_object'), 'FULL_OBJECT');
    assert.equal(resolveChecksumType('CRC32C', 'FULL_OBJECT'), 'FULL_OBJECT');
    assert.equal(resolveChecksumType('CRC32C', 'COMPOSITE'), 'COMPOSITE');
    assert.equal(resolveChecksumType('SHA256', 'COMPOSITE'), 'COMPOSITE');
  });

  it("should refuse the others with MP_INVALID_CHECKSUM_TYPE and S3's message", () => {
    const refused = (alg: Parameters<typeof resolveChecksumType>[0], type: string, message: string) =>
      assert.throws(
        () => resolveChecksumType(alg, type),
        (e: MultipartError) => e.code === 'MP_INVALID_CHECKSUM_TYPE' && e.message === message,
      );
    refused('SHA1', 'FULL_OBJECT', 'The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm.');
    refused(
      'CRC64NVME',
      'COMPOSITE',
      'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.',
    );
    refused(
      undefined,
      'FULL_OBJECT',
      'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
    );
    refused('CRC32', 'WHOLE', 'Value for x-amz-checksum-type header is invalid.');
  });
});

describe('objectChecksum', () => {
  const b64 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b.toString('base64');
  };
  const data = [randomBytes(5 * 1024 * 1024), randomBytes(777), randomBytes(65_536)];
  const parts: StoredPart[] = data.map((d, i) => ({
    partNumber: i + 1,
    etag: 'e',
    size: d.length,
    checksum: { algorithm: 'CRC32', value: b64(crc32(d)) },
  }));

  it('should give FULL_OBJECT the CRC of all the bytes, combined from the parts', async () => {
    assert.equal(await objectChecksum('CRC32', 'FULL_OBJECT', parts), b64(crc32(Buffer.concat(data))));
  });

  it('should give COMPOSITE the CRC of the part CRCs, with -N', async () => {
    const joined = Buffer.concat(parts.map((p) => Buffer.from(p.checksum!.value, 'base64')));
    assert.equal(await objectChecksum('CRC32', 'COMPOSITE', parts), `${b64(crc32(joined))}-3`);
  });

  it('should give nothing when a part lacks the checksum', async () => {
    assert.equal(
      await objectChecksum('CRC32', 'FULL_OBJECT', [...parts, { partNumber: 4, etag: 'e', size: 1 }]),
      undefined,
    );
    assert.equal(await objectChecksum('CRC32C', 'COMPOSITE', parts), undefined);
  });
});
