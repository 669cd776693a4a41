/**
 * ListObjects (v1), ListObjectsV2 (the latest version of each key that is not a delete marker) and
 * ListObjectVersions (every version and delete marker).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
import type { Context } from 'koa';
import { versionIdOf, type ObjectRecord } from '@coffer/blob-store';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint } from '../operations.ts';

import { quoted } from '../http.ts';
import { encoder, integerParam } from '../params.ts';
import { owner, sendXml } from '../respond.ts';
import { checkVersionId } from '../versions.ts';

const MAX_KEYS = 1000;

/** `max-keys`: above 1000 the page is capped, as S3 does. */
function maxKeys(q: Map<string, string>): number {
  return Math.min(integerParam(q, 'max-keys', MAX_KEYS), MAX_KEYS);
}

function contents(
  rec: ObjectRecord,
  enc: (s: string) => string,
  withOwner: { ID: string; DisplayName: string } | undefined,
) {
  return {
    Key: enc(rec.key),
    LastModified: new Date(rec.lastModified),
    ETag: quoted(rec.etag),
    ChecksumAlgorithm: rec.checksum?.algorithm,
    Size: rec.size,
    Owner: withOwner,
    StorageClass: 'STANDARD',
  };
}

/** Lists one page; the query names come from the operation. */
async function page(services: Services, bucket: string, q: Map<string, string>, after: string | undefined) {
  const limit = maxKeys(q);
  const prefix = q.get('prefix') || undefined;
  const delimiter = q.get('delimiter') || undefined;
  if (limit === 0)
    return { objects: [], commonPrefixes: [], isTruncated: false, nextMarker: undefined, limit, prefix, delimiter };
  const result = await services.store.listObjects(bucket, {
    prefix,
    delimiter,
    after: after || undefined,
    maxKeys: limit,
  });
  return { ...result, limit, prefix, delimiter };
}

export async function listObjects(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const q = ep.query;
  const enc = encoder(q);
  const marker = q.get('marker') ?? '';
  const r = await page(services, ep.bucket, q, marker);
  sendXml(ctx, 'ListBucketResult', {
    Name: ep.bucket,
    Prefix: enc(r.prefix ?? ''),
    Marker: enc(marker),
    MaxKeys: r.limit,
    Delimiter: r.delimiter === undefined ? undefined : enc(r.delimiter),
    IsTruncated: r.isTruncated,
    // S3 sends NextMarker only with a delimiter; without one the client continues from the last key.
    NextMarker:
      r.isTruncated && r.delimiter !== undefined && r.nextMarker !== undefined ? enc(r.nextMarker) : undefined,
    Contents: r.objects.map((o) => contents(o, enc, owner(services, o.owner))),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
    EncodingType: q.has('encoding-type') ? 'url' : undefined,
  });
}

/** Continuation tokens are opaque to clients: the last key or prefix of the previous page, base64url. */
const token = {
  encode: (after: string) => Buffer.from(`1\n${after}`, 'utf8').toString('base64url'),
  decode(raw: string): string {
    const text = Buffer.from(raw, 'base64url').toString('utf8');
    if (!/^[A-Za-z0-9_-]+$/.test(raw) || !text.startsWith('1\n')) {
      throw new S3Error('InvalidArgument', {
        message: 'The continuation token provided is incorrect',
        extra: { ArgumentName: 'continuation-token', ArgumentValue: raw },
      });
    }
    return text.slice(2);
  },
};

export async function listObjectsV2(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const q = ep.query;
  const enc = encoder(q);
  const continuation = q.get('continuation-token');
  const startAfter = q.get('start-after');
  // An empty token lists from the start (and is echoed empty), as S3 does: clients send `continuation-token=` on
  // their first page.
  const fromToken = continuation ? token.decode(continuation) : undefined;
  const after = [fromToken, startAfter]
    .filter((s): s is string => !!s)
    .sort()
    .pop();
  const r = await page(services, ep.bucket, q, after);
  const fetchOwner = q.get('fetch-owner') === 'true';
  sendXml(ctx, 'ListBucketResult', {
    Name: ep.bucket,
    Prefix: enc(r.prefix ?? ''),
    MaxKeys: r.limit,
    KeyCount: r.objects.length + r.commonPrefixes.length,
    Delimiter: r.delimiter === undefined ? undefined : enc(r.delimiter),
    IsTruncated: r.isTruncated,
    ContinuationToken: continuation,
    NextContinuationToken: r.isTruncated && r.nextMarker !== undefined ? token.encode(r.nextMarker) : undefined,
    StartAfter: startAfter === undefined ? undefined : enc(startAfter),
    EncodingType: q.has('encoding-type') ? 'url' : undefined,
    Contents: r.objects.map((o) => contents(o, enc, fetchOwner ? owner(services, o.owner) : undefined)),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

/**
 * Every version and delete marker, by key and then newest first, with key-marker / version-id-marker paging.
 * Versions come before delete markers in the body (each its own list, as SDKs read them).
 */
export async function listObjectVersions(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const q = ep.query;
  const enc = encoder(q);
  const keyMarker = q.get('key-marker') ?? '';
  const versionIdMarker = q.get('version-id-marker') ?? '';
  if (versionIdMarker !== '') {
    // S3 takes a version-id-marker only with a key-marker, and only a version id.
    if (keyMarker === '') {
      throw new S3Error('InvalidArgument', {
        message: 'A version-id marker cannot be specified without a key marker.',
        extra: { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker },
      });
    }
    checkVersionId(versionIdMarker);
  }
  const limit = maxKeys(q);
  const prefix = q.get('prefix') || undefined;
  const delimiter = q.get('delimiter') || undefined;
  const r = await services.store.listObjectVersions(ep.bucket, {
    prefix,
    delimiter,
    keyMarker: keyMarker || undefined,
    versionIdMarker: versionIdMarker || undefined,
    maxKeys: limit,
  });
  const versions = [];
  const markers = [];
  for (const { rec, isLatest } of r.versions) {
    const common = {
      Key: enc(rec.key),
      VersionId: versionIdOf(rec),
      IsLatest: isLatest,
      LastModified: new Date(rec.lastModified),
    };
    if (rec.deleteMarker) {
      markers.push({ ...common, Owner: owner(services, rec.owner) });
    } else {
      const c = contents(rec, enc, owner(services, rec.owner));
      versions.push({ ...common, ETag: c.ETag, Size: c.Size, Owner: c.Owner, StorageClass: c.StorageClass });
    }
  }
  sendXml(ctx, 'ListVersionsResult', {
    Name: ep.bucket,
    Prefix: enc(prefix ?? ''),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: versionIdMarker,
    MaxKeys: limit,
    Delimiter: delimiter === undefined ? undefined : enc(delimiter),
    IsTruncated: r.isTruncated,
    NextKeyMarker: r.nextKeyMarker === undefined ? undefined : enc(r.nextKeyMarker),
    NextVersionIdMarker: r.nextVersionIdMarker,
    EncodingType: q.has('encoding-type') ? 'url' : undefined,
    Version: versions,
    DeleteMarker: markers,
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}
