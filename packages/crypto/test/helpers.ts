import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { createEncryptStream } from '../src/index.ts';

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
