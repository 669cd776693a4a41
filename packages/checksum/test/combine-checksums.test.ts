import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { combineChecksums, createChecksum, type CombinableAlgorithm } from '../src/index.ts';

async function digest(algorithm: CombinableAlgorithm, data: Buffer): Promise<Buffer> {
  const c = createChecksum(algorithm);
  c.update(data);
  return c.digest();
}

describe('combineChecksums', () => {
  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
    it(`should give the ${algorithm} of A ‖ B from the ${algorithm}s of A and B`, async () => {
      for (const [a, b] of [
        [0, 0],
        [0, 5],
        [5, 0],
        [1, 1],
        [7, 1000],
        [70_000, 3],
        [1000, 131_073],
      ]) {
        const A = randomBytes(a!);
        const B = randomBytes(b!);
        const got = combineChecksums(algorithm, await digest(algorithm, A), await digest(algorithm, B), B.length);
        assert.deepEqual(got, await digest(algorithm, Buffer.concat([A, B])), `${a} + ${b} bytes`);
      }
    });

    it(`should fold the ${algorithm}s of many parts into the ${algorithm} of the whole`, async () => {
      const parts = [5 << 20, 12_345, 1, 300_000].map((n) => randomBytes(n));
      let acc = await digest(algorithm, parts[0]!);
      for (const p of parts.slice(1)) acc = combineChecksums(algorithm, acc, await digest(algorithm, p), p.length);
      assert.deepEqual(acc, await digest(algorithm, Buffer.concat(parts)));
    });
  }

  it('should refuse checksums of the wrong length and a bad length', () => {
    assert.throws(() => combineChecksums('CRC32', Buffer.alloc(8), Buffer.alloc(4), 1), RangeError);
    assert.throws(() => combineChecksums('CRC64NVME', Buffer.alloc(8), Buffer.alloc(8), -1), RangeError);
  });
});
