/**
 * AWS Signature Version 2 as S3 has it: the `Authorization: AWS AccessKeyId:Signature` header and query-string
 * authentication (`AWSAccessKeyId`, `Expires`, `Signature`). The signature is the base64 HMAC-SHA1 of a string to
 * sign made of the verb, Content-MD5, Content-Type, the date, the `x-amz-*` headers and the resource; the payload is
 * not signed.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/RESTAuthentication.html
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

import {
  canonicalBytes,
  decodeQueryComponent,
  formatAmzDate,
  headerValue,
  hexBytes,
  isoSeconds,
  parseAmzDate,
  splitQuery,
} from './canonical.ts';
import { MESSAGES, SigV4Error, timeSkewedError } from './errors.ts';
import type { AuthContext, SignableRequest, VerifyOptions } from './types.ts';
import { parsePayloadMode, redactSecrets, resolveOptions, type ResolvedOptions } from './verify.ts';

/** The `s3:signatureversion` of a SigV2 request. */
export const SIGV2_ALGORITHM = 'AWS';

/**
 * Query parameters that are part of the resource a SigV2 signature covers: S3's documented list (sub-resources and
 * the `response-*` overrides), with `cors`, `delete`, `restore` and `tagging` that s3cmd and botocore sign too, and
 * the later sub-resources botocore signs. Any other parameter is not signed.
 */
const SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'delete',
  'inventory',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'partNumber',
  'policy',
  'replication',
  'requestPayment',
  'restore',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'select',
  'select-type',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

/** The query of a request by decoded name (first value of each), values decoded. */
function queryParams(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [k, v] of splitQuery(rawQuery)) {
    const key = decodeQueryComponent(k);
    if (!params.has(key)) params.set(key, decodeQueryComponent(v));
  }
  return params;
}

/** A decoded query value as the bytes it stands for, one char per byte (the string to sign is hashed as latin1). */
function asBytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

/**
 * Whether a request is signed with SigV2: an `AWS ` Authorization header,
 * or `AWSAccessKeyId`/`Signature` in the query.
 */
export function isSigV2Request(req: SignableRequest): boolean {
  const authorization = headerValue(req.headers, 'authorization')?.trim();
  if (authorization !== undefined && authorization !== '') return authorization.startsWith(`${SIGV2_ALGORITHM} `);
  for (const [k] of splitQuery(req.query)) {
    const key = decodeQueryComponent(k);
    if (key === 'AWSAccessKeyId' || key === 'Signature') return true;
  }
  return false;
}

/**
 * CanonicalizedResource: `/bucket` for a virtual-hosted-style request, then the path as sent (not decoded), then
 * the signed sub-resources sorted by name, `?name` or `?name=value` with the value decoded.
 */
function canonicalResource(req: SignableRequest, params: ReadonlyMap<string, string>, o: ResolvedOptions): string {
  const host = headerValue(req.headers, 'host');
  const bucket = host === undefined ? undefined : o.virtualHostBucket?.(host);
  let resource = bucket === undefined ? req.path : `/${bucket}${req.path}`;
  const signed = [...params.keys()].filter((name) => SUBRESOURCES.has(name)).sort();
  if (signed.length > 0) {
    const pair = (name: string): string => (params.get(name) === '' ? name : `${name}=${asBytes(params.get(name)!)}`);
    resource += '?' + signed.map(pair).join('&');
  }
  return resource;
}

/**
 * CanonicalizedAmzHeaders: every `x-amz-*` header, lower-cased, sorted, its value trimmed (repeated values joined
 * with `,`), one `name:value\n` each. For query authentication an `x-amz-*` query parameter stands in for a header
 * of that name (botocore's presigner moves the headers it signed into the query).
 */
