import { timingSafeEqual } from 'node:crypto';

import {
  ALGORITHM,
  SERVICE,
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  decodeQueryComponent,
  deriveSigningKey,
  formatAmzDate,
  headerValue,
  hexBytes,
  isoSeconds,
  parseAmzDate,
  sign,
  splitQuery,
  stringToSign,
} from './canonical.ts';
import { MESSAGES, SigV4Error, timeSkewedError, wrongRegionMessage } from './errors.ts';
import type { AuthContext, PayloadMode, SignableRequest, VerifyOptions } from './types.ts';

/** Defaults of {@link VerifyOptions}. */
export const DEFAULT_VERIFY_OPTIONS: Readonly<Required<Pick<VerifyOptions, 'region' | 'maxSkewMs'>>> = Object.freeze({
  region: 'us-east-1',
  maxSkewMs: 900_000,
});

/** Longest presigned URL lifetime, seconds (7 days). */
export const MAX_PRESIGN_EXPIRES = 604_800;

const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Expires',
] as const;

export interface ResolvedOptions {
  getSecretKey: VerifyOptions['getSecretKey'];
  region: string;
  now: () => number;
  maxSkewMs: number;
  sigV2: boolean;
  virtualHostBucket: VerifyOptions['virtualHostBucket'];
}

export function resolveOptions(opts: VerifyOptions): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError('opts must be an object');
  if (typeof opts.getSecretKey !== 'function') throw new TypeError('opts.getSecretKey must be a function');
  const region = opts.region ?? DEFAULT_VERIFY_OPTIONS.region;
  if (typeof region !== 'string' || region === '') throw new TypeError('opts.region must be a non-empty string');
  const now = opts.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('opts.now must be a function');
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_VERIFY_OPTIONS.maxSkewMs;
  if (typeof maxSkewMs !== 'number' || !Number.isFinite(maxSkewMs) || maxSkewMs < 0) {
    throw new RangeError('opts.maxSkewMs must be a non-negative finite number');
  }
  const sigV2 = opts.sigV2 ?? false;
  if (typeof sigV2 !== 'boolean') throw new TypeError('opts.sigV2 must be a boolean');
  const virtualHostBucket = opts.virtualHostBucket;
  if (virtualHostBucket !== undefined && typeof virtualHostBucket !== 'function') {
    throw new TypeError('opts.virtualHostBucket must be a function');
  }
  return { getSecretKey: opts.getSecretKey, region, now, maxSkewMs, sigV2, virtualHostBucket };
}

/** x-amz-content-sha256 → payload mode; undefined for a value that is neither hex-64 nor a known mode. */
export function parsePayloadMode(value: string): PayloadMode | undefined {
  switch (value) {
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'unsigned' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming-signed' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming-signed-trailer' };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming-unsigned-trailer' };
    default:
      return /^[0-9a-fA-F]{64}$/.test(value) ? { kind: 'signed', sha256: value.toLowerCase() } : undefined;
  }
}

export interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

export function parseCredential(value: string): Credential | undefined {
  const parts = value.split('/');
  if (parts.length !== 5) return undefined;
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  if (accessKeyId === '' || !/^\d{8}$/.test(date) || region === '' || terminator !== 'aws4_request') return undefined;
  return { accessKeyId, date, region, service };
}

/** Parsed, not yet verified, SigV4 request. */
interface Parsed {
  via: 'header' | 'query';
  credential: Credential;
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  payloadHash: string;
  payload: PayloadMode;
  /** Raw query key to leave out of the canonical query. */
  omitQuery?: string;
}

