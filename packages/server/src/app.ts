/**
 * The Koa application: one error middleware first in the chain, then authentication, then dispatch to the handler
 * of the AWS operation the pure router names.
 */
import Koa, { type Context, type Next } from 'koa';
import { secureRandom } from '@coffer/crypto';
import { verifyRequest } from '@coffer/sigv4';
import { errorXml } from '@coffer/xml';
import { authorizeEndpoint } from './access.ts';
import { anonymousAuth, isUnsigned, verifyOptions } from './auth.ts';
import { toS3Error } from './errors.ts';
import type { AppState, Services } from './context.ts';
import type { Endpoint, EndpointOf, Operation } from './operations.ts';
import { route } from './router.ts';
import * as bucket from './handlers/bucket.ts';
import * as list from './handlers/list.ts';
import { putObject } from './handlers/object-put.ts';
import { isPostForm, postObject } from './handlers/object-post.ts';
import { getObject, headObject } from './handlers/object-get.ts';
import { deleteObject, deleteObjects } from './handlers/object-delete.ts';
import { copyObject } from './handlers/copy.ts';
import * as multipart from './handlers/multipart.ts';
import * as cors from './handlers/cors.ts';
import * as acl from './handlers/acl.ts';
import * as bucketAccess from './handlers/bucket-access.ts';
import * as bucketPolicy from './handlers/bucket-policy.ts';
import * as tagging from './handlers/tagging.ts';
import { getBucketDefault } from './handlers/bucket-defaults.ts';
import { getObjectAttributes } from './handlers/object-attributes.ts';
import * as lifecycle from './handlers/lifecycle.ts';
import * as objectLock from './handlers/object-lock.ts';

/** A handler of AWS operations: `E` is the routing result it takes (the endpoint of its operation, or a wider one). */
export type Handler<E = Endpoint> = (ctx: Context, ep: E, services: Services) => Promise<void>;

/**
 * Operation → handler: the only place the router's answer meets code. Typed over the operations table, so that an
 * operation without a handler, or a handler that needs a key for an operation without one, does not compile.
 */
export const HANDLERS: { readonly [O in Operation]: Handler<EndpointOf<O>> } = Object.freeze({
  ListBuckets: bucket.listBuckets,
  CreateBucket: bucket.createBucket,
  HeadBucket: bucket.headBucket,
  DeleteBucket: bucket.deleteBucket,
  GetBucketLocation: bucket.getBucketLocation,
  GetBucketVersioning: bucket.getBucketVersioning,
  PutBucketVersioning: bucket.putBucketVersioning,
  GetBucketEncryption: bucket.getBucketEncryption,
  PutBucketEncryption: bucket.putBucketEncryption,
  DeleteBucketEncryption: bucket.deleteBucketEncryption,
  GetBucketCors: cors.getBucketCors,
  PutBucketCors: cors.putBucketCors,
  DeleteBucketCors: cors.deleteBucketCors,
  PreflightRequest: cors.preflight,
  GetBucketAcl: acl.getBucketAcl,
  PutBucketAcl: acl.putBucketAcl,
  GetObjectAcl: acl.getObjectAcl,
  PutObjectAcl: acl.putObjectAcl,
  GetBucketOwnershipControls: bucketAccess.getBucketOwnershipControls,
  PutBucketOwnershipControls: bucketAccess.putBucketOwnershipControls,
  DeleteBucketOwnershipControls: bucketAccess.deleteBucketOwnershipControls,
  GetPublicAccessBlock: bucketAccess.getPublicAccessBlock,
  PutPublicAccessBlock: bucketAccess.putPublicAccessBlock,
  DeletePublicAccessBlock: bucketAccess.deletePublicAccessBlock,
  GetBucketPolicyStatus: bucketAccess.getBucketPolicyStatus,
  GetBucketPolicy: bucketPolicy.getBucketPolicy,
  PutBucketPolicy: bucketPolicy.putBucketPolicy,
  DeleteBucketPolicy: bucketPolicy.deleteBucketPolicy,
  GetBucketDefault: getBucketDefault,
  GetObjectAttributes: getObjectAttributes,
  GetBucketLifecycleConfiguration: lifecycle.getBucketLifecycle,
  PutBucketLifecycleConfiguration: lifecycle.putBucketLifecycle,
  DeleteBucketLifecycle: lifecycle.deleteBucketLifecycle,
  GetBucketTagging: tagging.getBucketTagging,
  PutBucketTagging: tagging.putBucketTagging,
  DeleteBucketTagging: tagging.deleteBucketTagging,
  GetObjectTagging: tagging.getObjectTagging,
  PutObjectTagging: tagging.putObjectTagging,
  DeleteObjectTagging: tagging.deleteObjectTagging,
  GetObjectLockConfiguration: objectLock.getObjectLockConfiguration,
  PutObjectLockConfiguration: objectLock.putObjectLockConfiguration,
  GetObjectRetention: objectLock.getObjectRetention,
  PutObjectRetention: objectLock.putObjectRetention,
  GetObjectLegalHold: objectLock.getObjectLegalHold,
  PutObjectLegalHold: objectLock.putObjectLegalHold,
  ListObjects: list.listObjects,
  ListObjectsV2: list.listObjectsV2,
  ListObjectVersions: list.listObjectVersions,
  DeleteObjects: deleteObjects,
  PutObject: putObject,
  PostObject: postObject,
  CopyObject: copyObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  CreateMultipartUpload: multipart.createMultipartUpload,
  UploadPart: multipart.uploadPart,
  UploadPartCopy: multipart.uploadPartCopy,
  CompleteMultipartUpload: multipart.completeMultipartUpload,
  AbortMultipartUpload: multipart.abortMultipartUpload,
  ListParts: multipart.listParts,
  ListMultipartUploads: multipart.listMultipartUploads,
});

