/**
 * DeleteObject and DeleteObjects. Deleting a missing key is not an error (204 / `<Deleted>`). On a versioned bucket a
 * delete without a version id adds a delete marker; with one, it removes that version for good.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { versionIdOf, type BucketRecord, type DeleteObjectOptions, type DeleteOutcome } from '@coffer/blob-store';
import { checkContentMd5, parseContentMd5 } from '@coffer/sigv4';
import { parseDelete } from '@coffer/xml';
import { S3Error, toS3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, ObjectEndpoint } from '../operations.ts';
import { governanceBypass, requestBucket, writerOf, xmlBody } from '../access.ts';
import { LIMITS, header } from '../http.ts';
import { sendEmpty, sendXml } from '../respond.ts';
import { checkDeletable } from '../lock-rules.ts';
import { checkVersionId } from '../versions.ts';

export async function deleteObject(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const versionId = checkVersionId(ep.query.get('versionId'));
  const done = await services.store.deleteObject(ep.bucket, ep.key, {
    versionId,
    owner: markerOwner(ctx, bucket),
    ...lockCheck(bucket, governanceBypass(ctx, services)),
  });
  if (versionId !== undefined) ctx.set('x-amz-version-id', versionId);
  else if (done && bucket.versioning) ctx.set('x-amz-version-id', versionIdOf(done));
  if (done?.deleteMarker) ctx.set('x-amz-delete-marker', 'true');
  sendEmpty(ctx, 204);
}

/**
 * The owner of a delete marker a delete adds: its deleter, as S3 records it, or the bucket's owner for an anonymous
 * deleter (as for an anonymous write: nothing is left that nobody owns).
 */
function markerOwner(ctx: Context, bucket: BucketRecord): string {
  return writerOf(ctx) ?? bucket.owner;
}

/**
 * The store's in-commit check that keeps a locked version, in a bucket with Object Lock. A delete that only adds a
 * marker removes nothing, so the store does not call it then.
 */
function lockCheck(bucket: BucketRecord, bypass: boolean): Pick<DeleteObjectOptions, 'check'> {
  return bucket.objectLock ? { check: (rec) => checkDeletable(rec, bypass) } : {};
}

/** One `<Deleted>` entry of DeleteObjects: the version removed, or the delete marker added. */
function deletedEntry(key: string, versionId: string | undefined, done: DeleteOutcome | undefined) {
  if (versionId !== undefined) {
    return done?.deleteMarker
      ? { Key: key, VersionId: versionId, DeleteMarker: true, DeleteMarkerVersionId: versionId }
      : { Key: key, VersionId: versionId };
  }
  return done?.deleteMarker ? { Key: key, DeleteMarker: true, DeleteMarkerVersionId: versionIdOf(done) } : { Key: key };
}

/** Hashes what flows through, for the Content-MD5 check of a small XML body. */
async function* md5Tap(source: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

export async function deleteObjects(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const headers = ctx.req.headers;
  const contentMd5 = header(headers, 'content-md5');
  if (contentMd5 === undefined && !Object.keys(headers).some((h) => h.startsWith('x-amz-checksum-'))) {
    throw new S3Error('InvalidRequest', { message: 'Missing required header for this request: Content-MD5' });
  }
  parseContentMd5(contentMd5);
  const hash = createHash('md5');
  const request = await parseDelete(md5Tap(xmlBody(ctx), hash));
  if (contentMd5 !== undefined) checkContentMd5(contentMd5, hash.digest());

  const deleted: ReturnType<typeof deletedEntry>[] = [];
  const errors: { Key: string; VersionId?: string; Code: string; Message: string }[] = [];
  const owner = markerOwner(ctx, bucket);
  const bypass = governanceBypass(ctx, services);
  for (const { key, versionId: rawVersion } of request.objects) {
    try {
      // AWS's error-code list gives UserKeyMustBeSpecified (400) for a request that names no key; S3 reports it
      // for an empty <Key> of DeleteObjects, per key, as it does every per-key failure.
      if (key === '') throw new S3Error('UserKeyMustBeSpecified');
      if (Buffer.byteLength(key, 'utf8') > LIMITS.maxKeyBytes) throw new S3Error('KeyTooLongError');
      const versionId = checkVersionId(rawVersion);
      const done = await services.store.deleteObject(ep.bucket, key, {
        versionId,
        owner,
        ...lockCheck(bucket, bypass),
      });
      deleted.push(deletedEntry(key, versionId, done));
    } catch (err) {
      const e = toS3Error(err);
      errors.push({ Key: key, VersionId: rawVersion, Code: e.code, Message: e.message });
    }
  }
  sendXml(ctx, 'DeleteResult', { Deleted: request.quiet ? [] : deleted, Error: errors });
}
