/** Bucket names, ownership, ACL headers and the request-body helpers the handlers share. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import type { BucketRecord } from '@coffer/blob-store';
import type { BodyDecoderOptions } from '@coffer/sigv4';
import { S3Error } from './errors.ts';
import type { AppState, Services } from './context.ts';
import type { User } from './users.ts';
import { header, requestBody } from './http.ts';

/**
 * Checks a bucket name against S3's naming rules.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export function isValidBucketName(name: string): boolean {
  return (
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|\.mrap|--x-s3)$/.test(name)
  );
}

/** The authenticated user of the request (auth runs before every handler). */
export function currentUser(ctx: Context): User {
  const user = (ctx.state as AppState).user;
  if (!user) throw new S3Error('AccessDenied');
  return user;
}

/**
 * Loads a bucket the caller owns: `NoSuchBucket` when there is none, `AccessDenied` when another user owns it.
 * A bucket belongs to the user who created it.
 */
export async function ownedBucket(ctx: Context, services: Services, name: string): Promise<BucketRecord> {
  const bucket = await services.store.getBucket(name);
  if (!bucket) throw new S3Error('NoSuchBucket', { extra: { BucketName: name } });
  if (bucket.owner !== currentUser(ctx).id) throw new S3Error('AccessDenied');
  return bucket;
}

/** True when the request carries a body (a length above zero, or chunked framing). */
function hasBody(ctx: Context): boolean {
  const h = ctx.req.headers;
  return (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined;
}

/** The (auth-verified) request body for an XML operation; empty when the client sent none. */
export function xmlBody(ctx: Context, opts: BodyDecoderOptions = {}): AsyncIterable<Buffer> {
  return hasBody(ctx)
    ? requestBody(ctx, opts)
    : (async function* empty() {
        /* no body */
      })();
}

const GRANT_HEADERS = [
  'x-amz-grant-full-control',
  'x-amz-grant-read',
  'x-amz-grant-read-acp',
  'x-amz-grant-write',
  'x-amz-grant-write-acp',
];

/**
 * Refuses ACL headers that would grant anything (`x-amz-acl` other than `private` — or `bucket-owner-full-control`
 * on an object —, any `x-amz-grant-*`): 400 AccessControlListNotSupported on object writes and ACL puts,
 * 400 InvalidBucketAclWithObjectOwnership on CreateBucket.
 */
export function refuseAcl(headers: IncomingHttpHeaders, target: 'bucket' | 'object' | 'create-bucket'): void {
  const acl = header(headers, 'x-amz-acl');
  const harmless =
    acl === undefined || acl === 'private' || (target !== 'create-bucket' && acl === 'bucket-owner-full-control');
  if (harmless && !GRANT_HEADERS.some((h) => headers[h] !== undefined)) return;
  throw new S3Error(
    target === 'create-bucket' ? 'InvalidBucketAclWithObjectOwnership' : 'AccessControlListNotSupported',
  );
}
