import {
  ALGORITHM,
  EMPTY_SHA256,
  SERVICE,
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  deriveSigningKey,
  formatAmzDate,
  sha256Hex,
  sign,
  stringToSign,
  uriEncode,
} from './canonical.ts';
import { MAX_PRESIGN_EXPIRES } from './verify.ts';

/** Input of {@link signRequest}. */
export interface SignRequestInput {
  /** HTTP method. */
  method: string;
  /** Full URL; its path and query are signed exactly as they will be sent. */
  url: string | URL;
  /** Headers to send and sign (any case). An `x-amz-content-sha256` here wins over `body`. */
  headers?: Record<string, string>;
  /** The body (hashed), or `'UNSIGNED-PAYLOAD'`; none means an empty body. */
  body?: Buffer | 'UNSIGNED-PAYLOAD';
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Region of the credential scope. Default `'us-east-1'`. */
  region?: string;
  /** Signing time. Default now. */
  now?: Date;
}

/** Input of {@link presignUrl}. */
export interface PresignUrlInput {
  /** HTTP method the URL is for. */
  method: string;
  /** Full URL; existing query parameters are kept and signed. */
  url: string | URL;
  /** Lifetime in seconds, 1..604800. */
  expiresIn: number;
  /** Access key id. */
  accessKeyId: string;
  /** Secret access key. */
  secretAccessKey: string;
  /** Region of the credential scope. Default `'us-east-1'`. */
  region?: string;
  /** Signing time. Default now. */
  now?: Date;
  /** Extra headers the request will carry and that are signed (host is always signed). */
  signedHeaders?: Record<string, string>;
}

function checkCommon(input: {
  method: unknown;
  accessKeyId: unknown;
  secretAccessKey: unknown;
  region?: unknown;
  now?: unknown;
}): void {
  if (typeof input.method !== 'string' || input.method === '')
    throw new TypeError('input.method must be a non-empty string');
  if (typeof input.accessKeyId !== 'string' || input.accessKeyId === '')
    throw new TypeError('input.accessKeyId must be a non-empty string');
  if (typeof input.secretAccessKey !== 'string' || input.secretAccessKey === '')
    throw new TypeError('input.secretAccessKey must be a non-empty string');
  if (input.region !== undefined && (typeof input.region !== 'string' || input.region === ''))
    throw new TypeError('input.region must be a non-empty string');
  if (input.now !== undefined && (!(input.now instanceof Date) || Number.isNaN(input.now.getTime())))
    throw new TypeError('input.now must be a valid Date');
}

function lowerHeaders(h: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/**
 * Sign a request with an Authorization header (client side: tests, benchmark client).
 * Returns the headers to send: the given ones (lowercased) plus host, x-amz-date, x-amz-content-sha256, authorization.
 */
export function signRequest(input: SignRequestInput): Record<string, string> {
  checkCommon(input);
  const url = new URL(input.url);
  const region = input.region ?? 'us-east-1';
  const amzDate = formatAmzDate((input.now ?? new Date()).getTime());
  const date = amzDate.slice(0, 8);
  const headers = lowerHeaders(input.headers);
  delete headers['authorization'];
  headers['host'] ??= url.host;
  headers['x-amz-date'] = amzDate;
  const payloadHash =
    headers['x-amz-content-sha256'] ??
    (input.body === undefined
      ? EMPTY_SHA256
      : input.body === 'UNSIGNED-PAYLOAD'
        ? 'UNSIGNED-PAYLOAD'
        : sha256Hex(input.body));
  headers['x-amz-content-sha256'] = payloadHash;

  const names = Object.keys(headers).sort();
  const scope = `${date}/${region}/${SERVICE}/aws4_request`;
  const canonical = canonicalRequest(
    input.method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQuery(url.search.slice(1)),
    canonicalHeaders(headers, names),
    names.join(';'),
    payloadHash,
  );
  const signature = sign(
    deriveSigningKey(input.secretAccessKey, date, region),
    stringToSign(amzDate, scope, canonical),
  );
  headers['authorization'] =
    `${ALGORITHM} Credential=${input.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}

/** Presign a URL (query-string SigV4, payload UNSIGNED-PAYLOAD). Returns the URL to use. */
export function presignUrl(input: PresignUrlInput): string {
  checkCommon(input);
  if (!Number.isInteger(input.expiresIn) || input.expiresIn < 1 || input.expiresIn > MAX_PRESIGN_EXPIRES) {
    throw new RangeError(`input.expiresIn must be an integer between 1 and ${MAX_PRESIGN_EXPIRES}`);
  }
  const url = new URL(input.url);
  const region = input.region ?? 'us-east-1';
  const amzDate = formatAmzDate((input.now ?? new Date()).getTime());
  const date = amzDate.slice(0, 8);
  const headers = lowerHeaders(input.signedHeaders);
  headers['host'] ??= url.host;
  const names = Object.keys(headers).sort();
  const scope = `${date}/${region}/${SERVICE}/aws4_request`;

  const params: [string, string][] = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${input.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(input.expiresIn)],
    ['X-Amz-SignedHeaders', names.join(';')],
  ];
  const existing = url.search.slice(1);
  const query = [existing, ...params.map(([k, v]) => `${k}=${uriEncode(v)}`)].filter((s) => s !== '').join('&');
  const canonical = canonicalRequest(
    input.method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQuery(query),
    canonicalHeaders(headers, names),
    names.join(';'),
    'UNSIGNED-PAYLOAD',
  );
  const signature = sign(
    deriveSigningKey(input.secretAccessKey, date, region),
    stringToSign(amzDate, scope, canonical),
  );
  return `${url.origin}${url.pathname}?${query}&X-Amz-Signature=${signature}`;
}
