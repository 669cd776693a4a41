/**
 * Get/PutBucketAcl and Get/PutObjectAcl. With Object Ownership BucketOwnerEnforced (the default) ACLs are disabled:
 * the owner has FULL_CONTROL of the bucket and every object in it, and the only ACLs a request may set are the ones
 * that change nothing. BucketOwnerPreferred and ObjectWriter enable them: canned ACLs, `x-amz-grant-*` headers or
 * an AccessControlPolicy document, checked against Block Public Access (../acl.ts) and enforced by ../authz.ts.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html
 */
import type { Context } from 'koa';
import { versionIdOf, type AclGrant } from '@coffer/blob-store';
import { parseXml } from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, ObjectEndpoint } from '../operations.ts';
import { hasBody, requestBucket, requestObject, xmlBody } from '../access.ts';
import { type AclOwners, aclDocument, admitAcl, documentAcl, headerAcl, storedAcl } from '../acl.ts';
import { objectOwner, ownershipOf } from '../authz.ts';
import { sendEmpty, sendXml } from '../respond.ts';

/** The ACL a PutBucketAcl or PutObjectAcl states: in its headers, or else in its AccessControlPolicy body. */
async function requestedAcl(ctx: Context, services: Services, who: AclOwners): Promise<AclGrant[]> {
  const fromHeaders = headerAcl(ctx.req.headers, who, services);
  if (fromHeaders) {
    if (hasBody(ctx)) throw new S3Error('UnexpectedContent');
    return fromHeaders;
  }
  const root = await parseXml(xmlBody(ctx)).catch(() => undefined);
  return documentAcl(root, services);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html */
export async function getBucketAcl(ctx: Context, _ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const enforced = ownershipOf(bucket) === 'BucketOwnerEnforced';
  sendXml(ctx, 'AccessControlPolicy', aclDocument(services, bucket.owner, enforced ? undefined : bucket.acl));
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html */
export async function putBucketAcl(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const grants = await requestedAcl(ctx, services, { owner: bucket.owner, bucketOwner: bucket.owner });
  admitAcl(bucket, grants);
  if (ownershipOf(bucket) !== 'BucketOwnerEnforced')
    await services.store.updateBucket(ep.bucket, { acl: storedAcl(grants, bucket.owner) });
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html */
export async function getObjectAcl(ctx: Context, _ep: ObjectEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const rec = requestObject(ctx);
  const enforced = ownershipOf(bucket) === 'BucketOwnerEnforced';
  sendXml(ctx, 'AccessControlPolicy', aclDocument(services, objectOwner(bucket, rec), enforced ? undefined : rec.acl));
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html */
export async function putObjectAcl(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const authorized = requestObject(ctx);
  const owner = objectOwner(bucket, authorized);
  const grants = await requestedAcl(ctx, services, { owner, bucketOwner: bucket.owner });
  admitAcl(bucket, grants);
  if (ownershipOf(bucket) !== 'BucketOwnerEnforced') {
    const acl = storedAcl(grants, owner);
    // The version is rewritten in place with its data untouched; only the object that was authorized (an
    // object written since in the same version slot, the null version, was not).
    await services.store.transaction(async (tx) => {
      const rec = await tx.getVersion(ep.bucket, ep.key, versionIdOf(authorized));
      if (!rec || rec.deleteMarker || rec.id !== authorized.id) {
        throw new S3Error('NoSuchKey', { extra: { Key: ep.key } });
      }
      const next = { ...rec };
      if (acl) next.acl = acl;
      else delete next.acl;
      await tx.updateVersion(next);
    });
  }
  sendEmpty(ctx);
}
