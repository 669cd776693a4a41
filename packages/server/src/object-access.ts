/**
 * Finding the object a request names: the latest version of its key, or the version its `versionId` names, with
 * S3's answers for a missing key or version and for a delete marker. The decision point (access.ts) decides
 * whether the caller may see it.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html
 */
import type { Context } from 'koa';
import { versionIdOf, type BucketRecord, type DeleteMarkerRecord, type ObjectRecord } from '@coffer/blob-store';
import { S3Error } from './errors.ts';
import type { Services } from './context.ts';
import { checkVersionId } from './versions.ts';

/** Which object version a request names, and whether as the source of a copy. */
export interface VersionSelector {
  /** The `versionId` the request names (checked: `InvalidArgument` if malformed); absent = the latest version. */
  versionId?: string;
  /** A copy's source: a delete marker named by id is `InvalidRequest`, not 405. */
  copySource?: boolean;
}

/** The headers S3 sends with an answer about a delete marker. */
function markerHeaders(marker: DeleteMarkerRecord): Record<string, string> {
  return {
    'x-amz-delete-marker': 'true',
    'x-amz-version-id': versionIdOf(marker),
    'Last-Modified': new Date(marker.lastModified).toUTCString(),
  };
}

/**
 * Finds the latest version of `key` in `bucket`, or the version `opts.versionId` names. When there is no such
 * object, `beforeMissing` runs first (it may refuse the caller the right to learn that), then the answer is S3's:
 * `NoSuchKey` (with the marker's headers when the latest version is a delete marker), `NoSuchVersion`, or
 * `MethodNotAllowed` for a delete marker named by its id (`InvalidRequest` for a copy source).
 */
export async function findObject(
  ctx: Context,
  services: Services,
  bucket: BucketRecord,
  key: string,
  opts: VersionSelector,
  beforeMissing: () => void,
): Promise<ObjectRecord> {
  const wanted = checkVersionId(opts.versionId);
  if (wanted === undefined) {
    const rec = await services.store.getObject(bucket.name, key);
    if (rec) return rec;
    beforeMissing();
    const latest = bucket.versioning ? await services.store.latestVersion(bucket.name, key) : undefined;
    throw new S3Error('NoSuchKey', {
      extra: { Key: key },
      headers: latest?.deleteMarker ? markerHeaders(latest) : {},
    });
  }
  const rec = await services.store.getVersion(bucket.name, key, wanted);
  if (rec && !rec.deleteMarker) return rec;
  beforeMissing();
  if (!rec) throw new S3Error('NoSuchVersion', { extra: { Key: key, VersionId: wanted } });
  if (opts.copySource) {
    throw new S3Error('InvalidRequest', {
      message: 'The source of a copy request may not specifically refer to a delete marker by version id.',
    });
  }
  throw new S3Error('MethodNotAllowed', {
    extra: { Method: ctx.method, ResourceType: 'DeleteMarker' },
    headers: { ...markerHeaders(rec), Allow: 'DELETE' },
  });
}

/**
 * Sets `x-amz-version-id` (a copy source: `x-amz-copy-source-version-id`) for an object found by
 * {@link findObject}, when its bucket has versioning or a version was named.
 */
export function setFoundVersion(ctx: Context, bucket: BucketRecord, rec: ObjectRecord, opts: VersionSelector): void {
  if (!bucket.versioning && opts.versionId === undefined) return;
  ctx.set(opts.copySource ? 'x-amz-copy-source-version-id' : 'x-amz-version-id', versionIdOf(rec));
}
