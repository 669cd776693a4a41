import { createHash, createHmac } from 'node:crypto';

import type { Headers } from './types.ts';

/** SHA-256 of the empty string, hex. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** The only algorithm this package speaks. */
export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** The signing service. */
export const SERVICE = 's3';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"). */
export function deriveSigningKey(secretAccessKey: string, date: string, region: string, service = SERVICE): Buffer {
  const kDate = hmac(`AWS4${secretAccessKey}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

const HEX = '0123456789ABCDEF';

function isUnreserved(b: number): boolean {
  return (
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    (b >= 0x30 && b <= 0x39) ||
    b === 0x2d ||
    b === 0x2e ||
    b === 0x5f ||
    b === 0x7e
  );
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decode `%XX` escapes (leniently: a stray `%` stays a literal `%`) and re-encode with the RFC 3986 unreserved set,
 * uppercase hex. Applied to what is on the wire, this makes the canonical form independent of how a client chose to
 * escape (s3cmd and botocore differ on e.g. `!*'()`), which is what S3 does in effect: it signs the decoded key
 * encoded once (never double-encoded, never normalised). `keepSlash` keeps literal `/` (for the path).
 */
export function canonicalEncode(raw: string, keepSlash: boolean): string {
  const bytes = Buffer.from(raw, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length) {
      const h = hexVal(bytes[i + 1]!);
      const l = hexVal(bytes[i + 2]!);
      if (h >= 0 && l >= 0) {
        b = (h << 4) | l; // an escaped '/' is re-escaped below, so it stays distinct from a literal '/'
        i += 2;
        out += encodeByte(b);
        continue;
      }
    }
    out += keepSlash && b === 0x2f ? '/' : encodeByte(b);
  }
  return out;
}

function encodeByte(b: number): string {
  return isUnreserved(b) ? String.fromCharCode(b) : '%' + HEX[b >> 4] + HEX[b & 15];
}

/** RFC 3986 encoding of a plain (unencoded) string, as SigV4 requires; for building URLs on the client side. */
export function uriEncode(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) out += encodeByte(b);
  return out;
}

/** Canonical URI: the raw path, each byte re-encoded once; `/` when empty. S3 does not normalise `//` or `.`. */
export function canonicalUri(rawPath: string): string {
  return rawPath === '' ? '/' : canonicalEncode(rawPath, true);
}

/** Raw query → `[rawKey, rawValue]` pairs in wire order; a parameter without `=` has value `''`. */
export function splitQuery(rawQuery: string): [string, string][] {
  const out: [string, string][] = [];
  if (rawQuery === '') return out;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    out.push(eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

/** Decode a query component (`%XX` only; `+` stays `+`) to a string, leniently. */
export function decodeQueryComponent(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Canonical query string: every parameter encoded once, sorted by key then value; `omit` names a raw key to drop. */
export function canonicalQuery(rawQuery: string, omit?: string): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of splitQuery(rawQuery)) {
    if (omit !== undefined && decodeQueryComponent(k) === omit) continue;
    pairs.push([canonicalEncode(k, false), canonicalEncode(v, false)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** A header's value as one string: repeated values joined by ','. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/** Canonical header value: trimmed, inner runs of whitespace collapsed to one space; repeated values joined by ','. */
export function canonicalHeaderValue(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  const list = Array.isArray(v) ? v : [v];
  return list.map((s) => s.trim().replace(/\s+/g, ' ')).join(',');
}

/** `name:value\n` for each signed header, in the order given. */
export function canonicalHeaders(headers: Headers, signedHeaders: readonly string[]): string {
  let out = '';
  for (const name of signedHeaders) out += `${name}:${canonicalHeaderValue(headers[name])}\n`;
  return out;
}

/** The SigV4 canonical request. */
export function canonicalRequest(
  method: string,
  uri: string,
  query: string,
  headers: string,
  signedHeaders: string,
  payloadHash: string,
): string {
  return `${method}\n${uri}\n${query}\n${headers}\n${signedHeaders}\n${payloadHash}`;
}

/**
 * The bytes a canonical request stands for. Node decodes header values as latin1 (one char per byte) and sends
 * header strings the same way, and every other part of a canonical request is ASCII, so each char is one byte on the
 * wire: a header value with bytes above 0x7F (raw UTF-8 in `x-amz-meta-*`, as botocore sends it) is signed over the
 * bytes the client sent, as S3 does, not over their UTF-8 re-encoding.
 */
export function canonicalBytes(canonical: string): Buffer {
  return Buffer.from(canonical, 'latin1');
}

/**
 * The SigV4 string to sign of a canonical request, hashed over {@link canonicalBytes}; with `asUtf8`, over the UTF-8
 * encoding of its chars instead (how the JS SDK v3 hashes a header value that holds bytes above 0x7F).
 */
export function stringToSign(amzDate: string, scope: string, canonical: string, asUtf8 = false): string {
  const hash = sha256Hex(asUtf8 ? Buffer.from(canonical, 'utf8') : canonicalBytes(canonical));
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${hash}`;
}

/** Hex HMAC-SHA256 of a string to sign. */
export function sign(signingKey: Buffer, toSign: string): string {
  return hmac(signingKey, toSign).toString('hex');
}

/** `20261127T070141Z` → epoch ms, or NaN. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  // reject 20261399T… style dates that Date.UTC would roll over
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return NaN;
  return t;
}

/** epoch ms → `20261127T070141Z`. */
export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** epoch ms → `2026-11-27T07:01:41Z` (AWS's form in error details). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Space-separated hex bytes, as AWS's `StringToSignBytes`/`CanonicalRequestBytes` (see {@link canonicalBytes}). */
export function hexBytes(s: string): string {
  return Array.from(canonicalBytes(s), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
