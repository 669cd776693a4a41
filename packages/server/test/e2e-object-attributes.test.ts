/** GetObjectAttributes against the real server with the JS SDK and the aws CLI. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { describeRun } from './helpers/clients.ts';
import { assertS3Error, objectPath, signedSend } from './helpers/http.ts';
import { crc32b64, rejectsS3 } from './helpers/assert.ts';

const BUCKET = 'attr-bucket';
const ALL = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;

describe('GetObjectAttributes', () => {
  const t = serverForSuite([BUCKET]);

  it("should give a single-part object's ETag (unquoted), checksum, storage class and size, and no parts", async () => {
    const body = Buffer.from('attributes of a small object');
    await t.sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'one', Body: body, ChecksumAlgorithm: 'CRC32' }));
    const a = await t.sdk.send(
      new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'one', ObjectAttributes: [...ALL] }),
    );
    assert.equal(a.ETag, createHash('md5').update(body).digest('hex'));
    assert.equal(a.Checksum?.ChecksumCRC32, crc32b64(body));
    assert.equal(a.Checksum?.ChecksumType, 'FULL_OBJECT');
    assert.equal(a.StorageClass, 'STANDARD');
    assert.equal(a.ObjectSize, body.length);
    assert.equal(a.ObjectParts, undefined);
    assert.ok(a.LastModified instanceof Date);
    const only = await t.sdk.send(
      new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'one', ObjectAttributes: ['ObjectSize'] }),
    );
    assert.deepEqual([only.ETag, only.ObjectSize], [undefined, body.length]);
  });

  it("should page a multipart object's parts with MaxParts and PartNumberMarker", async () => {
    const { UploadId } = await t.sdk.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp' }));
    const sizes = [5 * 1024 * 1024, 5 * 1024 * 1024, 1000];
    const parts = [];
    for (const [i, size] of sizes.entries()) {
      const r = await t.sdk.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId, PartNumber: i + 1, Body: randomBytes(size) }),
      );
      parts.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await t.sdk.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', UploadId, MultipartUpload: { Parts: parts } }),
    );
    const first = await t.sdk.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET,
        Key: 'mp',
        ObjectAttributes: ['ObjectParts', 'ETag'],
        MaxParts: 2,
      }),
    );
    assert.match(first.ETag!, /^[0-9a-f]{32}-3$/);
    assert.equal(first.ObjectParts?.TotalPartsCount, 3);
    assert.equal(first.ObjectParts?.IsTruncated, true);
    assert.equal(first.ObjectParts?.NextPartNumberMarker, '2'); // the SDK models the markers as strings
    assert.deepEqual(
      first.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size]),
      [
        [1, sizes[0]],
        [2, sizes[1]],
      ],
    );
    const rest = await t.sdk.send(
      new GetObjectAttributesCommand({
        Bucket: BUCKET,
        Key: 'mp',
        ObjectAttributes: ['ObjectParts'],
        MaxParts: 2,
        PartNumberMarker: '2',
      }),
    );
    assert.equal(rest.ObjectParts?.IsTruncated, false);
    assert.deepEqual(
      rest.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size]),
      [[3, 1000]],
    );
  });

  it("should refuse unknown or missing attribute names, need an SSE-C object's key, and 404 a missing key", async () => {
    const bad = await signedSend(t.server, {
      method: 'GET',
      path: objectPath(BUCKET, 'one'),
      query: { attributes: '' },
      headers: { 'x-amz-object-attributes': 'ETag,Colour' },
    });
    assert.equal(assertS3Error(bad, 400, 'InvalidArgument')['Message'], 'Invalid attribute name specified.');
    assertS3Error(
      await signedSend(t.server, { method: 'GET', path: objectPath(BUCKET, 'one'), query: { attributes: '' } }),
      400,
      'InvalidArgument',
    );
    const key = randomBytes(32);
    const ssec = {
      SSECustomerAlgorithm: 'AES256',
      SSECustomerKey: key.toString('base64'),
      SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
    };
    await t.sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'secret', Body: 'x', ...ssec }));
    await rejectsS3(
      t.sdk.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'secret', ObjectAttributes: ['ObjectSize'] })),
      400,
      'InvalidRequest',
    );
    assert.equal(
      (
        await t.sdk.send(
          new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'secret', ObjectAttributes: ['ObjectSize'], ...ssec }),
        )
      ).ObjectSize,
      1,
    );
    await rejectsS3(
      t.sdk.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'nope', ObjectAttributes: ['ETag'] })),
      404,
      'NoSuchKey',
    );
  });

  it('should answer the aws CLI', async () => {
    const r = await t.clients.aws([
      's3api',
      'get-object-attributes',
      '--bucket',
      BUCKET,
      '--key',
      'one',
      '--object-attributes',
      'ObjectSize',
      'StorageClass',
    ]);
    assert.equal(r.code, 0, describeRun(r));
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      [out.ObjectSize, out.StorageClass],
      [Buffer.byteLength('attributes of a small object'), 'STANDARD'],
    );
  });
});
