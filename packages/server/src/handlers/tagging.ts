/**
 * Object and bucket tags: Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging (the tag rules are
 * `../tags.ts`).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
 */
import type { Context } from 'koa';
import { versionIdOf } from '@coffer/blob-store';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, ObjectEndpoint } from '../operations.ts';
import { requestBucket, requestObject, xmlBody } from '../access.ts';
import { sendEmpty, sendXml } from '../respond.ts';
import { readTagging } from '../tags.ts';

function sendTagSet(ctx: Context, tags: Record<string, string>): void {
  sendXml(ctx, 'Tagging', { TagSet: { Tag: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html */
export async function getObjectTagging(ctx: Context): Promise<void> {
  const rec = requestObject(ctx);
  sendTagSet(ctx, rec.tags ?? {});
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html */
export async function putObjectTagging(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const rec = requestObject(ctx);
  const tags = await readTagging(xmlBody(ctx), 'Object');
  await services.store.setObjectTags(ep.bucket, ep.key, Object.keys(tags).length > 0 ? tags : undefined, {
    versionId: versionIdOf(rec),
  });
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjectTagging.html */
export async function deleteObjectTagging(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const rec = requestObject(ctx);
  await services.store.setObjectTags(ep.bucket, ep.key, undefined, { versionId: versionIdOf(rec) });
  sendEmpty(ctx, 204);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html */
export async function getBucketTagging(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const bucket = requestBucket(ctx);
  if (!bucket.tags) throw new S3Error('NoSuchTagSet', { extra: { BucketName: ep.bucket } });
  sendTagSet(ctx, bucket.tags);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html */
export async function putBucketTagging(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const tags = await readTagging(xmlBody(ctx), 'Bucket');
  await services.store.updateBucket(ep.bucket, { tags });
  sendEmpty(ctx, 204);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketTagging.html */
export async function deleteBucketTagging(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  await services.store.updateBucket(ep.bucket, { tags: undefined });
  sendEmpty(ctx, 204);
}