/** Runs the handler of `op` on its endpoint (`op` is `ep.op`: the table's type pairs the handler with the endpoint). */
function runHandler<O extends Operation>(ctx: Context, op: O, ep: EndpointOf<O>, services: Services): Promise<void> {
  return HANDLERS[op](ctx, ep, services);
}

/**
 * Operations that bring new data or new objects: refused while the data directory is below its free-space reserve.
 * Deletes, aborts and everything else still run, so that space can be freed through S3.
 */
const NEW_DATA: ReadonlySet<Operation> = new Set<Operation>([
  'PutObject',
  'PostObject',
  'CopyObject',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
]);

/** The body bytes a request announces (the decoded length of an aws-chunked body), 0 when unknown. */
function announcedBytes(headers: Record<string, string | string[] | undefined>): number {
  const n = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length'] ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Splits the raw request target into path and query, untouched (both are decoded later, once). */
function rawTarget(ctx: Context): { path: string; query: string } {
  const url = ctx.req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

/**
 * First in the chain: gives every response its `x-amz-request-id`, and turns anything thrown into the S3 error
 * document (no body for HEAD). 5xx details stay in the log, never in the response.
 */
function errors(services: Services) {
  return async (ctx: Context, next: Next) => {
    const requestId = secureRandom(8).toString('hex').toUpperCase();
    const state = ctx.state as AppState;
    state.requestId = requestId;
    const started = process.hrtime.bigint();
    const done = services.metrics?.start();
    const stamp = () => {
      ctx.set('x-amz-request-id', requestId);
      ctx.set('x-amz-id-2', requestId);
      ctx.set('Server', 'Coffer');
    };
    stamp();
    try {
      await next();
    } catch (thrown) {
      const err = toS3Error(thrown);
      if ((thrown as { code?: unknown } | null)?.code === 'BLOB_NO_SPACE') services.space.full();
      if (err.code === 'XCofferStorageFull') services.metrics?.refusedForSpace();
      // A body nobody will read (the error came first) is drained, so the answer reaches the client.
      if (!ctx.req.complete) {
        ctx.req.unpipe();
        ctx.req.resume();
      }
      // A server fault, logged with its stack; 501 is the client asking for what Coffer does not do, not a fault.
      if (err.status >= 500 && err.status !== 501) services.logger.error({ requestId, err: thrown }, 'request failed');
      if (ctx.headerSent) {
        ctx.req.socket.destroy();
        return;
      }
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
      stamp();
      for (const [name, value] of Object.entries(state.cors ?? {})) ctx.set(name, value);
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      if (ctx.method === 'HEAD') {
        ctx.body = null;
        ctx.status = err.status;
      } else {
        ctx.status = err.status;
        ctx.type = 'application/xml';
        ctx.body = errorXml({
          code: err.code,
          message: err.message,
          resource: rawTarget(ctx).path,
          requestId,
          extra: err.extra,
        });
      }
    } finally {
      done?.(state.endpoint?.op, ctx.status);
      services.logger.info(
        {
          requestId,
          method: ctx.method,
          path: rawTarget(ctx).path,
          op: state.endpoint?.op,
          status: ctx.status,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    }
  };
}

/**
 * Verifies SigV4 (header or presigned), or SigV2 unless `--no-sigv2`, and resolves the caller. A request that
 * carries no signature at all acts as the anonymous principal: authorization decides what it may do.
 * A browser upload (a form POST) carries its signature in the form: its handler verifies it. A CORS preflight
 * (OPTIONS) carries none, as in S3.
 */
function authenticate(services: Services) {
  return async (ctx: Context, next: Next) => {
    const { path, query } = rawTarget(ctx);
    const state = ctx.state as AppState;
    if (ctx.method === 'OPTIONS' || isPostForm(ctx.method, ctx.req.headers, query)) {
      await next();
      return;
    }
    if (isUnsigned(ctx.req.headers, query)) {
      state.auth = anonymousAuth(ctx.req.headers);
    } else {
      const req = { method: ctx.method, path, query, headers: ctx.req.headers };
      const auth = await verifyRequest(req, verifyOptions(services));
      state.auth = auth;
      state.user = services.users.byAccessKey(auth.accessKeyId);
    }
    await next();
  };
}

/**
 * Routes with the pure router, authorizes (every operation but a POST upload, whose form names its caller: its
 * handler asks) and runs the operation's handler.
 */
function dispatch(services: Services) {
  return async (ctx: Context) => {
    const { path, query } = rawTarget(ctx);
    const ep = route(ctx.method, path, query, ctx.req.headers, services.domains);
    const state = ctx.state as AppState;
    state.endpoint = ep;
    // CORS headers first, so that a page can read the error too (AccessDenied, NoSuchKey).
    if (ep.op !== 'PreflightRequest') await cors.applyCors(ctx, ep, services);
    if (ep.op !== 'PostObject') await authorizeEndpoint(ctx, services, ep);
    if (NEW_DATA.has(ep.op)) await services.space.admit(announcedBytes(ctx.req.headers));
    await runHandler(ctx, ep.op, ep, services);
  };
}

/** Builds the Koa application for a set of services. */
export function createApp(services: Services): Koa {
  const app = new Koa();
  // Errors are answered by the error middleware; this only keeps Koa from printing them a second time.
  app.on('error', (err: Error & { headerSent?: boolean }) => {
    if (err.headerSent)
      services.logger.warn(
        { err: { message: err.message, code: (err as { code?: string }).code } },
        'response aborted',
      );
  });
  app.use(errors(services));
  app.use(authenticate(services));
  // Every path is an S3 request: the pure router reads the raw path itself (a path-pattern router would decode it).
  app.use(dispatch(services));
  return app;
}
