import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CHECKSUM_ALGORITHMS, createChecksum, type ChecksumAlgorithm } from '../src/index.ts';

/** The check value of each algorithm: its digest of the nine ASCII bytes `123456789` (CRC catalogue, FIPS 180-4). */
const CHECK_VALUES: Record<ChecksumAlgorithm, string> = {
  CRC32: 'cbf43926',
  CRC32C: 'e3069283',
  CRC64NVME: 'ae8b14860a799888',
  SHA1: 'f7c3bc1d808e04732adf679965ccc34ca7ae3441',
  SHA256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
};

describe('createChecksum', () => {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    it(`should give the ${algorithm} check value of "123456789", fed in one piece or byte by byte`, async () => {
      const whole = createChecksum(algorithm);
      whole.update(Buffer.from('123456789'));
      assert.equal((await whole.digest()).toString('hex'), CHECK_VALUES[algorithm]);
      const pieces = createChecksum(algorithm);
      for (const byte of Buffer.from('123456789')) pieces.update(Buffer.of(byte));
      assert.equal((await pieces.digest()).toString('hex'), CHECK_VALUES[algorithm]);
    });
  }
});
