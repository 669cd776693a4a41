import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseReserve } from '../src/space.ts';

describe('parseReserve', () => {
  const ok: [string, object][] = [
    ['0', { bytes: 0 }],
    ['1073741824', { bytes: 1073741824 }],
    ['512MiB', { bytes: 512 * 1024 * 1024 }],
    ['1GiB', { bytes: 1024 ** 3 }],
    ['2G', { bytes: 2 * 1024 ** 3 }],
    ['500MB', { bytes: 500e6 }],
    ['1.5 GiB', { bytes: 1.5 * 1024 ** 3 }],
    ['64k', { bytes: 65536 }],
    ['5%', { percent: 5 }],
    ['100%', { percent: 100 }],
  ];
  for (const [value, want] of ok) {
    it(`should read ${JSON.stringify(value)}`, () => assert.deepEqual(parseReserve(value), want));
  }
  for (const value of ['', '-1', '1 PB', '101%', 'lots', '1e3', 'MiB', '99999999999999999999']) {
    it(`should refuse ${JSON.stringify(value)} with a RangeError that names the forms`, () => {
      const message = /512MiB or 1GiB, or a percentage such as 5%/;
      assert.throws(() => parseReserve(value), { name: 'RangeError', message });
    });
  }
});
