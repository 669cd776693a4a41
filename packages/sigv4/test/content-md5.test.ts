import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';

import { checkContentMd5, parseContentMd5 } from '../src/index.ts';
import { assertSigV4Error } from './helpers.ts';

const md5 = createHash('md5').update('hello').digest();
const b64 = md5.toString('base64'); // XUFAKrxLKna5cZ2REBfFkg==

describe('parseContentMd5', () => {
  it('should return undefined when the header is absent', () => assert.equal(parseContentMd5(undefined), undefined));
  it('should decode base64 of 16 bytes', () => assert.deepEqual(parseContentMd5(b64), md5));
  it('should reject anything else with SIGV4_INVALID_DIGEST', async () => {
    for (const v of ['', 'abc', md5.toString('hex'), Buffer.alloc(15).toString('base64'), `${b64}x`]) {
      const err = await assertSigV4Error(
        () => parseContentMd5(v),
        'SIGV4_INVALID_DIGEST',
        'The Content-MD5 you specified was invalid.',
      );
      assert.deepEqual(err.details, { 'Content-MD5': v });
    }
  });
});

describe('checkContentMd5', () => {
  it('should accept a matching MD5 and an absent header', () => {
    checkContentMd5(b64, md5);
    checkContentMd5(undefined, md5);
  });
  it('should reject a mismatch with SIGV4_BAD_DIGEST, ExpectedDigest hex and CalculatedDigest base64', async () => {
    const other = createHash('md5').update('hellp').digest();
    const err = await assertSigV4Error(
      () => checkContentMd5(b64, other),
      'SIGV4_BAD_DIGEST',
      'The Content-MD5 you specified did not match what we received.',
    );
    assert.deepEqual(err.details, { ExpectedDigest: md5.toString('hex'), CalculatedDigest: other.toString('base64') });
  });
  it('should reject a malformed header with SIGV4_INVALID_DIGEST', async () => {
    await assertSigV4Error(() => checkContentMd5('nope', md5), 'SIGV4_INVALID_DIGEST');
  });
});
