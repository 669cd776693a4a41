/**
 * DeleteObject and DeleteObjects. Deleting a missing key is not an error (204 / `<Deleted>`).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { checkContentMd5, parseContentMd5 } from '@coffer/sigv4';
import { parseDelete } from '@coffer/xml';
import { S3Error, toS3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, ObjectEndpoint } from '../operations.ts';
import { xmlBody } from '../access.ts';
import { LIMITS, header } from '../http.ts';
import { sendEmpty, sendXml } from '../respond.ts';

export async function deleteObject(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  await services.store.deleteObject(ep.bucket, ep.key);
  sendEmpty(ctx, 204);
}

/** Hashes what flows through, for the Content-MD5 check of a small XML body. */
async function* md5Tap(source: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

export async function deleteObjects(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const headers = ctx.req.headers;
  const contentMd5 = header(headers, 'content-md5');
  if (contentMd5 === undefined && !Object.keys(headers).some((h) => h.startsWith('x-amz-checksum-'))) {
    throw new S3Error('InvalidRequest', { message: 'Missing required header for this request: Content-MD5' });
  }
  parseContentMd5(contentMd5);
  const hash = createHash('md5');
  const request = await parseDelete(md5Tap(xmlBody(ctx), hash));
  if (contentMd5 !== undefined) checkContentMd5(contentMd5, hash.digest());

  const deleted: { Key: string }[] = [];
  const errors: { Key: string; Code: string; Message: string }[] = [];
  for (const { key } of request.objects) {
    try {
      // AWS's error-code list gives UserKeyMustBeSpecified (400) for a request that names no key; S3 reports it
      // for an empty <Key> of DeleteObjects, per key, as it does every per-key failure.
      if (key === '') throw new S3Error('UserKeyMustBeSpecified');
      if (Buffer.byteLength(key, 'utf8') > LIMITS.maxKeyBytes) throw new S3Error('KeyTooLongError');
      await services.store.deleteObject(ep.bucket, key);
      deleted.push({ Key: key });
    } catch (err) {
      const e = toS3Error(err);
      errors.push({ Key: key, Code: e.code, Message: e.message });
    }
  }
  sendXml(ctx, 'DeleteResult', { Deleted: request.quiet ? [] : deleted, Error: errors });
}
