import assert from 'node:assert/strict';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { CryptoError, createEncryptStream } from '../src/index.ts';

/** Runs `input` (split into pieces of `pieceSize`) through `t` and returns the output. */
export async function run(t: Transform, input: Buffer, pieceSize = input.length || 1): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += pieceSize) pieces.push(input.subarray(i, i + pieceSize));
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    t,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

/** Encrypts `plain` into chunk-file bytes. */
export function encrypt(key: Buffer, plain: Buffer, chunkSize?: number, pieceSize?: number): Promise<Buffer> {
  return run(createEncryptStream(key, chunkSize === undefined ? {} : { chunkSize }), plain, pieceSize);
}

/** Deterministic pseudo-random bytes (fast, reproducible failures). */
export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** assert.rejects predicate: the error is a CryptoError CRYPTO_AUTH_FAILED. */
export function isAuthFailed(err: unknown): boolean {
  assert.ok(err instanceof CryptoError, `expected CryptoError, got ${String(err)}`);
  assert.equal(err.code, 'CRYPTO_AUTH_FAILED');
  return true;
}

/** Feeds `input` to `t` in one piece; asserts it fails with CRYPTO_AUTH_FAILED and returns what it emitted first. */
export async function outputBeforeAuthFailure(t: Transform, input: Buffer): Promise<Buffer> {
  const got: Buffer[] = [];
  t.on('data', (d: Buffer) => got.push(d));
  await assert.rejects(
    new Promise((resolve, reject) => {
      t.on('error', reject);
      t.on('end', resolve);
      t.end(input);
    }),
    isAuthFailed,
  );
  return Buffer.concat(got);
}
