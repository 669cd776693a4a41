/**
 * HTTP-level pieces the object handlers share: reading object metadata from request headers and writing it back,
 * conditional requests, Range, and the request body (auth-decoded, as a stream).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import type { ObjectMetadata, ObjectRecord } from '@coffer/blob-store';
import { unquoteEtag } from '@coffer/checksum';
import { createBodyDecoder, type BodyDecoder, type BodyDecoderOptions } from '@coffer/sigv4';
import { S3Error } from './errors.ts';
import type { AppState } from './context.ts';

/** S3's limits. @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html */
export const LIMITS = Object.freeze({
  maxKeyBytes: 1024,
  maxUserMetadataBytes: 2048,
  maxPutSize: 5 * 1024 ** 3,
});

/** A header's single value (the first, when repeated). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * What Node lets through as a response header value (its `checkInvalidHeaderChar`): tab, visible ASCII and
 * U+0080..U+00FF. CR, LF, NUL, other controls, DEL and anything above U+00FF make
 * `ctx.set` throw `ERR_INVALID_CHAR`, so input that will be echoed in a header is checked against this first.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-5.5
 */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** An HTTP token (RFC 9110 §5.6.2): what a header name may be made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** True when `value` can be sent as a response header value as it is. */
export function isHeaderValue(value: string): boolean {
  return HEADER_VALUE.test(value);
}

/**
 * `InvalidArgument` naming `name`, for a value that is to be echoed in a response header but cannot be (S3 gives
 * no documented message for this case; the code and ArgumentName are what clients branch on). The value itself is
 * left out: it may hold characters an XML document cannot carry either.
 */
export function invalidHeaderArgument(name: string): S3Error {
  return new S3Error('InvalidArgument', {
    message: `Header value contains characters that are not allowed: ${name}`,
    extra: { ArgumentName: name },
  });
}

/** Checks an object key against S3's length limit (1024 bytes of UTF-8). */
export function checkKey(key: string): void {
  const size = Buffer.byteLength(key, 'utf8');
  if (size > LIMITS.maxKeyBytes) {
    throw new S3Error('KeyTooLongError', { extra: { Size: size, MaxSizeAllowed: LIMITS.maxKeyBytes } });
  }
}

const CONTENT_HEADERS = [
  ['contentType', 'content-type'],
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['contentLanguage', 'content-language'],
  ['cacheControl', 'cache-control'],
  ['expires', 'expires'],
] as const;

/**
 * A Content-Encoding without `aws-chunked`, which is a transfer detail, not the object's; the other codings stay
 * exactly as sent (`deflate, gzip` keeps its space). Undefined when nothing is left.
 */
function storedContentEncoding(value: string): string | undefined {
  const rest = value
    .split(',')
    .filter((s) => s.trim().toLowerCase() !== 'aws-chunked')
    .join(',')
    .trim();
  return rest === '' ? undefined : rest;
}

/**
 * Reads the object metadata a PUT, copy (REPLACE) or CreateMultipartUpload carries. User metadata values are kept
 * as the bytes sent (UTF-8 in, the same bytes out: Node's latin1 strings hold one byte per char).
 */
export function readMetadata(headers: IncomingHttpHeaders): ObjectMetadata {
  const meta: ObjectMetadata = { userMeta: {} };
  for (const [field, name] of CONTENT_HEADERS) {
    const v = header(headers, name);
    if (v === undefined) continue;
    if (!isHeaderValue(v)) throw invalidHeaderArgument(name);
    meta[field] = v;
  }
  if (meta.contentEncoding !== undefined) {
    const rest = storedContentEncoding(meta.contentEncoding);
    if (rest === undefined) delete meta.contentEncoding;
    else meta.contentEncoding = rest;
  }
  meta.contentType ??= 'binary/octet-stream';
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    const short = name.slice('x-amz-meta-'.length);
    // A PUT's headers passed Node's parser already; a POST form's fields did not, and are sent back on every GET.
    if (!TOKEN.test(name) || !isHeaderValue(v)) throw invalidHeaderArgument(name);
    meta.userMeta[short] = v;
    size += Buffer.byteLength(short, 'latin1') + Buffer.byteLength(v, 'latin1');
  }
  if (size > LIMITS.maxUserMetadataBytes) {
    throw new S3Error('MetadataTooLarge', { extra: { Size: size, MaxSizeAllowed: LIMITS.maxUserMetadataBytes } });
  }
  return meta;
}

/** Copies the metadata fields out of a stored record (CopyObject with the COPY directive). */
export function metadataOf(rec: ObjectRecord): ObjectMetadata {
  const meta: ObjectMetadata = { userMeta: { ...rec.userMeta } };
  for (const [field] of CONTENT_HEADERS) if (rec[field] !== undefined) meta[field] = rec[field];
  return meta;
}

/** Quoted ETag as S3 sends it. */
export const quoted = (etag: string): string => `"${etag}"`;

