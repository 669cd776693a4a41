/**
 * ListObjects (v1), ListObjectsV2 and ListObjectVersions (on unversioned buckets: each object once, VersionId
 * `null`, which is what tools call to empty a bucket).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
 */
import type { Context } from 'koa';
import type { ObjectRecord } from '@coffer/blob-store';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint } from '../operations.ts';

import { quoted } from '../http.ts';
import { encoder, integerParam } from '../params.ts';
import { owner, sendXml } from '../respond.ts';

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

export async function listObjectVersions(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const q = ep.query;
  const enc = encoder(q);
  const keyMarker = q.get('key-marker') ?? '';
  const r = await page(services, ep.bucket, q, keyMarker);
  sendXml(ctx, 'ListVersionsResult', {
    Name: ep.bucket,
    Prefix: enc(r.prefix ?? ''),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: q.get('version-id-marker') ?? '',
    MaxKeys: r.limit,
    Delimiter: r.delimiter === undefined ? undefined : enc(r.delimiter),
    IsTruncated: r.isTruncated,
    NextKeyMarker: r.isTruncated && r.nextMarker !== undefined ? enc(r.nextMarker) : undefined,
    NextVersionIdMarker: r.isTruncated ? 'null' : undefined,
    EncodingType: q.has('encoding-type') ? 'url' : undefined,
    Version: r.objects.map((o) => {
      const c = contents(o, enc, owner(services, o.owner));
      return {
        Key: c.Key,
        VersionId: 'null',
        IsLatest: true,
        LastModified: c.LastModified,
        ETag: c.ETag,
        Size: c.Size,
        Owner: c.Owner,
        StorageClass: c.StorageClass,
      };
    }),
    CommonPrefixes: r.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}
