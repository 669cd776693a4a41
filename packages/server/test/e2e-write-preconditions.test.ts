/**
 * Write preconditions against the real server: `If-None-Match: *` and `If-Match` on PutObject and on
 * CompleteMultipartUpload, which read them with the one writePreconditions() and the one ETag rule (unquoteEtag).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { assertS3Error, objectPath, signedSend } from './helpers/http.ts';
import { bodyBytes, md5hex, rejectsS3 } from './helpers/assert.ts';

const B = 'write-conditions';

/** The conditional headers of a write, as the JS SDK names them. */
type Conditions = { IfMatch?: string; IfNoneMatch?: string };

describe('write preconditions', () => {
  const t = serverForSuite([B]);
  const put = (Key: string, body: string, cond: Conditions = {}) =>
    t.sdk.send(new PutObjectCommand({ Bucket: B, Key, Body: body, ...cond }));
  const content = async (Key: string) =>
    (await bodyBytes((await t.sdk.send(new GetObjectCommand({ Bucket: B, Key }))).Body)).toString();

  /** An upload of `key` with one part holding `body`, and the Complete request's part list. */
  async function upload(key: string, body: string) {
    const { UploadId } = await t.sdk.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
    const part = await t.sdk.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: 1, Body: body }));
    const MultipartUpload = { Parts: [{ PartNumber: 1, ETag: part.ETag }] };
    const complete = (cond: Conditions = {}) =>
      t.sdk.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: key, UploadId, MultipartUpload, ...cond }));
    return { uploadId: UploadId!, complete };
  }

  describe('PutObject', () => {
    it('should write when If-Match holds, the ETag quoted or bare, and 412 PreconditionFailed otherwise', async () => {
      const first = await put('pm', 'one');
      assert.equal(first.ETag, `"${md5hex(Buffer.from('one'))}"`);
      const second = await put('pm', 'two', { IfMatch: first.ETag });
      assert.equal(await content('pm'), 'two');
      await put('pm', 'three', { IfMatch: second.ETag!.slice(1, -1) });
      assert.equal(await content('pm'), 'three');
      const stale = await signedSend(t.server, {
        method: 'PUT',
        path: objectPath(B, 'pm'),
        headers: { 'if-match': second.ETag! },
        body: Buffer.from('four'),
      });
      assert.equal(assertS3Error(stale, 412, 'PreconditionFailed')['Condition'], 'If-Match');
      assert.equal(await content('pm'), 'three');
    });

    it('should refuse an If-Match ETag with an unbalanced quote with 412; If-Match * needs an object', async () => {
      const { ETag } = await put('pq', 'kept');
      await rejectsS3(put('pq', 'lost', { IfMatch: ETag!.slice(0, -1) }), 412, 'PreconditionFailed');
      await rejectsS3(put('pq', 'lost', { IfMatch: ETag!.slice(1) }), 412, 'PreconditionFailed');
      assert.equal(await content('pq'), 'kept');
      await put('pq', 'any', { IfMatch: '*' });
      assert.equal(await content('pq'), 'any');
      await rejectsS3(put('pq-missing', 'x', { IfMatch: '*' }), 404, 'NoSuchKey');
      await rejectsS3(t.sdk.send(new GetObjectCommand({ Bucket: B, Key: 'pq-missing' })), 404, 'NoSuchKey');
    });

    it('should answer 501 NotImplemented to an If-None-Match other than *, and store nothing', async () => {
      const r = await signedSend(t.server, {
        method: 'PUT',
        path: objectPath(B, 'pn'),
        headers: { 'if-none-match': '"0123456789abcdef0123456789abcdef"' },
        body: Buffer.from('x'),
      });
      assert.equal(assertS3Error(r, 501, 'NotImplemented')['Header'], 'If-None-Match');
      await rejectsS3(t.sdk.send(new GetObjectCommand({ Bucket: B, Key: 'pn' })), 404, 'NoSuchKey');
    });
  });

  describe('CompleteMultipartUpload', () => {
    it('should refuse If-None-Match * on an existing key with 412, keep the upload, complete without it', async () => {
      await put('cn', 'old');
      const up = await upload('cn', 'new');
      await rejectsS3(up.complete({ IfNoneMatch: '*' }), 412, 'PreconditionFailed');
      assert.equal(await content('cn'), 'old');
      const parts = await t.sdk.send(new ListPartsCommand({ Bucket: B, Key: 'cn', UploadId: up.uploadId }));
      assert.equal(parts.Parts?.length, 1);
      await up.complete();
      assert.equal(await content('cn'), 'new');
    });

    it('should complete with If-None-Match * on a new key', async () => {
      const r = await (await upload('cn-new', 'fresh')).complete({ IfNoneMatch: '*' });
      assert.equal(r.$metadata.httpStatusCode, 200);
      assert.equal(await content('cn-new'), 'fresh');
    });

    it('should complete when If-Match holds; 412 for another or unbalanced ETag, 404 without object', async () => {
      const { ETag } = await put('cm', 'old');
      const up = await upload('cm', 'new');
      await rejectsS3(up.complete({ IfMatch: '"0123456789abcdef0123456789abcdef"' }), 412, 'PreconditionFailed');
      await rejectsS3(up.complete({ IfMatch: ETag!.slice(0, -1) }), 412, 'PreconditionFailed');
      assert.equal(await content('cm'), 'old');
      await up.complete({ IfMatch: ETag!.slice(1, -1) });
      assert.equal(await content('cm'), 'new');
      await rejectsS3((await upload('cm-missing', 'x')).complete({ IfMatch: ETag }), 404, 'NoSuchKey');
    });

    it('should answer 501 NotImplemented to an If-None-Match other than *, and keep the upload', async () => {
      const up = await upload('cx', 'body');
      await rejectsS3(up.complete({ IfNoneMatch: '"0123456789abcdef0123456789abcdef"' }), 501, 'NotImplemented');
      await up.complete();
      assert.equal(await content('cx'), 'body');
    });
  });
});
