/**
 * ACLs as a bucket with S3 Object Ownership "bucket owner enforced" has them (the S3 default since April 2023):
 * ACLs are disabled, the owner has FULL_CONTROL of the bucket and every object in it, GetBucketAcl and
 * GetObjectAcl say so, and the only ACLs a request may set are the ones that change nothing (`private`, and
 * `bucket-owner-full-control` for objects). Anything else is refused as S3 refuses it.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
 */
import type { Context } from 'koa';
import { ATTRS, parseXml } from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, ObjectEndpoint } from '../operations.ts';
import { ownedBucket, refuseAcl, xmlBody } from '../access.ts';
import { header } from '../http.ts';
import { loadRequested } from '../object-access.ts';
import { owner, sendEmpty, sendXml } from '../respond.ts';

/** The one grant there is: the owner's FULL_CONTROL. */
function policy(services: Services, ownerId: string) {
  const who = owner(services, ownerId);
  return {
    Owner: who,
    AccessControlList: {
      Grant: {
        Grantee: {
          [ATTRS]: { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xsi:type': 'CanonicalUser' },
          ...who,
        },
        Permission: 'FULL_CONTROL',
      },
    },
  };
}

/**
 * PutBucketAcl / PutObjectAcl: a canned ACL header, or an AccessControlPolicy body; taken only when it grants the
 * owner FULL_CONTROL and nothing else (so it changes nothing).
 */
async function putAcl(ctx: Context, ownerId: string, target: 'bucket' | 'object'): Promise<void> {
  refuseAcl(ctx.req.headers, target);
  if (header(ctx.req.headers, 'x-amz-acl') !== undefined) return;
  const root = await parseXml(xmlBody(ctx)).catch(() => undefined);
  if (root?.name !== 'AccessControlPolicy') throw new S3Error('MalformedACLError');
  const grants =
    root.children.find((c) => c.name === 'AccessControlList')?.children.filter((c) => c.name === 'Grant') ?? [];
  const text = (el: { children: { name: string; text: string }[] } | undefined, name: string) =>
    el?.children.find((c) => c.name === name)?.text.trim();
  for (const g of grants) {
    const grantee = g.children.find((c) => c.name === 'Grantee');
    if (text(grantee, 'ID') !== ownerId || text(g, 'Permission') !== 'FULL_CONTROL')
      throw new S3Error('AccessControlListNotSupported');
  }
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html */
export async function getBucketAcl(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = await ownedBucket(ctx, services, ep.bucket);
  sendXml(ctx, 'AccessControlPolicy', policy(services, bucket.owner));
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html */
export async function putBucketAcl(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = await ownedBucket(ctx, services, ep.bucket);
  await putAcl(ctx, bucket.owner, 'bucket');
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html */
export async function getObjectAcl(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const { bucket } = await loadRequested(ctx, services, ep);
  sendXml(ctx, 'AccessControlPolicy', policy(services, bucket.owner));
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html */
export async function putObjectAcl(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const { bucket } = await loadRequested(ctx, services, ep);
  await putAcl(ctx, bucket.owner, 'object');
  sendEmpty(ctx);
}
