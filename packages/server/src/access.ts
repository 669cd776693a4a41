/**
 * Bucket names, the request's principal, the call of the decision point (authz.ts) for each request with the
 * records it needs, and the request-body helpers the handlers share.
 */
import type { Context } from 'koa';
import type { BucketRecord, ObjectRecord } from '@coffer/blob-store';
import type { BodyDecoderOptions } from '@coffer/sigv4';
import { ANONYMOUS, type AuthzRequest, type Principal, authorize, isObjectAction } from './authz.ts';
import { S3Error } from './errors.ts';
import type { AppState, Services } from './context.ts';
import { findObject, setFoundVersion, type VersionSelector } from './object-access.ts';
import { bypassesGovernance } from './object-lock.ts';
import { type Endpoint, type S3Action, actionOf } from './operations.ts';
import { requestPolicy } from './policies.ts';
import type { User } from './users.ts';
import { requestBody } from './http.ts';

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

/** The principal of the request: its verified user, or anonymous (authentication runs before every handler). */
export function principalOf(ctx: Context): Principal {
  const user = (ctx.state as AppState).user;
  return user ? { type: 'user', user } : ANONYMOUS;
}

/** The user of a request that needs one (authorization has refused anonymous callers before the handler runs). */
export function currentUser(ctx: Context): User {
  const user = (ctx.state as AppState).user;
  if (!user) throw new S3Error('AccessDenied');
  return user;
}

/** The canonical id of the writer of new data: the user, or undefined for the anonymous principal. */
export function writerOf(ctx: Context): string | undefined {
  return (ctx.state as AppState).user?.id;
}

/** Answers AccessDenied unless the decision point allows the request; the reason goes to the log only. */
function enforce(ctx: Context, services: Services, req: AuthzRequest): void {
  const decision = authorize(req);
  if (decision.allow) return;
  services.logger.debug({ requestId: (ctx.state as AppState).requestId, reason: decision.reason }, 'access denied');
  throw new S3Error('AccessDenied');
}

/**
 * Loads what an action names and authorizes it: the bucket (`NoSuchBucket`), and for an action on an object the
 * object. A missing object is `NoSuchKey` to a caller who may list the bucket and `AccessDenied` to any other, so
 * that nobody learns which keys exist without that right, as in S3 (and so are a missing version and a delete
 * marker: object-access.ts). The version is the latest or the one `version` names.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Permissions)
 */
export async function authorizedTarget(
  ctx: Context,
  services: Services,
  action: S3Action | undefined,
  bucketName: string,
  key?: string,
  version: VersionSelector = {},
): Promise<{ bucket: BucketRecord; object?: ObjectRecord }> {
  const bucket = await services.store.getBucket(bucketName);
  if (!bucket) throw new S3Error('NoSuchBucket', { extra: { BucketName: bucketName } });
  const req: AuthzRequest = { principal: principalOf(ctx), action, bucket, policy: requestPolicy(ctx, services, key) };
  if (!isObjectAction(action)) {
    enforce(ctx, services, req);
    return { bucket };
  }
  const object = await findObject(ctx, services, bucket, key!, version, () =>
    enforce(ctx, services, { ...req, action: 's3:ListBucket' }),
  );
  enforce(ctx, services, { ...req, object });
  setFoundVersion(ctx, bucket, object, version);
  return { bucket, object };
}

/**
 * The one place a routed request is authorized, before its handler runs (a POST upload's handler calls
 * {@link authorizedTarget} once its form names the caller). The records loaded stay on `ctx.state` for the handler.
 */
export async function authorizeEndpoint(ctx: Context, services: Services, ep: Endpoint): Promise<void> {
  const action = actionOf(ep);
  const state = ctx.state as AppState;
  // Nothing to load: the service, a bucket not created yet, a preflight (the CORS rules decide it).
  if (!('bucket' in ep) || ep.op === 'CreateBucket' || action === undefined) {
    enforce(ctx, services, { principal: principalOf(ctx), action, policy: requestPolicy(ctx, services) });
    return;
  }
  const key = 'key' in ep ? ep.key : undefined;
  const versionId = ep.query.get('versionId');
  const target = await authorizedTarget(ctx, services, action, ep.bucket, key, { versionId });
  state.bucket = target.bucket;
  state.object = target.object;
}

/** The source of a copy (CopyObject, UploadPartCopy), which the caller must be allowed to read (`s3:GetObject`). */
export async function copySourceObject(
  ctx: Context,
  services: Services,
  source: { bucket: string; key: string; versionId?: string },
): Promise<ObjectRecord> {
  const version = { versionId: source.versionId, copySource: true };
  return (await authorizedTarget(ctx, services, 's3:GetObject', source.bucket, source.key, version)).object!;
}

/**
 * True when the request asks to bypass GOVERNANCE retention (`x-amz-bypass-governance-retention: true`) and its
 * caller may (`s3:BypassGovernanceRetention`: the bucket's owner, or a policy; no ACL grants it). A caller who may
 * not is answered as if it had not asked, and the retention it meets refuses it.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html#object-lock-managing-bypass
 */
export function governanceBypass(ctx: Context, services: Services): boolean {
  if (!bypassesGovernance(ctx.req.headers)) return false;
  const bucket = requestBucket(ctx);
  const action = 's3:BypassGovernanceRetention';
  return authorize({ principal: principalOf(ctx), action, bucket, policy: requestPolicy(ctx, services) }).allow;
}

/** The bucket record of the request, loaded and authorized before the handler ran. */
export function requestBucket(ctx: Context): BucketRecord {
  const bucket = (ctx.state as AppState).bucket;
  if (!bucket) throw new TypeError('the request names no authorized bucket');
  return bucket;
}

/** The object record of the request, loaded and authorized before the handler ran (actions on an object). */
export function requestObject(ctx: Context): ObjectRecord {
  const object = (ctx.state as AppState).object;
  if (!object) throw new TypeError('the request names no authorized object');
  return object;
}

/** True when the request carries a body (a length above zero, or chunked framing). */
export function hasBody(ctx: Context): boolean {
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