function parseHeaderAuth(req: SignableRequest, authorization: string, o: ResolvedOptions): Parsed {
  if (!authorization.startsWith(`${ALGORITHM} `)) {
    throw new SigV4Error('SIGV4_UNSUPPORTED_ALGORITHM', MESSAGES.unsupportedAlgorithm);
  }
  // `Credential=…, SignedHeaders=…, Signature=…`, with or without spaces after the commas (s3cmd sends none)
  const fields = new Map<string, string>();
  for (const part of authorization.slice(ALGORITHM.length + 1).split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) throw new SigV4Error('SIGV4_MALFORMED_AUTH', MESSAGES.headerMalformedComponents);
    fields.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  const cred = fields.get('Credential');
  const sh = fields.get('SignedHeaders');
  const sig = fields.get('Signature');
  if (cred === undefined || sh === undefined || sig === undefined || sh === '') {
    throw new SigV4Error('SIGV4_MALFORMED_AUTH', MESSAGES.headerMalformedComponents);
  }
  const credential = parseCredential(cred);
  if (!credential) throw new SigV4Error('SIGV4_MALFORMED_AUTH', MESSAGES.headerMalformedCredential);
  if (credential.region !== o.region) {
    throw new SigV4Error('SIGV4_MALFORMED_AUTH', wrongRegionMessage(credential.region, o.region), { Region: o.region });
  }
  if (credential.service !== SERVICE) throw new SigV4Error('SIGV4_MALFORMED_AUTH', MESSAGES.headerMalformedCredential);

  // X-Amz-Date, or else an RFC 7231 Date header (S3 accepts either for header auth)
  let amzDate = headerValue(req.headers, 'x-amz-date')?.trim();
  if (amzDate === undefined) {
    const date = headerValue(req.headers, 'date');
    const t = date === undefined ? NaN : Date.parse(date);
    if (Number.isNaN(t)) throw new SigV4Error('SIGV4_MISSING_AUTH', MESSAGES.missingDate);
    amzDate = formatAmzDate(t);
  }
  const t = parseAmzDate(amzDate);
  if (Number.isNaN(t)) throw new SigV4Error('SIGV4_MISSING_AUTH', MESSAGES.missingDate);
  if (amzDate.slice(0, 8) !== credential.date) {
    throw new SigV4Error('SIGV4_MALFORMED_AUTH', MESSAGES.headerMalformedDate);
  }
  const now = o.now();
  if (Math.abs(now - t) > o.maxSkewMs) {
    throw timeSkewedError(amzDate, now, o.maxSkewMs);
  }

  const payloadHash = headerValue(req.headers, 'x-amz-content-sha256')?.trim();
  if (payloadHash === undefined) throw new SigV4Error('SIGV4_MISSING_CONTENT_SHA256', MESSAGES.missingContentSha256);
  const payload = parsePayloadMode(payloadHash);
  if (!payload) throw new SigV4Error('SIGV4_INVALID_CONTENT_SHA256', MESSAGES.invalidContentSha256);

  return { via: 'header', credential, amzDate, signedHeaders: sh.split(';'), signature: sig, payloadHash, payload };
}

function parseQueryAuth(req: SignableRequest, o: ResolvedOptions): Parsed {
  const params = new Map<string, string>();
  for (const [k, v] of splitQuery(req.query)) {
    const key = decodeQueryComponent(k);
    if (!params.has(key)) params.set(key, decodeQueryComponent(v));
  }
  for (const name of PRESIGN_PARAMS) {
    if (!params.get(name)) throw new SigV4Error('SIGV4_QUERY_PARAMS', MESSAGES.queryMissing);
  }
  if (params.get('X-Amz-Algorithm') !== ALGORITHM) throw new SigV4Error('SIGV4_QUERY_PARAMS', MESSAGES.queryAlgorithm);
  const credential = parseCredential(params.get('X-Amz-Credential')!);
  if (!credential || credential.service !== SERVICE) {
    throw new SigV4Error('SIGV4_QUERY_PARAMS', MESSAGES.queryCredential);
  }
  if (credential.region !== o.region) {
    throw new SigV4Error('SIGV4_QUERY_PARAMS', wrongRegionMessage(credential.region, o.region, true), {
      Region: o.region,
    });
  }
  const amzDate = params.get('X-Amz-Date')!;
  const t = parseAmzDate(amzDate);
  if (Number.isNaN(t)) throw new SigV4Error('SIGV4_QUERY_PARAMS', MESSAGES.queryDate);
  if (amzDate.slice(0, 8) !== credential.date) {
    throw new SigV4Error(
      'SIGV4_QUERY_PARAMS',
      MESSAGES.queryCredentialDate.replace('{date}', credential.date).replace('{amzDate}', amzDate),
    );
  }
  const expiresRaw = params.get('X-Amz-Expires')!;
  if (!/^-?\d+$/.test(expiresRaw)) throw new SigV4Error('SIGV4_QUERY_PARAMS', MESSAGES.expiresNaN);
  const expires = Number(expiresRaw);
  // AWS documents 1..604800; 0 can never be valid, so it is refused with the parameter error rather than "expired"
  if (expires <= 0) throw new SigV4Error('SIGV4_QUERY_PARAMS', MESSAGES.expiresNegative);
  if (expires > MAX_PRESIGN_EXPIRES) throw new SigV4Error('SIGV4_QUERY_PARAMS', MESSAGES.expiresTooLarge);

  const now = o.now();
  if (now > t + expires * 1000) {
    throw new SigV4Error('SIGV4_EXPIRED', MESSAGES.expired, {
      'X-Amz-Expires': String(expires),
      Expires: isoSeconds(t + expires * 1000),
      ServerTime: isoSeconds(now),
    });
  }
  if (t - now > o.maxSkewMs) {
    // signed in the future beyond the allowed skew
    throw timeSkewedError(amzDate, now, o.maxSkewMs);
  }

  // Presigned URLs sign UNSIGNED-PAYLOAD unless the signer fixed a payload hash (query or header).
  const payloadHash =
    params.get('X-Amz-Content-Sha256') ??
    headerValue(req.headers, 'x-amz-content-sha256')?.trim() ??
    'UNSIGNED-PAYLOAD';
  const payload = parsePayloadMode(payloadHash);
  if (!payload || (payload.kind !== 'signed' && payload.kind !== 'unsigned')) {
    throw new SigV4Error('SIGV4_INVALID_CONTENT_SHA256', MESSAGES.invalidContentSha256);
  }
  return {
    via: 'query',
    credential,
    amzDate,
    signedHeaders: params.get('X-Amz-SignedHeaders')!.split(';'),
    signature: params.get('X-Amz-Signature')!,
    payloadHash,
    payload,
    omitQuery: 'X-Amz-Signature',
  };
}

