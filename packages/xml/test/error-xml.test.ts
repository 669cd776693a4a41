import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { errorXml, parseXml } from '../src/index.ts';
import { chunks } from './helpers.ts';

describe('errorXml', () => {
  it('should write the AWS error document: no namespace, Code and Message first, extras, RequestId and HostId last', () => {
    assert.equal(
      errorXml({
        code: 'NoSuchKey',
        message: 'The specified key does not exist.',
        extra: { Key: 'photos/a.jpg' },
        requestId: '4442587FB7D0A2F9',
        hostId: 'host-id',
      }),
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>photos/a.jpg</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>host-id</HostId></Error>',
    );
  });

  it('should keep the extras in the given order and put Resource before RequestId', () => {
    assert.equal(
      errorXml({
        code: 'InvalidPart',
        message:
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        extra: { UploadId: 'u1', PartNumber: '2', ETag: '"e"' },
        resource: '/bkt/k',
        requestId: 'R1',
      }),
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part&apos;s entity tag.</Message>' +
        '<UploadId>u1</UploadId><PartNumber>2</PartNumber><ETag>&quot;e&quot;</ETag><Resource>/bkt/k</Resource><RequestId>R1</RequestId></Error>',
    );
  });

  it('should write the minimal document without Resource and HostId', () => {
    assert.equal(
      errorXml({ code: 'AccessDenied', message: 'Access Denied', requestId: 'R' }),
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>R</RequestId></Error>',
    );
  });

  it('should escape values and keep hyphenated extra names such as X-Amz-Expires', () => {
    const xml = errorXml({
      code: 'SignatureDoesNotMatch',
      message: 'm',
      extra: { 'X-Amz-Expires': '60', StringToSign: 'AWS4-HMAC-SHA256\n2026<&>' },
      requestId: 'R',
    });
    assert.match(
      xml,
      /<X-Amz-Expires>60<\/X-Amz-Expires><StringToSign>AWS4-HMAC-SHA256\n2026&lt;&amp;&gt;<\/StringToSign>/,
    );
  });

  it('should drop extras with reserved or invalid names instead of throwing', () => {
    const xml = errorXml({
      code: 'C',
      message: 'M',
      extra: { Code: 'x', RequestId: 'y', 'bad name': 'z', Key: 'k', Missing: undefined as unknown as string },
      requestId: 'R',
    });
    assert.equal(
      xml,
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>C</Code><Message>M</Message><Key>k</Key><RequestId>R</RequestId></Error>',
    );
  });

  it('should parse back with Error as the root and no xmlns', async () => {
    const root = await parseXml(
      chunks(
        errorXml({
          code: 'NoSuchBucket',
          message: 'The specified bucket does not exist',
          extra: { BucketName: 'b' },
          requestId: 'R',
          hostId: 'H',
        }),
      ),
    );
    assert.equal(root?.name, 'Error');
    assert.deepEqual(root?.attributes, {});
    assert.deepEqual(
      root?.children.map((c) => [c.name, c.text]),
      [
        ['Code', 'NoSuchBucket'],
        ['Message', 'The specified bucket does not exist'],
        ['BucketName', 'b'],
        ['RequestId', 'R'],
        ['HostId', 'H'],
      ],
    );
  });
});
