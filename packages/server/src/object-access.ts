/**
 * Loading an object the caller may read: the bucket's ownership first, then the object's latest version or the
 * version a request names (`versionId`), with S3's answers for a missing key or version and for a delete marker.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html
 */
import type { Context } from 'koa';
import { versionIdOf, type BucketRecord, type DeleteMarkerRecord, type ObjectRecord } from '@coffer/blob-store';
import { S3Error } from './errors.ts';
import type { Services } from './context.ts';
import type { ObjectEndpoint } from './operations.ts';
import { ownedBucket } from './access.ts';
import { checkVersionId } from './versions.ts';

/** The headers S3 sends with an answer about a delete marker. */
function markerHeaders(marker: DeleteMarkerRecord): Record<string, string> {
  return {
    'x-amz-delete-marker': 'true',
    'x-amz-version-id': versionIdOf(marker),
    'Last-Modified': new Date(marker.lastModified).toUTCString(),
  };
}

/**
 * Loads an object the caller may read, with its bucket's record: the latest version, or the version `opts.versionId`
 * names (checked: `InvalidArgument` if malformed). `NoSuchKey` (with the marker's headers when the latest version
 * is a delete marker), `NoSuchVersion`, or `MethodNotAllowed` for a delete marker named by its id, as S3 answers.
 * Sets `x-amz-version-id` on the response when the bucket has versioning or a version was named. A copy source
 * (`copySource`) sets `x-amz-copy-source-version-id` instead, and a delete marker named as one is `InvalidRequest`.
 */
export async function loadObjectIn(
  ctx: Context,
  services: Services,
  bucket: string,
  key: string,
  opts: { versionId?: string; copySource?: boolean } = {},
): Promise<{ bucket: BucketRecord; rec: ObjectRecord }> {
  const versionHeader = opts.copySource ? 'x-amz-copy-source-version-id' : 'x-amz-version-id';
  const owned = await ownedBucket(ctx, services, bucket);
  const wanted = checkVersionId(opts.versionId);
  if (wanted === undefined) {
    const rec = await services.store.getObject(bucket, key);
    if (rec) {
      if (owned.versioning) ctx.set(versionHeader, versionIdOf(rec));
      return { bucket: owned, rec };
    }
    const latest = owned.versioning ? await services.store.latestVersion(bucket, key) : undefined;
    throw new S3Error('NoSuchKey', {
      extra: { Key: key },
      headers: latest?.deleteMarker ? markerHeaders(latest) : {},
    });
  }
  const rec = await services.store.getVersion(bucket, key, wanted);
  if (!rec) throw new S3Error('NoSuchVersion', { extra: { Key: key, VersionId: wanted } });
  if (rec.deleteMarker && opts.copySource) {
    throw new S3Error('InvalidRequest', {
      message: 'The source of a copy request may not specifically refer to a delete marker by version id.',
    });
  }
  if (rec.deleteMarker) {
    throw new S3Error('MethodNotAllowed', {
      extra: { Method: ctx.method, ResourceType: 'DeleteMarker' },
      headers: { ...markerHeaders(rec), Allow: 'DELETE' },
    });
  }
  ctx.set(versionHeader, versionIdOf(rec));
  return { bucket: owned, rec };
}

/** {@link loadObjectIn} for what an object request names: its key, and the version its `versionId` names. */
export function loadRequested(
  ctx: Context,
  services: Services,
  ep: ObjectEndpoint,
): Promise<{ bucket: BucketRecord; rec: ObjectRecord }> {
  return loadObjectIn(ctx, services, ep.bucket, ep.key, { versionId: ep.query.get('versionId') });
}

/** {@link loadObjectIn} without the bucket record. */
export async function loadObject(...args: Parameters<typeof loadObjectIn>): Promise<ObjectRecord> {
  return (await loadObjectIn(...args)).rec;
}