function isPresigned(query: string): boolean {
  if (query === '') return false;
  for (const [k] of splitQuery(query)) {
    const key = decodeQueryComponent(k);
    if (key === 'X-Amz-Algorithm' || key === 'X-Amz-Credential' || key === 'X-Amz-Signature') return true;
  }
  return false;
}

function isSigV2Presigned(query: string): boolean {
  let sig = false;
  let akid = false;
  for (const [k] of splitQuery(query)) {
    const key = decodeQueryComponent(k);
    if (key === 'Signature') sig = true;
    if (key === 'AWSAccessKeyId') akid = true;
  }
  return sig && akid;
}

/**
 * Headers that must be signed when present: Host, every `x-amz-*` header and Content-MD5
 * (AccessDenied "There were headers present in the request which were not signed").
 * For presigned URLs `x-amz-content-sha256` is exempt: it enters the canonical request as the payload hash anyway.
 */
function checkSignedHeaders(req: SignableRequest, p: Parsed): void {
  const signed = new Set(p.signedHeaders);
  const missing: string[] = [];
  if (!signed.has('host')) missing.push('host');
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || signed.has(name)) continue;
    if (name.startsWith('x-amz-') || name === 'content-md5') {
      if (p.via === 'query' && name === 'x-amz-content-sha256') continue;
      missing.push(name);
    }
  }
  if (missing.length > 0) {
    throw new SigV4Error('SIGV4_UNSIGNED_HEADERS', MESSAGES.unsignedHeaders, {
      HeadersNotSigned: missing.sort().join(', '),
    });
  }
}

/**
 * Signing keys that verified a request, by access key, date and region. Deriving one costs four HMACs (about a
 * tenth of a small PUT's verification), and a client uses the same one all day. An entry is used only while the
 * user's secret is the one it was derived from, and is added only after a signature checked out, so unsigned
 * traffic cannot churn it. Insertion order evicts the oldest beyond the bound.
 */
const signingKeys = new Map<string, { secret: string; key: Buffer }>();
const SIGNING_KEY_CACHE_SIZE = 256;

function rememberSigningKey(id: string, secret: string, key: Buffer): void {
  signingKeys.delete(id);
  if (signingKeys.size >= SIGNING_KEY_CACHE_SIZE) signingKeys.delete(signingKeys.keys().next().value!);
  signingKeys.set(id, { secret, key });
}

/**
 * Verify a SigV4 request (Authorization header or presigned query) as S3 does; a SigV2 one is
 * SIGV4_UNSUPPORTED_ALGORITHM. Resolves with what was proved; rejects with a {@link SigV4Error}.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 */