function canonicalAmzHeaders(req: SignableRequest, params?: ReadonlyMap<string, string>): string {
  const found = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || !name.startsWith('x-amz-')) continue;
    found.set(name, (Array.isArray(value) ? value : [value]).map((v) => v.trim()).join(','));
  }
  for (const [name, value] of params ?? []) {
    const lower = name.toLowerCase();
    if (lower.startsWith('x-amz-') && !found.has(lower)) found.set(lower, asBytes(value.trim()));
  }
  return [...found.keys()]
    .sort()
    .map((name) => `${name}:${found.get(name)}\n`)
    .join('');
}

/**
 * S3's SigV2 string to sign: `VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedAmzHeaders CanonicalizedResource`.
 * `date` is the Date header, empty when `x-amz-date` is sent, or `Expires` for query authentication.
 */
function stringToSignV2(
  req: SignableRequest,
  date: string,
  params: ReadonlyMap<string, string>,
  o: ResolvedOptions,
  query: boolean,
): string {
  const positional = (name: string): string => {
    const sent = headerValue(req.headers, name);
    const inQuery = query ? params.get(name) : undefined;
    return sent !== undefined ? sent.trim() : inQuery !== undefined ? asBytes(inQuery.trim()) : '';
  };
  return (
    `${req.method.toUpperCase()}\n${positional('content-md5')}\n${positional('content-type')}\n${date}\n` +
    canonicalAmzHeaders(req, query ? params : undefined) +
    canonicalResource(req, params, o)
  );
}

/** Base64 HMAC-SHA1 of a SigV2 string to sign (its chars taken as the bytes sent) under a secret key. */
export function signV2(secretKey: string, toSign: string): string {
  return createHmac('sha1', secretKey).update(canonicalBytes(toSign)).digest('base64');
}

