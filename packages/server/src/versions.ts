/**
 * Version ids in requests and answers: the `versionId` a request names, and `x-amz-version-id` on a write's answer.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/versioning-workflows.html
 */
import type { Context } from 'koa';
import { isVersionId, versionIdOf, type BucketRecord, type VersionRecord } from '@coffer/blob-store';
import { S3Error } from './errors.ts';

/**
 * A `versionId` of a request, or undefined when absent. One that is not a version id (`null` or one Coffer made)
 * is refused as S3 refuses it, with `InvalidArgument`, before anything is looked up.
 */
export function checkVersionId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!isVersionId(raw)) {
    throw new S3Error('InvalidArgument', {
      message: 'Invalid version id specified',
      extra: { ArgumentName: 'versionId', ArgumentValue: raw },
    });
  }
  return raw;
}

/** `x-amz-version-id` of a version a write made, when the bucket has versioning (S3 sends none otherwise). */
export function setWrittenVersion(ctx: Context, bucket: BucketRecord, rec: Pick<VersionRecord, 'versionId'>): void {
  if (bucket.versioning || rec.versionId !== undefined) ctx.set('x-amz-version-id', versionIdOf(rec));
}
