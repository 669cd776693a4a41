/** Assertions and small utilities shared by the end-to-end tests. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Readable } from 'node:stream';

/** An error thrown by @aws-sdk/client-s3 (the parts the tests look at). */
export interface SdkError extends Error {
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { statusCode?: number; headers?: Record<string, string> };
}

/**
 * Awaits `p`, which must reject with an SDK error of HTTP `status` and, when given, S3 error `code`
 * (the SDK puts the `<Code>` in `name`; for HEAD, which has no body, only the status can be checked).
 */
export async function rejectsS3(p: Promise<unknown>, status: number, code?: string): Promise<SdkError> {
  let err: SdkError;
  try {
    const v = await p;
    assert.fail(
      `expected ${status} ${code ?? ''} but the request succeeded: ${JSON.stringify(v, replacer).slice(0, 400)}`,
    );
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    err = e as SdkError;
  }
  const got = `${err.$metadata?.httpStatusCode} ${err.name}: ${err.message}`;
  assert.equal(err.$metadata?.httpStatusCode, status, `status (got ${got})`);
  if (code !== undefined) assert.equal(err.name, code, `S3 error code (got ${got})`);
  return err;
}

function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'object' && v !== null && 'pipe' in v ? '[stream]' : v;
}

/** Hex MD5. */
export function md5hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Base64 MD5 (Content-MD5). */
export function md5b64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

/** Base64 of the big-endian CRC32 (the x-amz-checksum-crc32 form). */
export function crc32b64(data: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data) >>> 0);
  return b.toString('base64');
}

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so failures are reproducible. */
export function patternBytes(size: number, seed = 'coffer'): Buffer {
  const out = Buffer.alloc(size);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    off += block.copy(out, off);
  }
  return out;
}

/** A Readable that yields `data` in pieces of `piece` bytes from an async generator (unknown-length stream body). */
export function generatorStream(data: Buffer, piece = 10_000): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += piece) {
      await new Promise((r) => setImmediate(r));
      yield data.subarray(i, i + piece);
    }
  }
  return Readable.from(gen());
}

/** Reads an SDK body (GetObject Body) to a Buffer. */
export async function bodyBytes(body: unknown): Promise<Buffer> {
  assert.ok(body, 'response has a body');
  const b = body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

/** Reads a web ReadableStream or fetch Response body to a Buffer. */
export async function fetchBytes(r: Response): Promise<Buffer> {
  return Buffer.from(await r.arrayBuffer());
}

/** Decodes an `encoding-type=url` value the way botocore does (unquote_plus). */
export function urlDecodePlus(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/**
 * Decodes a metadata value as a client sees it: raw UTF-8 bytes arrive as a latin1 string; RFC 2047
 * `=?UTF-8?B?…?=` / `=?UTF-8?Q?…?=` (what AWS returns for non-ASCII values) is decoded too.
 */
export function decodeMetaValue(v: string): string {
  const m = /^=\?utf-8\?([bq])\?(.*)\?=$/i.exec(v);
  if (m) {
    if (m[1]!.toLowerCase() === 'b') return Buffer.from(m[2]!, 'base64').toString('utf8');
    const bytes = m[2]!
      .replace(/_/g, ' ')
      .replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return Buffer.from(v, 'latin1').toString('utf8');
}

/** A UTF-8 string as the latin1 JS string whose char codes are its bytes (how raw UTF-8 goes into a Node header). */
export function utf8AsLatin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** Sleeps. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
