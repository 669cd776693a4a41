/** Test helpers shared by the sigv4 test files. */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { SigV4Error, type BodyDecoder, type SigV4ErrorCode } from '../src/index.ts';
import { SECRET_KEY } from './fixtures.ts';

/** Asserts `fn` rejects/throws a SigV4Error with `code` (and message), and that no secret leaks into it. */
export async function assertSigV4Error(
  fn: () => unknown,
  code: SigV4ErrorCode,
  message?: string,
  secret = SECRET_KEY,
): Promise<SigV4Error> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SigV4Error, `expected SigV4Error ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message !== undefined) assert.equal(caught.message, message);
  const dump = JSON.stringify({ m: caught.message, d: caught.details });
  assert.ok(!dump.includes(secret), 'secret key leaked into the error');
  return caught;
}

/** Pipes `pieces` through the decoder; resolves with the decoded bytes. */
export async function runDecoder(decoder: BodyDecoder, pieces: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    decoder,
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

/** Splits a buffer into pieces of `size` bytes. */
export function* split(buf: Buffer, size: number): Generator<Buffer> {
  for (let o = 0; o < buf.length; o += size) yield buf.subarray(o, o + size);
}

/** Splits a buffer at pseudo-random points (deterministic). */
export function* randomSplit(buf: Buffer, seed = 7): Generator<Buffer> {
  let s = seed;
  let o = 0;
  while (o < buf.length) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (s % 3000);
    yield buf.subarray(o, o + n);
    o += n;
  }
}

/** Changes one character to a different one of the same kind (digit, hex letter, letter). */
export function mutateChar(c: string): string {
  if (/[0-9]/.test(c)) return String((Number(c) + 1) % 10);
  if (/[a-f]/.test(c)) return c === 'f' ? 'a' : String.fromCharCode(c.charCodeAt(0) + 1);
  if (/[A-F]/.test(c)) return c === 'F' ? 'A' : String.fromCharCode(c.charCodeAt(0) + 1);
  if (/[a-z]/.test(c)) return c === 'z' ? 'a' : String.fromCharCode(c.charCodeAt(0) + 1);
  if (/[A-Z]/.test(c)) return c === 'Z' ? 'A' : String.fromCharCode(c.charCodeAt(0) + 1);
  return c === 'x' ? 'y' : 'x';
}

export function mutateAt(s: string, index: number): string {
  return s.slice(0, index) + mutateChar(s[index]!) + s.slice(index + 1);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmacHex = (k: Buffer, s: string) => createHmac('sha256', k).update(s).digest('hex');
const EMPTY = sha256('');

/** An independent encoder for STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) bodies (AWS sigv4-streaming docs). */
export function encodeSignedChunks(p: {
  payload: Buffer;
  sizes: number[];
  seed: string;
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  trailer?: [string, string];
}): Buffer {
  const parts: Buffer[] = [];
  let prev = p.seed;
  let off = 0;
  for (const size of [...p.sizes, 0]) {
    const data = p.payload.subarray(off, off + size);
    off += size;
    const sig = hmacHex(
      p.signingKey,
      `AWS4-HMAC-SHA256-PAYLOAD\n${p.amzDate}\n${p.scope}\n${prev}\n${EMPTY}\n${sha256(data)}`,
    );
    prev = sig;
    parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`), data);
    if (size > 0) parts.push(Buffer.from('\r\n'));
  }
  if (p.trailer) {
    const line = `${p.trailer[0]}:${p.trailer[1]}`;
    const tsig = hmacHex(
      p.signingKey,
      `AWS4-HMAC-SHA256-TRAILER\n${p.amzDate}\n${p.scope}\n${prev}\n${sha256(line + '\n')}`,
    );
    parts.push(Buffer.from(`${line}\r\nx-amz-trailer-signature:${tsig}\r\n\r\n`));
  } else {
    parts.push(Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** An aws-chunked body without signatures (STREAMING-UNSIGNED-PAYLOAD-TRAILER). */
export function encodeUnsignedChunks(payload: Buffer, sizes: number[], trailer?: [string, string]): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  for (const size of sizes) {
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), payload.subarray(off, off + size), Buffer.from('\r\n'));
    off += size;
  }
  parts.push(Buffer.from('0\r\n'));
  if (trailer) parts.push(Buffer.from(`${trailer[0]}:${trailer[1]}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}