/** The path-style URL of an object on this server (the `Location` of CompleteMultipartUpload and POST uploads). */
export function objectUrl(ctx: Context, bucket: string, key: string): string {
  return `${ctx.protocol}://${ctx.host}/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Sets the object's stored headers on a GET/HEAD response (Content-Type, user metadata, ETag, …). */
export function setObjectHeaders(ctx: Context, rec: ObjectRecord): void {
  for (const [field, name] of CONTENT_HEADERS) {
    const v = rec[field];
    if (v !== undefined) ctx.set(name, v);
  }
  for (const [name, value] of Object.entries(rec.userMeta)) ctx.set(`x-amz-meta-${name}`, value);
  const tagCount = Object.keys(rec.tags ?? {}).length;
  if (tagCount > 0) ctx.set('x-amz-tagging-count', String(tagCount));
  ctx.set('ETag', quoted(rec.etag));
  ctx.set('Last-Modified', new Date(rec.lastModified).toUTCString());
  ctx.set('Accept-Ranges', 'bytes');
  setEncryptionHeaders(ctx, rec);
}

/** `x-amz-server-side-encryption: AES256` for SSE-S3 objects, the SSE-C algorithm and key MD5 otherwise (S3-ENCRYPTION.md Part A). */
export function setEncryptionHeaders(ctx: Context, rec: Pick<ObjectRecord, 'enc'>): void {
  if (rec.enc.scheme === 'SSE-C') {
    ctx.set('x-amz-server-side-encryption-customer-algorithm', 'AES256');
    if (rec.enc.keyMD5) ctx.set('x-amz-server-side-encryption-customer-key-MD5', rec.enc.keyMD5);
  } else {
    ctx.set('x-amz-server-side-encryption', 'AES256');
  }
}

/** The conditional headers of a read, or (with the `x-amz-copy-source-` prefix) of a copy source. */
interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

function readConditions(headers: IncomingHttpHeaders, prefix: '' | 'x-amz-copy-source-'): Conditions {
  return {
    ifMatch: header(headers, `${prefix}if-match`),
    ifNoneMatch: header(headers, `${prefix}if-none-match`),
    ifModifiedSince: header(headers, `${prefix}if-modified-since`),
    ifUnmodifiedSince: header(headers, `${prefix}if-unmodified-since`),
  };
}

/** True when a header ETag list (`"a", "b"`, `*`) matches the object's ETag. */
function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === '*' || unquoteEtag(v) === etag;
  });
}

/** Seconds resolution, as HTTP dates have. An unparseable date is ignored, as S3 does. */
function parseHttpDate(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/**
 * Evaluates conditional headers in the order AWS resolves them (S3-ERRORS.md §4): returns 'ok', 'not-modified'
 * (304 for GET/HEAD) or throws PreconditionFailed. A copy source never answers 304: its "not modified" is a 412.
 */
export function evaluateConditions(
  headers: IncomingHttpHeaders,
  rec: ObjectRecord,
  kind: 'read' | 'copy',
): 'ok' | 'not-modified' {
  const c = readConditions(headers, kind === 'copy' ? 'x-amz-copy-source-' : '');
  const lastModified = Math.floor(Date.parse(rec.lastModified) / 1000);
  const ims = parseHttpDate(c.ifModifiedSince);
  const ius = parseHttpDate(c.ifUnmodifiedSince);
  const match = c.ifMatch === undefined ? undefined : etagMatches(c.ifMatch, rec.etag);
  const noneMatch = c.ifNoneMatch === undefined ? undefined : !etagMatches(c.ifNoneMatch, rec.etag);
  const modifiedSince = ims === undefined ? undefined : lastModified > ims;
  const unmodifiedSince = ius === undefined ? undefined : lastModified <= ius;
  const prefix = kind === 'copy' ? 'x-amz-copy-source-' : '';
  const fail = (condition: string): never => {
    throw new S3Error('PreconditionFailed', { extra: { Condition: `${prefix}${condition}` } });
  };
  const notModified = (condition: string): 'not-modified' => (kind === 'copy' ? fail(condition) : 'not-modified');

  if (match === false) fail(kind === 'copy' ? 'If-Match' : 'If-Match');
  if (match === undefined && unmodifiedSince === false) fail('If-Unmodified-Since');
  if (noneMatch === false) return notModified('If-None-Match');
  if (noneMatch === undefined && modifiedSince === false) return notModified('If-Modified-Since');
  return 'ok';
}

/** An inclusive byte range within an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a Range header against an object size (RFC 9110 §14.1.2, one range only). A syntactically invalid or
 * multi-range header is ignored (whole object), as S3 does; a first byte at or past the end is `InvalidRange`.
 */
export function parseRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const invalid = () =>
    new S3Error('InvalidRange', {
      extra: { RangeRequested: value, ActualObjectSize: size },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) throw invalid();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && end < start) return undefined;
  if (start >= size) throw invalid();
  return { start, end: Math.min(end, size - 1) };
}

/**
 * The request body as a stream of decoded payload bytes: aws-chunked framing removed, and the payload hash, chunk
 * signatures and any `x-amz-checksum-*` verified as it flows (a mismatch fails the stream, so nothing is committed).
 * Requires a length, as S3 does (`MissingContentLength`).
 */
export function requestBody(ctx: Context, opts: BodyDecoderOptions = {}): BodyDecoder {
  const state = ctx.state as AppState;
  const headers = ctx.req.headers;
  if (headers['content-length'] === undefined && headers['x-amz-decoded-content-length'] === undefined) {
    throw new S3Error('MissingContentLength');
  }
  const decoder = createBodyDecoder(state.auth!, headers, opts);
  const req = ctx.req;
  // Not pipeline(): a failure downstream must not destroy the request, or the socket goes with it and the
  // client never sees the S3 error. The rest of the body is drained instead.
  const onClose = () => {
    if (!req.complete) decoder.destroy(new S3Error('IncompleteBody'));
  };
  req.on('error', (err) => decoder.destroy(err));
  req.on('close', onClose);
  decoder.on('error', () => {
    req.unpipe(decoder);
    req.resume();
  });
  req.pipe(decoder);
  return decoder;
}

/** Declared size of the payload, when the client said it. */
export function declaredSize(headers: IncomingHttpHeaders): number | undefined {
  const v = header(headers, 'x-amz-decoded-content-length') ?? header(headers, 'content-length');
  return v === undefined ? undefined : Number(v);
}
