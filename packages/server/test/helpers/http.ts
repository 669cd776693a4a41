/**
 * Raw HTTP for the end-to-end tests: a small independent SigV4 signer (so that a bug shared by the server's verifier
 * and @coffer/sigv4's signer cannot hide), a node:http request helper that can also send a body in pieces or cut it
 * short, and S3 error-document parsing.
 *
 * Signing follows https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html.
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import assert from 'node:assert/strict';

import { REGION } from './server.ts';

/** SHA-256 hex of an empty payload. */
export const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** RFC 3986 encoding as SigV4 wants it: everything but `A-Za-z0-9-._~` is %XX (upper hex). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Encodes an object key for the path, keeping `/` as is (what the SDKs send). */
export function encodeKey(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

/** `/bucket` or `/bucket/encoded-key`. */
export function objectPath(bucket: string, key?: string): string {
  return key === undefined ? `/${bucket}` : `/${bucket}/${encodeKey(key)}`;
}

function sha256hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `20261127T083500Z` */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Canonical query string from name/value pairs (sorted by encoded name, then value). */
export function canonicalQuery(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** What {@link signHeaders} needs. */
export interface SignInput {
  method: string;
  /** Base URL of the server, `http://127.0.0.1:PORT`. */
  url: string;
  /** Path exactly as it will be sent (already encoded), e.g. from {@link objectPath}. */
  path: string;
  query?: Record<string, string>;
  /** Headers to send and sign (names are lowercased). */
  headers?: Record<string, string>;
  /** x-amz-content-sha256: a hex hash, `UNSIGNED-PAYLOAD`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, … Default: hash of `body`. */
  payloadHash?: string;
  body?: Buffer;
  accessKey: string;
  secretKey: string;
  now?: Date;
  region?: string;
}

/** Returns the full header set to send, including host, x-amz-date, x-amz-content-sha256 and authorization. */
export function signHeaders(input: SignInput): Record<string, string> {
  const now = input.now ?? new Date();
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const region = input.region ?? REGION;
  const host = new URL(input.url).host;
  const payloadHash = input.payloadHash ?? sha256hex(input.body ?? Buffer.alloc(0));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['host'] = host;
  headers['x-amz-date'] = date;
  headers['x-amz-content-sha256'] = payloadHash;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    input.method,
    input.path,
    canonicalQuery(input.query ?? {}),
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256hex(canonicalRequest)].join('\n');
  const kDate = hmac('AWS4' + input.secretKey, day);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, 's3');
  const kSigning = hmac(kService, 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${input.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/**
 * A presigned URL (query-string auth, UNSIGNED-PAYLOAD, only `host` signed). `expires` goes into X-Amz-Expires as
 * given, even when out of range, so that the server's checks can be tested.
 * See https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
export function presign(input: {
  method: string;
  url: string;
  path: string;
  expires: number | string;
  accessKey: string;
  secretKey: string;
  now?: Date;
  region?: string;
  query?: Record<string, string>;
}): string {
  const date = amzDate(input.now ?? new Date());
  const day = date.slice(0, 8);
  const region = input.region ?? REGION;
  const host = new URL(input.url).host;
  const scope = `${day}/${region}/s3/aws4_request`;
  const query: Record<string, string> = {
    ...input.query,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${input.accessKey}/${scope}`,
    'X-Amz-Date': date,
    'X-Amz-Expires': String(input.expires),
    'X-Amz-SignedHeaders': 'host',
  };
  const canonicalRequest = [
    input.method,
    input.path,
    canonicalQuery(query),
    `host:${host}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256hex(canonicalRequest)].join('\n');
  const kSigning = hmac(hmac(hmac(hmac('AWS4' + input.secretKey, day), region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  return `${input.url}${input.path}?${canonicalQuery({ ...query, 'X-Amz-Signature': signature })}`;
}

/** A finished HTTP exchange. */
export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
}

/** Options of {@link httpSend}. */
export interface SendOptions {
  method: string;
  url: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Whole body (Content-Length is set from it unless given). */
  body?: Buffer;
  /**
   * Send these bytes and then destroy the request socket's write side without finishing (a cut upload).
   * Content-Length (or x-amz-decoded-content-length) in `headers` still announces the full size.
   */
  truncatedBody?: Buffer;
  /**
   * Send these bytes and keep the request open without finishing it (a client still uploading): the exchange ends
   * only when the server answers or the connection drops. Content-Length in `headers` announces the full size.
   */
  heldBody?: Buffer;
  timeoutMs?: number;
}

/** Sends one request with node:http (no keep-alive) and collects the response. */
export function httpSend(opts: SendOptions): Promise<HttpResult> {
  const q = opts.query && Object.keys(opts.query).length ? '?' + canonicalQuery(opts.query) : '';
  const u = new URL(opts.url);
  const headers: Record<string, string> = { ...opts.headers };
  const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (opts.body && !has('content-length') && !has('transfer-encoding')) {
    headers['content-length'] = String(opts.body.length);
  }
  return new Promise((res, rej) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, method: opts.method, path: opts.path + q, headers, agent: false },
      (resp) => {
        const chunks: Buffer[] = [];
        resp.on('data', (c: Buffer) => chunks.push(c));
        resp.on('error', rej);
        resp.on('end', () => {
          const body = Buffer.concat(chunks);
          res({ status: resp.statusCode!, headers: resp.headers, body, text: body.toString('utf8') });
        });
      },
    );
    req.setTimeout(opts.timeoutMs ?? 20_000, () => req.destroy(new Error('request timed out')));
    req.on('error', rej);
    if (opts.truncatedBody) {
      // Write what we have, then half-close: the server sees EOF before the announced length.
      req.write(opts.truncatedBody, () => {
        req.socket?.end();
      });
    } else if (opts.heldBody) {
      req.write(opts.heldBody);
    } else {
      req.end(opts.body);
    }
  });
}

