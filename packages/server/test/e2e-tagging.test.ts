/**
 * Object and bucket tags against the real server, with the JS SDK and the aws CLI: tags set on PUT, multipart and
 * copy, replaced and removed without touching the data, S3's limits, and bucket tag sets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { describeRun } from './helpers/clients.ts';
import { assertS3Error, objectPath, signedSend } from './helpers/http.ts';
import { bodyBytes, rejectsS3 } from './helpers/assert.ts';

const BUCKET = 'tag-bucket';

describe('object and bucket tagging', () => {
  const t = serverForSuite([BUCKET]);
  const tagsOf = async (Key: string) => (await t.sdk.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key }))).TagSet;

  it('should take tags on PUT, show their count on GET, and replace or remove them without touching the object', async () => {
    await t.sdk.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'doc', Body: 'contents', Tagging: 'project=blue%20sky&empty=' }),
    );
    assert.deepEqual(await tagsOf('doc'), [
      { Key: 'project', Value: 'blue sky' },
      { Key: 'empty', Value: '' },
    ]);
    const before = await t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'doc' }));
    assert.equal((await t.sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'doc' }))).TagCount, 2);

    await t.sdk.send(
      new PutObjectTaggingCommand({
        Bucket: BUCKET,
        Key: 'doc',
        Tagging: { TagSet: [{ Key: 'stage', Value: 'final' }] },
      }),
    );
    assert.deepEqual(await tagsOf('doc'), [{ Key: 'stage', Value: 'final' }]);
    const after = await t.sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'doc' }));
    assert.equal(after.ETag, before.ETag);
    assert.equal(after.LastModified?.getTime(), before.LastModified?.getTime());
    assert.equal((await bodyBytes(after.Body)).toString(), 'contents');

    const del = await t.sdk.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: 'doc' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.deepEqual(await tagsOf('doc'), []);
    assert.equal((await t.sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'doc' }))).TagCount, undefined);
    // DELETE ?tagging removed the tags, not the object.
    assert.equal((await t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'doc' }))).ContentLength, 8);
    await rejectsS3(t.sdk.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'missing' })), 404, 'NoSuchKey');
  });

  it('should keep tags through copies (COPY by default, REPLACE on request) and multipart uploads', async () => {
    await t.sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src', Body: 'x', Tagging: 'a=1' }));
    await t.sdk.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copied', CopySource: `${BUCKET}/src` }));
    assert.deepEqual(await tagsOf('copied'), [{ Key: 'a', Value: '1' }]);
    await t.sdk.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'retagged',
        CopySource: `${BUCKET}/src`,
        TaggingDirective: 'REPLACE',
        Tagging: 'b=2',
      }),
    );
    assert.deepEqual(await tagsOf('retagged'), [{ Key: 'b', Value: '2' }]);
    await t.sdk.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'untagged',
        CopySource: `${BUCKET}/src`,
        TaggingDirective: 'REPLACE',
      }),
    );
    assert.deepEqual(await tagsOf('untagged'), []);

    const { UploadId } = await t.sdk.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', Tagging: 'kind=multipart' }),
    );
    const part = await t.sdk.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId, PartNumber: 1, Body: 'only part' }),
    );
    await t.sdk.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    assert.deepEqual(await tagsOf('mp'), [{ Key: 'kind', Value: 'multipart' }]);
  });

  it("should refuse tag sets that break S3's limits with 400 InvalidTag, and store nothing", async () => {
    const put = (TagSet: { Key: string; Value: string }[]) =>
      t.sdk.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: 'src', Tagging: { TagSet } }));
    const invalid = async (p: Promise<unknown>, message: string) =>
      assert.equal((await rejectsS3(p, 400, 'InvalidTag')).message, message);
    await invalid(
      put(Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }))),
      'Object tags cannot be greater than 10',
    );
    await invalid(put([{ Key: 'k'.repeat(129), Value: 'v' }]), 'The TagKey you have provided is too long, max 128');
    await invalid(put([{ Key: 'k', Value: 'v'.repeat(257) }]), 'The TagValue you have provided is too long, max 256');
    await invalid(put([{ Key: 'aws:owner', Value: 'v' }]), 'Your TagKey cannot be prefixed with aws:');
    await invalid(
      put([
        { Key: 'k', Value: '1' },
        { Key: 'k', Value: '2' },
      ]),
      'Cannot provide multiple Tags with the same key',
    );
    await invalid(
      t.sdk.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'too-many',
          Body: 'x',
          Tagging: Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&'),
        }),
      ),
      'Object tags cannot be greater than 10',
    );
    await rejectsS3(t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'too-many' })), 404);
    const dup = await signedSend(t.server, {
      method: 'PUT',
      path: objectPath(BUCKET, 'dup'),
      headers: { 'x-amz-tagging': 'a=1&a=2' },
      body: Buffer.from('x'),
    });
    assertS3Error(dup, 400, 'InvalidArgument');
    assert.deepEqual(await tagsOf('src'), [{ Key: 'a', Value: '1' }]);
  });

  it('should keep a bucket tag set: 404 NoSuchTagSet without one, 204 on put and delete', async () => {
    await rejectsS3(t.sdk.send(new GetBucketTaggingCommand({ Bucket: BUCKET })), 404, 'NoSuchTagSet');
    const put = await t.sdk.send(
      new PutBucketTaggingCommand({
        Bucket: BUCKET,
        Tagging: {
          TagSet: [
            { Key: 'team', Value: 'storage' },
            { Key: 'cost', Value: '42' },
          ],
        },
      }),
    );
    assert.equal(put.$metadata.httpStatusCode, 204);
    assert.deepEqual((await t.sdk.send(new GetBucketTaggingCommand({ Bucket: BUCKET }))).TagSet, [
      { Key: 'team', Value: 'storage' },
      { Key: 'cost', Value: '42' },
    ]);
    assert.equal((await t.sdk.send(new DeleteBucketTaggingCommand({ Bucket: BUCKET }))).$metadata.httpStatusCode, 204);
    await rejectsS3(t.sdk.send(new GetBucketTaggingCommand({ Bucket: BUCKET })), 404, 'NoSuchTagSet');
  });

  it('should tag and read tags with the aws CLI', async () => {
    const put = await t.clients.aws([
      's3api',
      'put-object-tagging',
      '--bucket',
      BUCKET,
      '--key',
      'src',
      '--tagging',
      'TagSet=[{Key=env,Value=test}]',
    ]);
    assert.equal(put.code, 0, describeRun(put));
    const got = await t.clients.aws(['s3api', 'get-object-tagging', '--bucket', BUCKET, '--key', 'src']);
    assert.equal(got.code, 0, describeRun(got));
    assert.deepEqual(JSON.parse(got.stdout).TagSet, [{ Key: 'env', Value: 'test' }]);
  });
});
