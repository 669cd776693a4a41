import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { OFF_THREAD_HASH_DEFAULTS, type OffThreadHash, createOffThreadHash } from '../src/index.ts';

const md5 = (b: Uint8Array): Buffer => createHash('md5').update(b).digest();

/** Feeds `data` in pieces of `piece` bytes, waiting whenever the window is full; returns the digest. */
async function feed(h: OffThreadHash, data: Buffer, piece: number): Promise<Buffer> {
  for (let off = 0; off < data.length; off += piece) {
    if (!h.update(data.subarray(off, off + piece))) await h.drained();
  }
  return h.digest();
}

describe('createOffThreadHash', () => {
  it('should have frozen defaults', () => {
    assert.ok(Object.isFrozen(OFF_THREAD_HASH_DEFAULTS));
    assert.deepEqual(
      { ...OFF_THREAD_HASH_DEFAULTS },
      { inlineBelow: 1024 * 1024, batchBytes: 512 * 1024, maxInFlightBatches: 2 },
    );
  });

  it('should check its options, naming the option', () => {
    assert.throws(() => createOffThreadHash('md5', { batchBytes: 0 }), {
      name: 'RangeError',
      message: /opts\.batchBytes/,
    });
    assert.throws(() => createOffThreadHash('md5', { maxInFlightBatches: 0.5 }), {
      name: 'RangeError',
      message: /opts\.maxInFlightBatches/,
    });
    assert.throws(() => createOffThreadHash('md5', { inlineBelow: -1 }), {
      name: 'RangeError',
      message: /opts\.inlineBelow/,
    });
  });
});

describe('OffThreadHash', () => {
  it('should equal createHash for bodies below, at and above inlineBelow, in any piece size', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 123);
    for (const size of [0, 1, 4096, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024 + 7, data.length]) {
      for (const piece of [65536, 1000, 3 * 1024 * 1024]) {
        const got = await feed(createOffThreadHash('md5'), data.subarray(0, size), piece);
        assert.ok(got.equals(md5(data.subarray(0, size))), `size ${size} piece ${piece}`);
      }
    }
  });

  it('should hash on the worker with small batches and a window of one, keeping order', async () => {
    const data = randomBytes(300_001);
    const h = createOffThreadHash('md5', { inlineBelow: 0, batchBytes: 4096, maxInFlightBatches: 1 });
    let waits = 0;
    for (let off = 0; off < data.length; off += 10_000) {
      if (!h.update(data.subarray(off, off + 10_000))) {
        waits++;
        await h.drained();
      }
    }
    assert.ok(waits > 0, 'a full window must ask the caller to wait');
    assert.ok((await h.digest()).equals(md5(data)));
  });

  it('should copy what it is fed, so the caller may reuse its buffer at once', async () => {
    const buf = Buffer.alloc(256 * 1024);
    const whole: Buffer[] = [];
    const h = createOffThreadHash('md5', { inlineBelow: 0, batchBytes: 100_000 });
    for (let i = 0; i < 12; i++) {
      buf.fill(i);
      whole.push(Buffer.from(buf));
      if (!h.update(buf)) await h.drained();
    }
    buf.fill(0xff);
    assert.ok((await h.digest()).equals(md5(Buffer.concat(whole))));
  });

  it('should run many hashes at once on the one worker', async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(1024 * 1024 + i * 77_777));
    const got = await Promise.all(
      bodies.map((b) => feed(createOffThreadHash('md5', { batchBytes: 65536 }), b, 50_000)),
    );
    for (const [i, d] of got.entries()) assert.ok(d.equals(md5(bodies[i]!)), `body ${i}`);
  });

  it('should support other algorithms of node:crypto', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const got = await feed(createOffThreadHash('sha256', { inlineBelow: 0 }), data, 65536);
    assert.ok(got.equals(createHash('sha256').update(data).digest()));
  });

  it('should refuse update() and a second digest() after digest(), and allow destroy() at any time', async () => {
    const h = createOffThreadHash('md5', { inlineBelow: 0 });
    h.update(Buffer.from('abc'));
    const d = h.digest();
    h.destroy(); // a digest on its way is not cancelled
    assert.ok((await d).equals(md5(Buffer.from('abc'))));
    assert.throws(() => h.update(Buffer.from('x')), /after digest/);
    await assert.rejects(h.digest(), /twice/);
    const abandoned = createOffThreadHash('md5', { inlineBelow: 0 });
    abandoned.update(randomBytes(100_000));
    abandoned.destroy();
    abandoned.destroy();
  });

  it('should not keep the process alive once no hash is in flight', async () => {
    // node:test would time out here if the worker stayed ref()'d; finishing this file is the assertion.
    const h = createOffThreadHash('md5', { inlineBelow: 0 });
    h.update(randomBytes(10));
    await h.digest();
  });
});
