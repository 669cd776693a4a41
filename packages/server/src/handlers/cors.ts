/**
 * Bucket CORS: PutBucketCors, GetBucketCors, DeleteBucketCors, the browser's preflight (OPTIONS, answered without
 * credentials, as S3 does) and the CORS headers of actual requests from an allowed origin. Browser-based uploads
 * (POST Object) and presigned PUTs from a web page need them.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
 */
import type { Context } from 'koa';
import type { BucketCorsRule } from '@coffer/blob-store';
import { parseCorsConfiguration } from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { AppState, Services } from '../context.ts';
import type { BucketEndpoint, Endpoint, EndpointOf } from '../operations.ts';
import { requestBucket, xmlBody } from '../access.ts';
import { header, invalidHeaderArgument, isHeaderValue } from '../http.ts';
import { sendEmpty, sendXml } from '../respond.ts';

const CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];
const MAX_RULES = 100;

/** A pattern with at most one `*` (which matches any run of characters) as a RegExp. */
function wildcard(pattern: string, flags = ''): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    flags,
  );
}

/** S3's checks of a CORS configuration. */
function checkRules(rules: BucketCorsRule[]): void {
  if (rules.length > MAX_RULES) throw new S3Error('MalformedXML');
  for (const r of rules) {
    for (const m of r.allowedMethods) {
      if (!CORS_METHODS.includes(m))
        throw new S3Error('InvalidRequest', {
          message: `Found unsupported HTTP method in CORS config. Unsupported method is ${m}`,
        });
    }
    for (const [what, values] of [
      ['AllowedOrigin', r.allowedOrigins],
      ['AllowedHeader', r.allowedHeaders],
    ] as const) {
      for (const v of values) {
        if (v.split('*').length > 2)
          throw new S3Error('InvalidRequest', { message: `${what} "${v}" can not have more than one wildcard.` });
      }
    }
    // ExposeHeader goes out in Access-Control-Expose-Headers on every allowed request (an error's too).
    if (!r.exposeHeaders.every(isHeaderValue)) throw invalidHeaderArgument('ExposeHeader');
  }
}

/**
 * The first rule that allows `origin` to make a `method` request sending `requestHeaders` (lower-cased): origins
 * match case-sensitively, headers case-insensitively, each pattern with at most one `*`.
 */
export function matchCors(
  rules: readonly BucketCorsRule[],
  origin: string,
  method: string,
  requestHeaders: readonly string[] = [],
): BucketCorsRule | undefined {
  return rules.find(
    (r) =>
      r.allowedMethods.includes(method) &&
      r.allowedOrigins.some((o) => wildcard(o).test(origin)) &&
      requestHeaders.every((h) => r.allowedHeaders.some((a) => wildcard(a, 'i').test(h))),
  );
}

/** The response headers S3 sends for a request that `rule` allows. */
function allowHeaders(rule: BucketCorsRule, origin: string): Record<string, string> {
  const any = rule.allowedOrigins.includes('*');
  const h: Record<string, string> = {
    'Access-Control-Allow-Origin': any ? '*' : origin,
    'Access-Control-Allow-Methods': rule.allowedMethods.join(', '),
    Vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!any) h['Access-Control-Allow-Credentials'] = 'true';
  if (rule.exposeHeaders.length > 0) h['Access-Control-Expose-Headers'] = rule.exposeHeaders.join(', ');
  if (rule.maxAgeSeconds !== undefined) h['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  return h;
}

/** The bucket's CORS rules; undefined when it has none, or there is no such bucket (nothing to tell a stranger). */
async function corsRules(services: Services, bucket: string): Promise<BucketCorsRule[] | undefined> {
  return (await services.store.getBucket(bucket).catch(() => undefined))?.cors;
}

/**
 * For an actual request with an `Origin` to a bucket whose CORS rules allow it: sets the CORS response headers,
 * and keeps them in the state so that an error response carries them too (a page can then read the error).
 */
export async function applyCors(ctx: Context, ep: Endpoint, services: Services): Promise<void> {
  const origin = header(ctx.req.headers, 'origin');
  if (origin === undefined || !('bucket' in ep)) return;
  const rules = await corsRules(services, ep.bucket);
  const rule = rules && matchCors(rules, origin, ctx.method.toUpperCase());
  if (!rule) return;
  const headers = allowHeaders(rule, origin);
  (ctx.state as AppState).cors = headers;
  for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html */
export async function putBucketCors(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const { rules } = await parseCorsConfiguration(xmlBody(ctx));
  checkRules(rules);
  await services.store.updateBucket(ep.bucket, { cors: rules });
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketCors.html */
export async function getBucketCors(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const bucket = requestBucket(ctx);
  if (!bucket.cors) throw new S3Error('NoSuchCORSConfiguration', { extra: { BucketName: ep.bucket } });
  sendXml(ctx, 'CORSConfiguration', {
    CORSRule: bucket.cors.map((r) => ({
      ID: r.id,
      AllowedHeader: r.allowedHeaders,
      AllowedMethod: r.allowedMethods,
      AllowedOrigin: r.allowedOrigins,
      ExposeHeader: r.exposeHeaders,
      MaxAgeSeconds: r.maxAgeSeconds,
    })),
  });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketCors.html */
export async function deleteBucketCors(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  await services.store.updateBucket(ep.bucket, { cors: undefined });
  sendEmpty(ctx, 204);
}

/** OPTIONS on a bucket or object: the browser's preflight, matched against the bucket's CORS rules. */
export async function preflight(ctx: Context, ep: EndpointOf<'PreflightRequest'>, services: Services): Promise<void> {
  const origin = header(ctx.req.headers, 'origin');
  if (origin === undefined)
    throw new S3Error('BadRequest', { message: 'Insufficient information. Origin request header needed.' });
  const method = header(ctx.req.headers, 'access-control-request-method');
  if (method === undefined) throw new S3Error('BadRequest', { message: 'Invalid Access-Control-Request-Method: null' });
  const requested = (header(ctx.req.headers, 'access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const rules = await corsRules(services, ep.bucket);
  if (!rules) throw new S3Error('AccessForbidden', { message: 'CORSResponse: CORS is not enabled for this bucket.' });
  const rule = matchCors(rules, origin, method, requested);
  if (!rule) throw new S3Error('AccessForbidden');
  for (const [k, v] of Object.entries(allowHeaders(rule, origin))) ctx.set(k, v);
  if (requested.length > 0) ctx.set('Access-Control-Allow-Headers', requested.join(', '));
  sendEmpty(ctx);
}
