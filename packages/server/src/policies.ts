/**
 * Bucket policies and user policies at the decision point: the policy request context of an HTTP request (who,
 * which action on which resource ARN, and the condition keys S3 defines), the bucket's stored policy parsed once,
 * and the evaluator that fills authz.ts's policy slot. The rules that are S3's and not the policy language's live
 * here: a user's own policies limit it everywhere (even on its own buckets), another user's request needs the
 * bucket's side to allow it, RestrictPublicBuckets voids a public policy for other accounts, and the bucket's owner
 * can always read, replace and delete its bucket's policy (as an account's root can on AWS, so a policy cannot lock
 * its owner out).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html
 */
import type { Context } from 'koa';
import type { BucketRecord } from '@coffer/blob-store';
import {
  type ContextValue,
  evaluate,
  isPublicPolicy,
  type Policy,
  parsePolicy,
  type RequestPrincipal,
  S3_ACTIONS,
} from '@coffer/policy';
import type { AuthzRequest, PolicyEffect, PolicyEvaluator, Principal } from './authz.ts';
import type { AppState, Services } from './context.ts';
import { header } from './http.ts';
import { taggingHeader } from './tags.ts';
import { accountOf, arnOf } from './users.ts';

/** The bucket-policy actions the bucket's owner is never denied (AWS: the account's root user). */
const OWNER_POLICY_ACTIONS = new Set(['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy']);

/** Parsed bucket policies by bucket and text: parsing a 20 KB document on every request would cost more. */
const parsed = new Map<string, Policy>();
const PARSED_MAX = 512;

/**
 * A bucket's policy, parsed; undefined when it has none. A stored policy that no longer parses (it was checked when
 * put) denies every action to everyone: a policy fails closed.
 */
export function bucketPolicyOf(bucket: Pick<BucketRecord, 'name' | 'policy'>): Policy | undefined {
  if (bucket.policy === undefined) return undefined;
  const id = `${bucket.name}\n${bucket.policy}`;
  let policy = parsed.get(id);
  if (policy === undefined) {
    policy = parseStored(bucket.name, bucket.policy);
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
    parsed.set(id, policy);
  }
  return policy;
}

function parseStored(bucket: string, text: string): Policy {
  try {
    return parsePolicy(text, 'bucket', { bucket });
  } catch {
    const denyAll = {
      Statement: {
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
    };
    return parsePolicy(JSON.stringify(denyAll), 'bucket', { bucket });
  }
}

/** GetBucketPolicyStatus and Block Public Access: true when the bucket's policy is public. */
export function hasPublicPolicy(bucket: Pick<BucketRecord, 'name' | 'policy'>): boolean {
  const policy = bucketPolicyOf(bucket);
  return policy !== undefined && isPublicPolicy(policy);
}

/** A principal as a policy sees it. */
function policyPrincipal(principal: Principal): RequestPrincipal {
  if (principal.type === 'anonymous') return principal;
  const { user } = principal;
  return {
    type: 'user',
    arn: arnOf(user),
    account: accountOf(user.id),
    canonicalId: user.id,
    userName: user.name,
    userId: user.id,
  };
}

/** The resource ARN of an action: the object's, the bucket's, or `*` for the account's (ListAllMyBuckets). */
function resourceOf(action: string, bucket: string | undefined, key: string | undefined): string {
  const kind = S3_ACTIONS.get(action);
  if (bucket === undefined || kind === 'account') return '*';
  if (kind === 'object' && key !== undefined) return `arn:aws:s3:::${bucket}/${key}`;
  return `arn:aws:s3:::${bucket}`;
}

/** The client's address: the peer's, or behind a trusted proxy the address it appended to X-Forwarded-For. */
function sourceIp(ctx: Context, services: Services): string {
  const forwarded = services.security.trustProxy ? header(ctx.req.headers, 'x-forwarded-for') : undefined;
  const ip = forwarded?.split(',').at(-1)?.trim() || ctx.req.socket.remoteAddress || '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** True over TLS, or behind a trusted proxy that says it was HTTPS. */
function secureTransport(ctx: Context, services: Services): boolean {
  if ((ctx.req.socket as { encrypted?: boolean }).encrypted) return true;
  return services.security.trustProxy && header(ctx.req.headers, 'x-forwarded-proto')?.toLowerCase() === 'https';
}

/** The request's condition keys, by the names S3 defines (a key the request does not have is left out). */
function conditionKeys(ctx: Context, services: Services, req: AuthzRequest): Record<string, ContextValue> {
  const state = ctx.state as AppState;
  // A POST upload's form fields stand for a PUT's headers.
  const params = state.form ? Object.fromEntries(state.form) : ctx.req.headers;
  const keys: Record<string, ContextValue> = {
    'aws:SecureTransport': secureTransport(ctx, services),
    'aws:SourceIp': sourceIp(ctx, services),
  };
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) keys[name] = value;
  };
  set('s3:x-amz-server-side-encryption', header(params, 'x-amz-server-side-encryption'));
  set(
    's3:x-amz-server-side-encryption-customer-algorithm',
    header(params, 'x-amz-server-side-encryption-customer-algorithm'),
  );
  set('s3:x-amz-acl', state.form ? state.form.get('acl') : header(params, 'x-amz-acl'));
  const query = state.endpoint?.query;
  for (const name of ['prefix', 'delimiter', 'max-keys']) set(`s3:${name}`, query?.get(name));
  set('s3:VersionId', query?.get('versionId'));
  if (req.principal.type === 'user') {
    // A POST form is signed by its fields (SigV4 names its algorithm; SigV2 does not), any other request by its
    // Authorization header or query string.
    if (state.form) {
      keys['s3:signatureversion'] = state.form.has('x-amz-algorithm') ? 'AWS4-HMAC-SHA256' : 'AWS';
      keys['s3:authType'] = 'POST';
    } else if (state.auth !== undefined) {
      keys['s3:signatureversion'] = state.auth.signatureVersion;
      keys['s3:authType'] = state.auth.via === 'query' ? 'REST-QUERY-STRING' : 'REST-HEADER';
    }
  }
  for (const [tag, value] of Object.entries(req.object?.tags ?? {})) keys[`s3:ExistingObjectTag/${tag}`] = value;
  const requested = requestTags(params);
  if (requested !== undefined) {
    for (const [tag, value] of Object.entries(requested)) keys[`s3:RequestObjectTag/${tag}`] = value;
    keys['s3:RequestObjectTagKeys'] = Object.keys(requested);
  }
  return keys;
}

