import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  CHUNK_SIZE,
  TAG_LENGTH,
  chunkSpan,
  createDecryptStream,
  createEncryptStream,
  encryptChunk,
  encryptedSize,
} from '../src/index.ts';
import { bytes, encrypt, isAuthFailed, outputBeforeAuthFailure, run } from './helpers.ts';

const C = CHUNK_SIZE;
const SIZES = [0, 1, C - 1, C, C + 1, 3 * C, 3 * C + 7];
const key = randomBytes(32);

describe('createEncryptStream', () => {
  for (const n of SIZES) {
    it(`should write encryptedSize(${n}) bytes that are the concatenation of its chunks`, async () => {
      const plain = bytes(n, n + 1);
      const enc = await encrypt(key, plain);
      assert.equal(enc.length, encryptedSize(n));
      const count = Math.max(1, Math.ceil(n / C));
      const expected = [];
      for (let i = 0; i < count; i++)
        expected.push(encryptChunk(key, i, i === count - 1, plain.subarray(i * C, (i + 1) * C)));
      assert.ok(enc.equals(Buffer.concat(expected)));
    });
  }
  it('should produce the same bytes whatever the input piece sizes', async () => {
    const plain = bytes(3 * C + 7);
    const whole = await encrypt(key, plain);
    for (const piece of [1, 7, 4096, C - 1, C, C + 1, 2 * C + 3]) {
      const enc = await encrypt(key, plain, undefined, piece);
      assert.ok(enc.equals(whole), `piece size ${piece}`);
    }
  });
  it('should write an empty stream as one empty final chunk (a lone tag)', async () => {
    const enc = await encrypt(key, Buffer.alloc(0));
    assert.equal(enc.length, TAG_LENGTH);
    assert.ok(enc.equals(encryptChunk(key, 0, true, Buffer.alloc(0))));
  });
  it('should honour a small chunk size', async () => {
    const enc = await encrypt(key, bytes(10), 4);
    assert.equal(enc.length, encryptedSize(10, 4));
  });
  it('should reject a key that is not 32 bytes and a bad chunk size', () => {
    assert.throws(() => createEncryptStream(randomBytes(16)), RangeError);
    assert.throws(() => createEncryptStream(key, { chunkSize: 0 }), /opts\.chunkSize/);
    assert.throws(() => createEncryptStream(key, { chunkSize: 1.5 }), /opts\.chunkSize/);
  });
  it('should not be affected by the caller wiping its key afterwards', async () => {
    const k = randomBytes(32);
    const copy = Buffer.from(k);
    const t = createEncryptStream(k);
    k.fill(0);
    const enc = await run(t, bytes(100));
    assert.ok((await run(createDecryptStream(copy, { plainSize: 100 }), enc)).equals(bytes(100)));
  });
});

