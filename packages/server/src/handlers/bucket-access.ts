/**
 * A bucket's access settings besides its ACL: Object Ownership (Get/Put/DeleteBucketOwnershipControls), Block
 * Public Access (Get/Put/DeletePublicAccessBlock) and GetBucketPolicyStatus.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
 */
import type { Context } from 'koa';
import type { PublicAccessBlock } from '@coffer/blob-store';
import { type XmlElement, parseXml } from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint } from '../operations.ts';
import { requestBucket, xmlBody } from '../access.ts';
import { isPublicAcl, parseOwnership } from '../acl.ts';
import { hasPublicPolicy } from '../policies.ts';
import { sendEmpty, sendXml } from '../respond.ts';

/** Block Public Access settings in the order and with the element names of PublicAccessBlockConfiguration. */
const PAB_ELEMENTS = [
  ['BlockPublicAcls', 'blockPublicAcls'],
  ['IgnorePublicAcls', 'ignorePublicAcls'],
  ['BlockPublicPolicy', 'blockPublicPolicy'],
  ['RestrictPublicBuckets', 'restrictPublicBuckets'],
] as const;

/** The request's XML document, which must have this root; `MalformedXML` otherwise. */
async function document(ctx: Context, root: string): Promise<XmlElement> {
  const doc = await parseXml(xmlBody(ctx)).catch(() => undefined);
  if (doc?.name !== root) throw new S3Error('MalformedXML');
  return doc;
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketOwnershipControls.html */
export async function getBucketOwnershipControls(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const { ownership = 'BucketOwnerEnforced' } = requestBucket(ctx);
  if (ownership === 'none') throw new S3Error('OwnershipControlsNotFoundError', { extra: { BucketName: ep.bucket } });
  sendXml(ctx, 'OwnershipControls', { Rule: { ObjectOwnership: ownership } });
}

/**
 * Switching to BucketOwnerEnforced needs a bucket ACL that grants the owner alone (S3's
 * InvalidBucketAclWithObjectOwnership); objects' ACLs are then ignored, not removed.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html
 */
export async function putBucketOwnershipControls(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const rules = (await document(ctx, 'OwnershipControls')).children;
  if (rules.length !== 1 || rules[0]!.name !== 'Rule') throw new S3Error('MalformedXML');
  const ownership = parseOwnership(rules[0]!.children.find((c) => c.name === 'ObjectOwnership')?.text.trim(), 'xml');
  if (ownership === 'BucketOwnerEnforced' && bucket.acl !== undefined)
    throw new S3Error('InvalidBucketAclWithObjectOwnership');
  await services.store.updateBucket(ep.bucket, { ownership });
  sendEmpty(ctx);
}

/** S3 then acts as ObjectWriter. @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketOwnershipControls.html */
export async function deleteBucketOwnershipControls(
  ctx: Context,
  ep: BucketEndpoint,
  services: Services,
): Promise<void> {
  await services.store.updateBucket(ep.bucket, { ownership: 'none' });
  sendEmpty(ctx, 204);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetPublicAccessBlock.html */
export async function getPublicAccessBlock(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const pab = requestBucket(ctx).publicAccessBlock;
  if (!pab) throw new S3Error('NoSuchPublicAccessBlockConfiguration', { extra: { BucketName: ep.bucket } });
  sendXml(ctx, 'PublicAccessBlockConfiguration', Object.fromEntries(PAB_ELEMENTS.map(([el, f]) => [el, pab[f]])));
}

/**
 * Each setting is `true` or `false`; an absent one is false, as in S3.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html
 */
export async function putPublicAccessBlock(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const doc = await document(ctx, 'PublicAccessBlockConfiguration');
  const pab = {} as PublicAccessBlock;
  for (const [el, field] of PAB_ELEMENTS) {
    const found = doc.children.filter((c) => c.name === el);
    const text = found[0]?.text.trim().toLowerCase();
    if (found.length > 1 || (text !== undefined && text !== 'true' && text !== 'false'))
      throw new S3Error('MalformedXML');
    pab[field] = text === 'true';
  }
  if (doc.children.some((c) => !PAB_ELEMENTS.some(([el]) => el === c.name))) throw new S3Error('MalformedXML');
  await services.store.updateBucket(ep.bucket, { publicAccessBlock: pab });
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeletePublicAccessBlock.html */
export async function deletePublicAccessBlock(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  await services.store.updateBucket(ep.bucket, { publicAccessBlock: undefined });
  sendEmpty(ctx, 204);
}

/**
 * IsPublic: whether the bucket's policy is public (policies.ts), or its ACL grants anything to everyone or to every
 * signed user and Block Public Access does not void it.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicyStatus.html
 */
export async function getBucketPolicyStatus(ctx: Context): Promise<void> {
  const bucket = requestBucket(ctx);
  sendXml(ctx, 'PolicyStatus', { IsPublic: hasPublicPolicy(bucket) || isPublicAcl(bucket, bucket.acl) });
}