/** The tags a write asks for (`x-amz-tagging`); a malformed header is the handler's to refuse, not a tag here. */
function requestTags(params: Record<string, string | string[] | undefined>): Record<string, string> | undefined {
  try {
    return taggingHeader(params);
  } catch {
    return undefined;
  }
}

/**
 * The policy slot of one request ({@link AuthzRequest.policy}): the bucket's policy and the caller's user policy
 * decide it as S3 does. `key` is the object a write names when the decision point has no record of it (PutObject,
 * a POST upload's form key). The answer, for authz.ts: `deny` for an explicit Deny, or for a user whose policy does
 * not allow the request; `allow` when the bucket's policy allows it; otherwise `implicit-deny` (the owner and ACLs
 * decide).
 */
export function requestPolicy(ctx: Context, services: Services, key?: string): PolicyEvaluator {
  return (req) => decide(ctx, services, req, key);
}

function decide(ctx: Context, services: Services, req: AuthzRequest, key: string | undefined): PolicyEffect {
  const { principal, action, bucket } = req;
  if (action === undefined) return 'implicit-deny';
  const user = principal.type === 'user' ? principal.user : undefined;
  const isOwner = user !== undefined && bucket !== undefined && user.id === bucket.owner;
  const bucketPolicy =
    bucket === undefined || (isOwner && OWNER_POLICY_ACTIONS.has(action)) ? undefined : bucketPolicyOf(bucket);
  const userPolicies = user?.policy === undefined ? [] : [user.policy];
  if (bucketPolicy === undefined && userPolicies.length === 0) return 'implicit-deny';
  const endpoint = (ctx.state as AppState).endpoint;
  const bucketName = bucket?.name ?? (endpoint && 'bucket' in endpoint ? endpoint.bucket : undefined);
  const objectKey = req.object?.key ?? key ?? (endpoint && 'key' in endpoint ? endpoint.key : undefined);
  const result = evaluate(
    {
      principal: policyPrincipal(principal),
      action,
      resource: resourceOf(action, bucketName, objectKey),
      keys: conditionKeys(ctx, services, req),
    },
    { bucketPolicy, userPolicies },
  );
  if (result.decision === 'deny') return 'deny';
  // A user's own policies bound it on every bucket, its own included (a write-only backup key).
  if (userPolicies.length > 0 && result.userPolicies !== 'allow') return 'deny';
  if (result.bucketPolicy !== 'allow') return 'implicit-deny';
  // RestrictPublicBuckets: a public policy lets in only the bucket owner's account (each user is its own account).
  if (bucket?.publicAccessBlock?.restrictPublicBuckets && isPublicPolicy(bucketPolicy!) && !isOwner)
    return 'implicit-deny';
  return 'allow';
}
