/** Loading an object the caller may read: the bucket's ownership first, then the object record or `NoSuchKey`. */
import type { Context } from 'koa';
import type { BucketRecord, ObjectRecord } from '@coffer/blob-store';
import { S3Error } from './errors.ts';
import type { Services } from './context.ts';
import { ownedBucket } from './access.ts';

/** Loads an object the caller may read, with its bucket's record, or `NoSuchKey`. */
export async function loadObjectIn(
  ctx: Context,
  services: Services,
  bucket: string,
  key: string,
): Promise<{ bucket: BucketRecord; rec: ObjectRecord }> {
  const owned = await ownedBucket(ctx, services, bucket);
  const rec = await services.store.getObject(bucket, key);
  if (!rec) throw new S3Error('NoSuchKey', { extra: { Key: key } });
  return { bucket: owned, rec };
}

/** Loads an object the caller may read, or `NoSuchKey`. */
export async function loadObject(ctx: Context, services: Services, bucket: string, key: string): Promise<ObjectRecord> {
  return (await loadObjectIn(ctx, services, bucket, key)).rec;
}