/** Signs and sends a request in one go (payload hash of `body` unless `payloadHash` is given). */
export function signedSend(
  server: { url: string; accessKey: string; secretKey: string },
  opts: Omit<SendOptions, 'url'> & { payloadHash?: string; signBody?: Buffer },
): Promise<HttpResult> {
  const headers = signHeaders({
    method: opts.method,
    url: server.url,
    path: opts.path,
    query: opts.query,
    headers: opts.headers,
    payloadHash: opts.payloadHash,
    body: opts.signBody ?? opts.body,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
  });
  return httpSend({ ...opts, url: server.url, headers });
}

/** The fields of an S3 `<Error>` document (first occurrence of each element). */
export function parseErrorXml(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const m = /<Error>([\s\S]*)<\/Error>/.exec(text);
  if (!m) return out;
  for (const e of m[1]!.matchAll(/<([A-Za-z0-9-]+)>([\s\S]*?)<\/\1>/g)) {
    out[e[1]!] ??= unescapeXml(e[2]!);
  }
  for (const e of m[1]!.matchAll(/<([A-Za-z0-9-]+)\s*\/>/g)) out[e[1]!] ??= '';
  return out;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&amp;/g, '&');
}

/**
 * Asserts an S3 error response: the status, the Code, a RequestId equal to the x-amz-request-id header, and a Message.
 * Returns the parsed error fields.
 */
export function assertS3Error(r: HttpResult, status: number, code: string): Record<string, string> {
  const ctx = `response ${r.status}: ${r.text.slice(0, 600)}`;
  assert.equal(r.status, status, ctx);
  const e = parseErrorXml(r.text);
  assert.equal(e['Code'], code, ctx);
  assert.ok(e['Message'] && e['Message'].length > 0, `error has a Message: ${ctx}`);
  assert.ok(e['RequestId'] && e['RequestId'].length > 0, `error has a RequestId: ${ctx}`);
  assert.equal(r.headers['x-amz-request-id'], e['RequestId'], `x-amz-request-id equals RequestId: ${ctx}`);
  assert.match(String(r.headers['content-type']), /xml/, `error Content-Type is XML: ${ctx}`);
  return e;
}
