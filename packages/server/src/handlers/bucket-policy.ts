/**
 * Bucket policies: Put/Get/DeleteBucketPolicy. The document is checked by @coffer/policy as S3 checks it
 * (MalformedPolicy with S3's message, PolicyTooLarge) and kept in the bucket record as sent; Block Public Access's
 * BlockPublicPolicy refuses a public one. Who may call them is the decision point's (the owner, or a policy).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html
 */
import type { Context } from 'koa';
import { BUCKET_POLICY_MAX_BYTES, isPublicPolicy, type PrincipalType, parsePolicy } from '@coffer/policy';
import { requestBucket, xmlBody } from '../access.ts';
import type { Services } from '../context.ts';
import { S3Error } from '../errors.ts';
import type { BucketEndpoint } from '../operations.ts';
import { sendEmpty } from '../respond.ts';
import { accountOf, arnOf } from '../users.ts';

/**
 * Bytes of a policy body read at most: S3's limit is 20 KB without the whitespace between tokens, which a
 * pretty-printed document may add several times over; beyond this no document can be within the limit.
 */
const MAX_BODY_BYTES = 32 * BUCKET_POLICY_MAX_BYTES;

/** The request body as text; PolicyTooLarge past {@link MAX_BODY_BYTES}, MalformedPolicy if it is not UTF-8. */
async function policyText(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of xmlBody(ctx)) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new S3Error('PolicyTooLarge');
    chunks.push(chunk);
  }
  try {
    // Decoded once, whole (at most MAX_BODY_BYTES): no character is split at a chunk's edge. A byte-order mark is
    // kept, for the parser to refuse as S3 does (the first byte must be '{').
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new S3Error('MalformedPolicy', { message: 'This policy contains invalid Json' });
  }
}

/** Whether a principal a policy names is one of this server's users, as S3 refuses one that does not exist. */
function principalExists(services: Services): (type: PrincipalType, id: string) => boolean {
  return (type, id) => {
    if (type === 'canonical-user') return services.users.byId(id) !== undefined;
    const users = services.users.list();
    if (type === 'account') return users.some((u) => accountOf(u.id) === id);
    return users.some((u) => arnOf(u) === id);
  };
}

/** 204 on success. @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html */
export async function putBucketPolicy(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const text = await policyText(ctx);
  const policy = parsePolicy(text, 'bucket', { bucket: ep.bucket, principalExists: principalExists(services) });
  // BlockPublicPolicy: S3 refuses a public policy with 403 AccessDenied.
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
  if (bucket.publicAccessBlock?.blockPublicPolicy && isPublicPolicy(policy)) throw new S3Error('AccessDenied');
  await services.store.updateBucket(ep.bucket, { policy: text });
  sendEmpty(ctx, 204);
}

/** The document as it was put. @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html */
export async function getBucketPolicy(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const { policy } = requestBucket(ctx);
  if (policy === undefined) throw new S3Error('NoSuchBucketPolicy', { extra: { BucketName: ep.bucket } });
  ctx.type = 'application/json';
  ctx.body = policy;
}

/** 204, with or without a policy. @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketPolicy.html */
export async function deleteBucketPolicy(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  await services.store.updateBucket(ep.bucket, { policy: undefined });
  sendEmpty(ctx, 204);
}