describe('createDecryptStream', () => {
  for (const n of SIZES) {
    it(`should round-trip ${n} bytes`, async () => {
      const plain = bytes(n, n + 3);
      const enc = await encrypt(key, plain);
      for (const piece of [enc.length || 1, 1000, C + 16, C + 17]) {
        const out = await run(createDecryptStream(key, { plainSize: n }), enc, piece);
        assert.ok(out.equals(plain), `piece size ${piece}`);
      }
    });
  }

  it('should decrypt arbitrary [start, end] windows to the matching slice', async () => {
    const n = 3 * C + 7;
    const plain = bytes(n, 42);
    const enc = await encrypt(key, plain);
    const windows: [number, number][] = [
      [0, 0],
      [0, n - 1],
      [n - 1, n - 1],
      [C - 1, C],
      [C, 2 * C - 1],
      [5, 3 * C + 2],
      [3 * C, n - 1],
      [2 * C + 100, 3 * C + 3],
    ];
    for (let i = 0; i < 40; i++) {
      const a = Math.floor(Math.random() * n);
      const b = a + Math.floor(Math.random() * (n - a));
      windows.push([a, b]);
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
        }),
        enc.subarray(s.encStart, s.encEnd),
        4099,
      );
      assert.ok(out.equals(plain.subarray(start, end + 1)), `window [${start}, ${end}]`);
    }
  });

  it('should decrypt an empty object through chunkSpan(0, -1, 0)', async () => {
    const enc = await encrypt(key, Buffer.alloc(0));
    const s = chunkSpan(0, -1, 0);
    const out = await run(createDecryptStream(key, { plainSize: 0, ...s }), enc.subarray(s.encStart, s.encEnd));
    assert.equal(out.length, 0);
  });

  it('should ignore input past lastChunk when lastChunk is not the final chunk', async () => {
    const plain = bytes(3 * C, 5);
    const enc = await encrypt(key, plain);
    const out = await run(createDecryptStream(key, { plainSize: 3 * C, lastChunk: 0 }), enc);
    assert.ok(out.equals(plain.subarray(0, C)));
  });

  it('should fail with CRYPTO_AUTH_FAILED for one flipped byte anywhere', async () => {
    const n = 2 * C + 7;
    const enc = await encrypt(key, bytes(n, 9));
    const positions = [0, 1, C - 1, C, C + 15, C + 16, C + 17, 2 * (C + 16), enc.length - 17, enc.length - 1];
    for (let i = 0; i < 10; i++) positions.push(Math.floor(Math.random() * enc.length));
    for (const p of positions) {
      const bad = Buffer.from(enc);
      bad[p]! ^= 0x01;
      await assert.rejects(run(createDecryptStream(key, { plainSize: n }), bad), isAuthFailed, `byte ${p}`);
    }
  });

  it('should never emit plaintext of a chunk that fails authentication', async () => {
    const n = 2 * C;
    const plain = bytes(n, 11);
    const enc = await encrypt(key, plain);
    enc[C + 16 + 5]! ^= 0xff; // corrupt chunk 1
    const out = await outputBeforeAuthFailure(createDecryptStream(key, { plainSize: n }), enc);
    assert.ok(out.equals(plain.subarray(0, C)), 'only chunk 0 is emitted');
  });

  it('should fail with CRYPTO_AUTH_FAILED when the input is truncated', async () => {
    const n = 3 * C + 7;
    const enc = await encrypt(key, bytes(n));
    for (const cut of [0, 1, C + 16, C + 15, enc.length - 1, enc.length - 16]) {
      await assert.rejects(
        run(createDecryptStream(key, { plainSize: n }), enc.subarray(0, cut)),
        isAuthFailed,
        `cut ${cut}`,
      );
    }
  });

  it('should fail when whole trailing chunks are dropped', async () => {
    // Dropping the final chunk and claiming the shorter size: the last kept chunk is not final.
    const enc = await encrypt(key, bytes(3 * C));
    await assert.rejects(
      run(createDecryptStream(key, { plainSize: 2 * C }), enc.subarray(0, 2 * (C + 16))),
      isAuthFailed,
    );
  });

  it('should fail when data follows the final chunk', async () => {
    const enc = await encrypt(key, bytes(C + 5));
    await assert.rejects(
      run(createDecryptStream(key, { plainSize: C + 5 }), Buffer.concat([enc, Buffer.alloc(1)])),
      isAuthFailed,
    );
  });

  it('should fail when plainSize claims more data than was written', async () => {
    const enc = await encrypt(key, bytes(2 * C));
    await assert.rejects(run(createDecryptStream(key, { plainSize: 2 * C + 1 }), enc), isAuthFailed);
  });

  it('should fail when chunks are swapped', async () => {
    const n = 3 * C;
    const enc = await encrypt(key, bytes(n));
    const s = C + 16;
    const swapped = Buffer.concat([enc.subarray(s, 2 * s), enc.subarray(0, s), enc.subarray(2 * s)]);
    await assert.rejects(run(createDecryptStream(key, { plainSize: n }), swapped), isAuthFailed);
  });

  it('should fail when a chunk comes from another key', async () => {
    const n = 2 * C;
    const enc = await encrypt(key, bytes(n));
    const other = await encrypt(randomBytes(32), bytes(n));
    const mixed = Buffer.concat([enc.subarray(0, C + 16), other.subarray(C + 16)]);
    await assert.rejects(run(createDecryptStream(key, { plainSize: n }), mixed), isAuthFailed);
  });

  it('should fail for a wrong key altogether', async () => {
    const enc = await encrypt(key, bytes(10));
    await assert.rejects(run(createDecryptStream(randomBytes(32), { plainSize: 10 }), enc), isAuthFailed);
  });

  it('should fail for an empty object whose tag is altered', async () => {
    const enc = await encrypt(key, Buffer.alloc(0));
    enc[0]! ^= 1;
    await assert.rejects(run(createDecryptStream(key, { plainSize: 0 }), enc), isAuthFailed);
  });

  it('should reject inconsistent options', () => {
    assert.throws(() => createDecryptStream(key, {} as never), /opts\.plainSize/);
    assert.throws(() => createDecryptStream(key, { plainSize: 10, firstChunk: 1 }), RangeError);
    assert.throws(() => createDecryptStream(key, { plainSize: 3 * C, firstChunk: 2, lastChunk: 1 }), RangeError);
    assert.throws(() => createDecryptStream(key, { plainSize: 10, skip: 11 }), /opts\.skip/);
    assert.throws(() => createDecryptStream(key, { plainSize: 10, skip: 5, length: 6 }), /opts\.skip \+ opts\.length/);
    assert.throws(() => createDecryptStream(randomBytes(31), { plainSize: 10 }), RangeError);
  });
});
