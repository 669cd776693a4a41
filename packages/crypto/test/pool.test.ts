import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';

import {
  CHUNK_SIZE,
  CRYPTO_POOL_DEFAULTS,
  CryptoPool,
  chunkSpan,
  createDecryptStream,
  createEncryptStream,
  encryptedSize,
} from '../src/index.ts';
import { bytes, encrypt, isAuthFailed, outputBeforeAuthFailure, run } from './helpers.ts';

const C = CHUNK_SIZE;
// The sizes of streams.test.ts, and some that span several batches of the small-batch pool.
const SIZES = [0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 7, 8 * C, 17 * C + 5];
const key = randomBytes(32);

let small: CryptoPool; // 2 chunks per batch, 2 batches in flight, nothing inline: exercises every path
let mixed: CryptoPool; // the first 3 chunks inline, then batches of 2: the hand-over at small sizes
let defaults: CryptoPool;

before(async () => {
  [small, mixed, defaults] = await Promise.all([
    CryptoPool.open({ threads: 2, batchBytes: 2 * C, maxInFlightBatches: 2, inlineBelow: 0 }),
    CryptoPool.open({ threads: 1, batchBytes: 2 * C, inlineBelow: 2 * C + 1 }),
    CryptoPool.open({ threads: 1 }),
  ]);
});
after(async () => {
  await Promise.all([small.close(), mixed.close(), defaults.close()]);
});

describe('CryptoPool.open', () => {
  it('should apply the frozen defaults', () => {
    assert.ok(Object.isFrozen(CRYPTO_POOL_DEFAULTS));
    assert.equal(defaults.threads, 1);
    assert.equal(defaults.batchBytes, CRYPTO_POOL_DEFAULTS.batchBytes);
    assert.equal(defaults.maxInFlightBatches, CRYPTO_POOL_DEFAULTS.maxInFlightBatches);
    assert.equal(defaults.inlineBelow, CRYPTO_POOL_DEFAULTS.inlineBelow);
    assert.equal(defaults.batchChunks(C), CRYPTO_POOL_DEFAULTS.batchBytes / C);
  });
  it('should reject bad options, naming them', async () => {
    await assert.rejects(
      CryptoPool.open({ threads: 0 }),
      (e: unknown) => e instanceof RangeError && /options\.threads/.test(e.message),
    );
    await assert.rejects(
      CryptoPool.open({ threads: 1.5 }),
      (e: unknown) => e instanceof TypeError && /options\.threads/.test(e.message),
    );
    await assert.rejects(CryptoPool.open({ maxInFlightBatches: 0 }), /options\.maxInFlightBatches/);
    await assert.rejects(CryptoPool.open({ batchBytes: 0 }), /options\.batchBytes/);
    await assert.rejects(CryptoPool.open({ inlineBelow: -1 }), /options\.inlineBelow/);
    await assert.rejects(CryptoPool.open(null as never), TypeError);
  });
  it('should refuse a pool option that is not a CryptoPool', () => {
    assert.throws(() => createEncryptStream(key, { pool: {} as never }), /opts\.pool/);
    assert.throws(() => createDecryptStream(key, { plainSize: 1, pool: {} as never }), /opts\.pool/);
  });
});

describe('createEncryptStream with a pool', () => {
  for (const n of SIZES) {
    it(`should write the same bytes as inline for ${n} bytes`, async () => {
      const plain = bytes(n, n + 1);
      const inline = await encrypt(key, plain);
      for (const pool of [small, mixed, defaults]) {
        for (const piece of [n || 1, 4096, C + 1]) {
          const enc = await run(createEncryptStream(key, { pool }), plain, piece);
          assert.equal(enc.length, encryptedSize(n));
          assert.ok(
            enc.equals(inline),
            `pool batch ${pool.batchBytes}, inline below ${pool.inlineBelow}, piece ${piece}`,
          );
        }
      }
    });
  }
  it('should honour a chunk size that does not divide the batch', async () => {
    const plain = bytes(100_003, 7);
    const inline = await encrypt(key, plain, 3000);
    const enc = await run(createEncryptStream(key, { chunkSize: 3000, pool: small }), plain, 777);
    assert.ok(enc.equals(inline));
  });
  it('should keep chunk order with many streams at once', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => bytes(5 * C + i * 1000, i + 1));
    const keys = inputs.map(() => randomBytes(32));
    const expected = await Promise.all(inputs.map((p, i) => encrypt(keys[i]!, p)));
    const got = await Promise.all(inputs.map((p, i) => run(createEncryptStream(keys[i]!, { pool: small }), p, 5000)));
    for (const [i, g] of got.entries()) assert.ok(g.equals(expected[i]!), `stream ${i}`);
  });
  it('should keep at most maxInFlightBatches batches of a stream in the pool when the reader is slow', async () => {
    small.resetPeak();
    const plain = bytes(24 * C, 3);
    let seen = 0;
    let maxSeen = 0;
    await pipeline(
      Readable.from([plain]),
      createEncryptStream(key, { pool: small }),
      new Writable({
        highWaterMark: 1,
        async write(chunk: Buffer, _e, cb) {
          seen += chunk.length;
          maxSeen = Math.max(maxSeen, small.inFlight);
          await sleep(5);
          cb();
        },
      }),
    );
    assert.equal(seen, encryptedSize(24 * C));
    assert.ok(small.peakInFlight <= small.maxInFlightBatches, `peak ${small.peakInFlight}`);
    assert.ok(small.peakInFlight >= 1);
    assert.ok(maxSeen <= small.maxInFlightBatches);
  });
  it('should encrypt a small body inline even with a pool', async () => {
    defaults.resetPeak();
    const plain = bytes(defaults.inlineBelow - 1, 2);
    const enc = await run(createEncryptStream(key, { pool: defaults }), plain);
    assert.ok(enc.equals(await encrypt(key, plain)));
    assert.equal(defaults.peakInFlight, 0, 'no task was submitted');
  });
});

