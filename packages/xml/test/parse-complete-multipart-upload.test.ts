import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseCompleteMultipartUpload } from '../src/index.ts';
import { chunks, rejectsWith } from './helpers.ts';

// Bodies exactly as the clients sent them (fixtures/client-requests: s3cmd-07, awscli-08/boto3-08, sdkjs-10).
const S3CMD =
  '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>94faadbc68ad16377ef934d78c4dda72</ETag></Part><Part><PartNumber>2</PartNumber><ETag>926ef0bcb0398d4c25f1f6233b730a4a</ETag></Part></CompleteMultipartUpload>';
const BOTO3 =
  '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"cdb6fdd1dbadd8796120fd72d29df8bb"</ETag><PartNumber>1</PartNumber><ChecksumCRC32>JKrcoQ==</ChecksumCRC32></Part><Part><ETag>"21e8d4e38c677ee02441ec613cf5216f"</ETag><PartNumber>2</PartNumber><ChecksumCRC32>oDk+gw==</ChecksumCRC32></Part><Part><ETag>"dc9c60eadf1e80e5cbfd80fa556330c9"</ETag><PartNumber>3</PartNumber><ChecksumCRC32>a9YYUA==</ChecksumCRC32></Part></CompleteMultipartUpload>';
const SDKJS =
  '<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&quot;740e5e5c8f202044712df61c2d625264&quot;</ETag><ChecksumCRC32>pUUQ8w==</ChecksumCRC32><PartNumber>1</PartNumber></Part><Part><ETag>&quot;57826500cf0d71a5a434d336d1fc06ac&quot;</ETag><ChecksumCRC32>WyP3Cw==</ChecksumCRC32><PartNumber>2</PartNumber></Part><Part><ETag>&quot;551d02cbea04f590959aff9c4d4dcddd&quot;</ETag><ChecksumCRC32>oy08ZA==</ChecksumCRC32><PartNumber>3</PartNumber></Part><Part><ETag>&quot;926ef0bcb0398d4c25f1f6233b730a4a&quot;</ETag><ChecksumCRC32>dU8Kuw==</ChecksumCRC32><PartNumber>4</PartNumber></Part></CompleteMultipartUpload>';

const body = (parts: string): string => `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`;

describe('parseCompleteMultipartUpload', () => {
  it('should parse s3cmd (unquoted ETags, no namespace)', async () => {
    assert.deepEqual(await parseCompleteMultipartUpload(chunks(S3CMD)), {
      parts: [
        { partNumber: 1, etag: '94faadbc68ad16377ef934d78c4dda72', checksums: {} },
        { partNumber: 2, etag: '926ef0bcb0398d4c25f1f6233b730a4a', checksums: {} },
      ],
    });
  });

  it('should parse the aws CLI and boto3 (quoted ETags, namespace, CRC32 per part)', async () => {
    assert.deepEqual(await parseCompleteMultipartUpload(chunks(BOTO3)), {
      parts: [
        { partNumber: 1, etag: 'cdb6fdd1dbadd8796120fd72d29df8bb', checksums: { CRC32: 'JKrcoQ==' } },
        { partNumber: 2, etag: '21e8d4e38c677ee02441ec613cf5216f', checksums: { CRC32: 'oDk+gw==' } },
        { partNumber: 3, etag: 'dc9c60eadf1e80e5cbfd80fa556330c9', checksums: { CRC32: 'a9YYUA==' } },
      ],
    });
  });

  it('should parse the JS SDK (declaration, &quot;-quoted ETags, ChecksumCRC32 before PartNumber) byte by byte', async () => {
    const { parts } = await parseCompleteMultipartUpload(chunks(SDKJS, 1));
    assert.deepEqual(
      parts.map((p) => [p.partNumber, p.etag, p.checksums.CRC32]),
      [
        [1, '740e5e5c8f202044712df61c2d625264', 'pUUQ8w=='],
        [2, '57826500cf0d71a5a434d336d1fc06ac', 'WyP3Cw=='],
        [3, '551d02cbea04f590959aff9c4d4dcddd', 'oy08ZA=='],
        [4, '926ef0bcb0398d4c25f1f6233b730a4a', 'dU8Kuw=='],
      ],
    );
  });

  it('should read every checksum element, trim whitespace and tolerate prefixes and pretty printing', async () => {
    const xml = `<s3:CompleteMultipartUpload xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">
  <s3:Part>
    <s3:PartNumber> 7 </s3:PartNumber>
    <s3:ETag> "abc-1" </s3:ETag>
    <s3:ChecksumCRC32C>c</s3:ChecksumCRC32C><s3:ChecksumCRC64NVME>n</s3:ChecksumCRC64NVME>
    <s3:ChecksumSHA1>s1</s3:ChecksumSHA1><s3:ChecksumSHA256>s256</s3:ChecksumSHA256>
  </s3:Part>
</s3:CompleteMultipartUpload>`;
    assert.deepEqual(await parseCompleteMultipartUpload(chunks(xml, 5)), {
      parts: [{ partNumber: 7, etag: 'abc-1', checksums: { CRC32C: 'c', CRC64NVME: 'n', SHA1: 's1', SHA256: 's256' } }],
    });
  });

  it('should keep the order as given and leave range checks to the caller', async () => {
    const xml = body(
      '<Part><PartNumber>3</PartNumber><ETag>c</ETag></Part><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part><Part><PartNumber>0</PartNumber><ETag>z</ETag></Part><Part><PartNumber>10001</PartNumber><ETag>y</ETag></Part>',
    );
    const { parts } = await parseCompleteMultipartUpload(chunks(xml));
    assert.deepEqual(
      parts.map((p) => p.partNumber),
      [3, 1, 0, 10001],
    );
  });

  it('should return no parts for an upload listing none (the caller answers InvalidRequest)', async () => {
    assert.deepEqual(await parseCompleteMultipartUpload(chunks('<CompleteMultipartUpload/>')), { parts: [] });
  });

  it('should reject an empty body with XML_EMPTY', async () => {
    await rejectsWith(parseCompleteMultipartUpload(chunks('')), 'XML_EMPTY');
    await rejectsWith(parseCompleteMultipartUpload(chunks('\n')), 'XML_EMPTY');
  });

  it('should reject a PartNumber that is not an integer with XML_MALFORMED', async () => {
    for (const n of ['abc', '1.5', '', '1e3', '0x10', '99999999999999999999']) {
      await rejectsWith(
        parseCompleteMultipartUpload(chunks(body(`<Part><PartNumber>${n}</PartNumber><ETag>a</ETag></Part>`))),
        'XML_MALFORMED',
        /PartNumber/,
      );
    }
  });

  it('should reject invalid shapes with XML_MALFORMED', async () => {
    const bad = [
      '<CompleteMultipartUploadX><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></CompleteMultipartUploadX>',
      body('<Part><ETag>a</ETag></Part>'),
      body('<Part><PartNumber>1</PartNumber></Part>'),
      body('<Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>a</ETag></Part>'),
      body('<Part><PartNumber>1</PartNumber><ETag><b>a</b></ETag></Part>'),
      body('garbage<Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>'),
      body('<Part><PartNumber>1</PartNumber><ETag>a</ETag>'),
      'not xml at all',
    ];
    for (const xml of bad) await rejectsWith(parseCompleteMultipartUpload(chunks(xml)), 'XML_MALFORMED');
  });

  it('should reject a body over the cap with XML_TOO_LARGE', async () => {
    await rejectsWith(parseCompleteMultipartUpload(chunks(BOTO3), { maxBytes: 100 }), 'XML_TOO_LARGE');
  });
});