export async function verifyV4Request(req: SignableRequest, opts: VerifyOptions): Promise<AuthContext> {
  const o = resolveOptions(opts);
  const authorization = headerValue(req.headers, 'authorization')?.trim();
  let p: Parsed;
  if (authorization !== undefined && authorization !== '') {
    p = parseHeaderAuth(req, authorization, o);
  } else if (isPresigned(req.query)) {
    p = parseQueryAuth(req, o);
  } else if (isSigV2Presigned(req.query)) {
    throw new SigV4Error('SIGV4_UNSUPPORTED_ALGORITHM', MESSAGES.unsupportedAlgorithm);
  } else {
    throw new SigV4Error('SIGV4_MISSING_AUTH', MESSAGES.accessDenied);
  }

  const { accessKeyId } = p.credential;
  const secret = await o.getSecretKey(accessKeyId);
  if (secret === undefined) {
    throw new SigV4Error('SIGV4_UNKNOWN_ACCESS_KEY', MESSAGES.unknownAccessKey, { AWSAccessKeyId: accessKeyId });
  }
  checkSignedHeaders(req, p);

  const scope = `${p.credential.date}/${p.credential.region}/${SERVICE}/aws4_request`;
  const canonical = canonicalRequest(
    req.method.toUpperCase(),
    canonicalUri(req.path),
    canonicalQuery(req.query, p.omitQuery),
    canonicalHeaders(req.headers, p.signedHeaders),
    p.signedHeaders.join(';'),
    p.payloadHash,
  );
  const toSign = stringToSign(p.amzDate, scope, canonical);
  const cacheId = `${accessKeyId}/${p.credential.date}/${p.credential.region}`;
  const cached = signingKeys.get(cacheId);
  const signingKey =
    cached?.secret === secret ? cached.key : deriveSigningKey(secret, p.credential.date, p.credential.region);
  let expected = sign(signingKey, toSign);
  // S3 signs the bytes sent. The JS SDK v3 signs the UTF-8 encoding of its header strings while Node sends them a
  // byte per char, so its requests with bytes above 0x7F in a header (UTF-8 metadata) verify only that way; they
  // are accepted too, as before: either reading is a signature made with the secret key over this request.
  if (!signaturesEqual(expected, p.signature) && /[^\x00-\x7f]/.test(canonical)) {
    const viaUtf8 = sign(signingKey, stringToSign(p.amzDate, scope, canonical, true));
    if (signaturesEqual(viaUtf8, p.signature)) expected = viaUtf8;
  }
  if (!signaturesEqual(expected, p.signature)) {
    const shown = redactSecrets(canonical);
    throw new SigV4Error('SIGV4_SIGNATURE_MISMATCH', MESSAGES.signatureMismatch, {
      AWSAccessKeyId: accessKeyId,
      StringToSign: toSign,
      SignatureProvided: p.signature,
      StringToSignBytes: hexBytes(toSign),
      CanonicalRequest: shown,
      CanonicalRequestBytes: hexBytes(shown),
    });
  }
  if (cached?.key !== signingKey) rememberSigningKey(cacheId, secret, signingKey);
  return {
    accessKeyId,
    signatureVersion: ALGORITHM,
    via: p.via,
    payload: p.payload,
    amzDate: p.amzDate,
    scope,
    signature: expected,
    signingKey,
  };
}

// An SSE-C key (or a copy source's) as a canonical header line or a canonical query parameter.
const SECRET_HEADER_LINE = /^(x-amz-(?:copy-source-)?server-side-encryption-customer-key):.*$/gm;
const SECRET_QUERY_PARAM = /((?:^|&)x-amz-(?:copy-source-)?server-side-encryption-customer-key=)[^&\n]*/gim;

/**
 * The canonical request as the SignatureDoesNotMatch error shows it, with SSE-C key values replaced by `*****`: a
 * customer key never goes into an error (AWS echoes it; this store promises not to).
 */
export function redactSecrets(canonical: string): string {
  return canonical.replace(SECRET_HEADER_LINE, '$1:*****').replace(SECRET_QUERY_PARAM, '$1*****');
}

/** Constant-time comparison of an expected hex signature with a provided one. */
export function signaturesEqual(expectedHex: string, providedHex: string): boolean {
  const a = Buffer.from(expectedHex, 'utf8');
  const b = Buffer.from(providedHex.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
