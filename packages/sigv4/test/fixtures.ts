/** Test helper: loads the captured client requests of shared/fixtures/client-requests. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Headers, SignableRequest } from '../src/index.ts';

export const FIXTURE_DIR = '/work/shared/fixtures/client-requests';
export const ACCESS_KEY = 'AKIAEXAMPLEKEY000001';
export const SECRET_KEY = 'secretEXAMPLEsecretEXAMPLEsecret0001';

export interface Fixture {
  name: string;
  method: string;
  path: string;
  query: string;
  /** Headers in wire order, original case. */
  rawHeaders: [string, string][];
  /** Lowercased, like node's IncomingMessage.headers. */
  headers: Headers;
  amzDate: string;
  wireLength: number;
  md5: string;
  frames?: number[];
  trailers?: string[];
  decodedLength: number;
  body2k?: Buffer;
}

function parseList(line: string): string[] {
  return JSON.parse(line.slice(line.indexOf('[')));
}

export function loadFixture(name: string): Fixture {
  const text = readFileSync(join(FIXTURE_DIR, `${name}.txt`), 'latin1');
  // the captured head keeps the wire's CRLF line ends
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  let i = 0;
  let wireLength = -1;
  let md5 = '';
  let frames: number[] | undefined;
  let trailers: string[] | undefined;
  let decoded: number | undefined;
  for (; lines[i] !== '# ---- raw request head ----'; i++) {
    const l = lines[i]!;
    const m = /^# body bytes on wire: (\d+); md5\(decoded payload\)=([0-9a-f]{32})/.exec(l);
    if (m) {
      wireLength = Number(m[1]);
      md5 = m[2]!;
    }
    if (l.startsWith('aws-chunked frames:')) frames = parseList(l).map(Number);
    if (l.startsWith('trailers:')) trailers = parseList(l);
    if (l.startsWith('decoded payload bytes:')) decoded = Number(l.split(':')[1]);
  }
  i++;
  const [method, target] = lines[i++]!.split(' ') as [string, string];
  const q = target.indexOf('?');
  const rawHeaders: [string, string][] = [];
  for (; lines[i] !== ''; i++) {
    const l = lines[i]!;
    const c = l.indexOf(':');
    if (c <= 0) throw new Error(`${name}: bad header line ${JSON.stringify(l)}`);
    rawHeaders.push([l.slice(0, c), l.slice(c + 1).replace(/^[ \t]+/, '')]);
  }
  const headers = toHeaders(rawHeaders);
  const binPath = join(FIXTURE_DIR, `${name}.body2k.bin`);
  return {
    name,
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: q < 0 ? '' : target.slice(q + 1),
    rawHeaders,
    headers,
    amzDate: String(headers['x-amz-date']),
    wireLength,
    md5,
    frames,
    trailers,
    decodedLength: decoded ?? wireLength,
    body2k: existsSync(binPath) ? readFileSync(binPath) : undefined,
  };
}

/** Node-style header object: lowercase names, repeated headers as arrays. */
export function toHeaders(raw: [string, string][]): Headers {
  const h: Headers = {};
  for (const [k, v] of raw) {
    const name = k.toLowerCase();
    const prev = h[name];
    h[name] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return h;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function toRequest(f: Fixture): SignableRequest {
  return { method: f.method, path: f.path, query: f.query, headers: f.headers };
}

/** epoch ms of an X-Amz-Date. */
export function amzDateMs(s: string): number {
  return Date.parse(
    `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`,
  );
}

const LINE_PATTERN = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_\n');

/** The 8400-byte text file the clients uploaded: 300 lines `line NNNNN hello s3 capture\n`. */
function textFile(): Buffer {
  let s = '';
  for (let n = 0; n < 300; n++) s += `line ${String(n).padStart(5, '0')} hello s3 capture\n`;
  return Buffer.from(s);
}

/** `length` bytes of the 20 MiB file (65-byte lines repeated), starting at pattern phase `phase`. */
function patternFile(phase: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const period = LINE_PATTERN.length;
  for (let o = 0; o < length; o++) out[o] = LINE_PATTERN[(phase + o) % period]!;
  return out;
}

/**
 * The decoded payload of a fixture: kept whole when it fits the 2 KiB capture, otherwise rebuilt from the files
 * the clients uploaded and checked against the MD5 in the capture notes. undefined if it cannot be rebuilt.
 */
export function decodedPayload(f: Fixture): Buffer | undefined {
  if (f.decodedLength === 0) return Buffer.alloc(0);
  if (!f.body2k) return undefined;
  let payload: Buffer | undefined;
  if (!f.frames && f.wireLength <= 2048) payload = f.body2k;
  else {
    const prefix = f.frames ? f.body2k.subarray(f.body2k.indexOf('\r\n') + 2) : f.body2k;
    const text = textFile();
    if (prefix.subarray(0, 64).equals(text.subarray(0, 64)) && f.decodedLength === text.length) payload = text;
    else {
      const doubled = Buffer.concat([LINE_PATTERN, LINE_PATTERN]);
      const phase = doubled.indexOf(prefix.subarray(0, LINE_PATTERN.length));
      if (phase >= 0) payload = patternFile(phase, f.decodedLength);
    }
  }
  if (!payload || createHash('md5').update(payload).digest('hex') !== f.md5) return undefined;
  return payload;
}

/** The body as on the wire: the payload itself, or re-framed as the capture's aws-chunked frames and trailers. */
export function wireBody(f: Fixture, payload: Buffer): Buffer {
  if (!f.frames) return payload;
  const parts: Buffer[] = [];
  let off = 0;
  for (const size of f.frames) {
    parts.push(Buffer.from(`${size.toString(16)}\r\n`));
    if (size > 0) {
      parts.push(payload.subarray(off, off + size), Buffer.from('\r\n'));
      off += size;
    }
  }
  for (const t of f.trailers ?? []) parts.push(Buffer.from(`${t}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}