describe('createDecryptStream with a pool', () => {
  for (const n of SIZES) {
    it(`should round-trip ${n} bytes`, async () => {
      const plain = bytes(n, n + 3);
      const enc = await encrypt(key, plain);
      for (const pool of [small, defaults]) {
        for (const piece of [enc.length || 1, 1000, C + 16, C + 17]) {
          const out = await run(createDecryptStream(key, { plainSize: n, pool }), enc, piece);
          assert.ok(out.equals(plain), `batch ${pool.batchBytes}, piece ${piece}`);
        }
      }
    });
  }
  it('should decrypt [start, end] windows to the matching slice', async () => {
    const n = 11 * C + 7;
    const plain = bytes(n, 42);
    const enc = await encrypt(key, plain);
    const windows: [number, number][] = [
      [0, 0],
      [0, n - 1],
      [n - 1, n - 1],
      [C - 1, C],
      [5, 9 * C + 2],
      [2 * C + 100, 7 * C + 3],
    ];
    for (let i = 0; i < 20; i++) {
      const a = Math.floor(Math.random() * n);
      windows.push([a, a + Math.floor(Math.random() * (n - a))]);
    }
    for (const [start, end] of windows) {
      const s = chunkSpan(start, end, n);
      const out = await run(
        createDecryptStream(key, {
          plainSize: n,
          firstChunk: s.firstChunk,
          lastChunk: s.lastChunk,
          skip: s.skip,
          length: end - start + 1,
          pool: small,
        }),
        enc.subarray(s.encStart, s.encEnd),
        4099,
      );
      assert.ok(out.equals(plain.subarray(start, end + 1)), `window [${start}, ${end}]`);
    }
  });
  it('should ignore input past lastChunk when lastChunk is not the final chunk', async () => {
    const plain = bytes(6 * C, 5);
    const enc = await encrypt(key, plain);
    const out = await run(createDecryptStream(key, { plainSize: 6 * C, lastChunk: 2, pool: small }), enc);
    assert.ok(out.equals(plain.subarray(0, 3 * C)));
  });
  it('should fail with CRYPTO_AUTH_FAILED for a tampered chunk, after the verified chunks before it only', async () => {
    const n = 9 * C;
    const plain = bytes(n, 11);
    const enc = await encrypt(key, plain);
    enc[5 * (C + 16) + 5]! ^= 0xff; // corrupt chunk 5, in the third batch of `small`
    const out = await outputBeforeAuthFailure(createDecryptStream(key, { plainSize: n, pool: small }), enc);
    assert.ok(out.length <= 5 * C && out.equals(plain.subarray(0, out.length)), 'nothing of chunk 5 or later');
  });
  it('should fail with CRYPTO_AUTH_FAILED for one flipped byte anywhere', async () => {
    const n = 5 * C + 7;
    const enc = await encrypt(key, bytes(n, 9));
    for (const p of [0, C + 15, 2 * (C + 16), enc.length - 17, enc.length - 1]) {
      const bad = Buffer.from(enc);
      bad[p]! ^= 0x01;
      await assert.rejects(
        run(createDecryptStream(key, { plainSize: n, pool: small }), bad),
        isAuthFailed,
        `byte ${p}`,
      );
    }
  });
  it('should fail when the input is truncated, swapped, extended or of another key', async () => {
    const n = 6 * C;
    const enc = await encrypt(key, bytes(n));
    const s = C + 16;
    await assert.rejects(
      run(createDecryptStream(key, { plainSize: n, pool: small }), enc.subarray(0, enc.length - 1)),
      isAuthFailed,
    );
    await assert.rejects(
      run(createDecryptStream(key, { plainSize: n, pool: small }), enc.subarray(0, 4 * s)),
      isAuthFailed,
    );
    const swapped = Buffer.concat([enc.subarray(s, 2 * s), enc.subarray(0, s), enc.subarray(2 * s)]);
    await assert.rejects(run(createDecryptStream(key, { plainSize: n, pool: small }), swapped), isAuthFailed);
    await assert.rejects(
      run(createDecryptStream(key, { plainSize: n, pool: small }), Buffer.concat([enc, Buffer.alloc(1)])),
      isAuthFailed,
    );
    await assert.rejects(run(createDecryptStream(randomBytes(32), { plainSize: n, pool: small }), enc), isAuthFailed);
  });
});

describe('CryptoPool.close', () => {
  it('should stop the workers, be idempotent, and leave later streams inline', async () => {
    const pool = await CryptoPool.open({ threads: 1, inlineBelow: 0, batchBytes: C });
    const plain = bytes(4 * C, 8);
    const enc = await run(createEncryptStream(key, { pool }), plain);
    assert.ok(pool.peakInFlight >= 1);
    await pool.close();
    await pool.close();
    assert.equal(pool.closed, true);
    await assert.rejects(
      pool.run(
        { op: 'encrypt', key, firstIndex: 0, finalIndex: 0, plainSize: 0, chunkSize: C, lastPlainLength: 0 },
        new ArrayBuffer(16),
        16,
      ),
      /closed/,
    );
    const again = await run(createEncryptStream(key, { pool }), plain);
    assert.ok(again.equals(enc));
    assert.ok((await run(createDecryptStream(key, { plainSize: 4 * C, pool }), enc)).equals(plain));
  });
});