/** Constant-time comparison of base64 signatures. */
export function signaturesEqualV2(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The request time of SigV2 header authentication: `x-amz-date` (then the Date line is empty) or `Date`. */
function requestTime(req: SignableRequest): { sent: string; ms: number; dateLine: string } {
  const amzDate = headerValue(req.headers, 'x-amz-date')?.trim();
  const date = headerValue(req.headers, 'date')?.trim();
  const sent = amzDate ?? date;
  if (sent === undefined) throw new SigV4Error('SIGV4_MISSING_AUTH', MESSAGES.missingDate);
  // x-amz-date in RFC 1123 form, as the docs show it, or in ISO 8601 basic form, as SDKs send it
  const basic = parseAmzDate(sent);
  const ms = Number.isNaN(basic) ? Date.parse(sent) : basic;
  if (Number.isNaN(ms)) throw new SigV4Error('SIGV4_MISSING_AUTH', MESSAGES.missingDate);
  return { sent, ms, dateLine: amzDate === undefined ? sent : '' };
}

/** Parsed, not yet verified, SigV2 request. */
interface ParsedV2 {
  via: 'header' | 'query';
  accessKeyId: string;
  signature: string;
  /** What fills the Date line. */
  dateLine: string;
  /** Request time (header) or verification time (query: the URL carries only its expiry). */
  time: number;
}

function parseHeader(req: SignableRequest, authorization: string, o: ResolvedOptions): ParsedV2 {
  const credentials = authorization.slice(SIGV2_ALGORITHM.length + 1).trim();
  const colon = credentials.indexOf(':');
  if (colon <= 0 || colon === credentials.length - 1) {
    throw new SigV4Error('SIGV4_V2_MALFORMED_AUTH', MESSAGES.v2HeaderInvalid, {
      ArgumentName: 'Authorization',
      ArgumentValue: authorization,
    });
  }
  const { sent, ms, dateLine } = requestTime(req);
  const now = o.now();
  if (Math.abs(now - ms) > o.maxSkewMs) {
    throw timeSkewedError(sent, now, o.maxSkewMs);
  }
  const accessKeyId = credentials.slice(0, colon);
  return { via: 'header', accessKeyId, signature: credentials.slice(colon + 1), dateLine, time: ms };
}

function parseQuery(params: ReadonlyMap<string, string>, o: ResolvedOptions): ParsedV2 {
  const accessKeyId = params.get('AWSAccessKeyId');
  const signature = params.get('Signature');
  const expires = params.get('Expires');
  if (!accessKeyId || !signature || !expires) throw new SigV4Error('SIGV4_V2_QUERY_PARAMS', MESSAGES.v2QueryMissing);
  if (!/^\d{1,15}$/.test(expires)) throw new SigV4Error('SIGV4_V2_QUERY_PARAMS', MESSAGES.v2QueryExpires + expires);
  const now = o.now();
  const expiresMs = Number(expires) * 1000;
  if (now > expiresMs) {
    throw new SigV4Error('SIGV4_EXPIRED', MESSAGES.expired, {
      Expires: isoSeconds(expiresMs),
      ServerTime: isoSeconds(now),
    });
  }
  return { via: 'query', accessKeyId, signature, dateLine: expires, time: now };
}

/**
 * Verify a SigV2 request (Authorization header or query-string authentication) as S3 does. Header: the date
 * (`x-amz-date` or `Date`) within `maxSkewMs`; query: `Expires` (epoch seconds) not passed. The payload is not
 * signed: it is `unsigned` unless the client sends a hex `x-amz-content-sha256`, which the body decoder then checks.
 * @throws SigV4Error SIGV4_V2_MALFORMED_AUTH, SIGV4_V2_QUERY_PARAMS, SIGV4_MISSING_AUTH (no date), SIGV4_TIME_SKEWED,
 *   SIGV4_EXPIRED, SIGV4_UNKNOWN_ACCESS_KEY, SIGV4_INVALID_CONTENT_SHA256, SIGV4_SIGNATURE_MISMATCH
 */
export async function verifyV2Request(req: SignableRequest, opts: VerifyOptions): Promise<AuthContext> {
  const o = resolveOptions(opts);
  const authorization = headerValue(req.headers, 'authorization')?.trim();
  const params = queryParams(req.query);
  const p = authorization ? parseHeader(req, authorization, o) : parseQuery(params, o);

  // Streaming signed payloads chain SigV4 chunk signatures: they cannot come with a SigV2 signature.
  const payloadHash = headerValue(req.headers, 'x-amz-content-sha256')?.trim() ?? 'UNSIGNED-PAYLOAD';
  const payload = parsePayloadMode(payloadHash);
  if (!payload || payload.kind === 'streaming-signed' || payload.kind === 'streaming-signed-trailer') {
    throw new SigV4Error('SIGV4_INVALID_CONTENT_SHA256', MESSAGES.invalidContentSha256);
  }
  const secret = await o.getSecretKey(p.accessKeyId);
  if (secret === undefined) {
    throw new SigV4Error('SIGV4_UNKNOWN_ACCESS_KEY', MESSAGES.unknownAccessKey, { AWSAccessKeyId: p.accessKeyId });
  }
  const toSignFor = (path: string) => stringToSignV2({ ...req, path }, p.dateLine, params, o, p.via === 'query');
  const toSign = toSignFor(req.path);
  let expected = signV2(secret, toSign);
  // botocore signs a path-style bucket request (`/bucket?list-type=2`) with the resource `/bucket/`, and S3 takes it.
  if (!signaturesEqualV2(expected, p.signature) && /^\/[^/]+$/.test(req.path)) {
    const withSlash = signV2(secret, toSignFor(`${req.path}/`));
    if (signaturesEqualV2(withSlash, p.signature)) expected = withSlash;
  }
  if (!signaturesEqualV2(expected, p.signature)) {
    const shown = redactSecrets(toSign);
    throw new SigV4Error('SIGV4_SIGNATURE_MISMATCH', MESSAGES.signatureMismatch, {
      AWSAccessKeyId: p.accessKeyId,
      StringToSign: shown,
      SignatureProvided: p.signature,
      StringToSignBytes: hexBytes(shown),
    });
  }
  return {
    accessKeyId: p.accessKeyId,
    signatureVersion: SIGV2_ALGORITHM,
    via: p.via,
    payload,
    amzDate: formatAmzDate(p.time),
    scope: '',
    signature: expected,
    signingKey: Buffer.alloc(0),
  };
}
