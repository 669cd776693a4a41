import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  CryptoError,
  parseServerSideEncryption,
  parseSseCustomerHeaders,
  sseCustomerConflict,
  type HeadersLike,
} from '../src/index.ts';

const key = randomBytes(32);
const keyB64 = key.toString('base64');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const P = 'x-amz-server-side-encryption-customer-';
const CP = 'x-amz-copy-source-server-side-encryption-customer-';
const good: HeadersLike = { [P + 'algorithm']: 'AES256', [P + 'key']: keyB64, [P + 'key-md5']: md5(key) };

/** Asserts a CryptoError with the code, the exact AWS message and details, and no key material anywhere. */
function expectError(fn: () => unknown, code: string, message: string, details: Record<string, string>) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CryptoError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    assert.deepEqual(e.details, details);
    const text = JSON.stringify({ m: e.message, d: e.details, s: e.stack });
    assert.ok(!text.includes(keyB64) && !text.includes(key.toString('hex')), 'no key in the error');
    return true;
  });
}
const NULL_ARG = { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: 'null' };

describe('parseSseCustomerHeaders', () => {
  it('should return undefined when no SSE-C header is present', () => {
    assert.equal(parseSseCustomerHeaders({ 'content-type': 'text/plain' }), undefined);
    assert.equal(parseSseCustomerHeaders(good, { copySource: true }), undefined);
  });

  it('should return the key and its MD5 for a valid set', () => {
    const r = parseSseCustomerHeaders(good);
    assert.ok(r);
    assert.ok(r.key.equals(key));
    assert.equal(r.keyMD5, md5(key));
  });

  it('should read header names case-insensitively (e.g. query parameters or key-MD5)', () => {
    const r = parseSseCustomerHeaders({
      'X-Amz-Server-Side-Encryption-Customer-Algorithm': 'AES256',
      [P + 'key']: keyB64,
      [P + 'key-MD5']: md5(key),
    });
    assert.ok(r);
    assert.ok(r.key.equals(key));
  });

  it('should read the copy-source set when copySource is true', () => {
    const h = { [CP + 'algorithm']: 'AES256', [CP + 'key']: keyB64, [CP + 'key-md5']: md5(key) };
    assert.equal(parseSseCustomerHeaders(h), undefined);
    assert.ok(parseSseCustomerHeaders(h, { copySource: true })!.key.equals(key));
  });

  // Part B 2.2, row by row (row 0, TLS, is the server's; rows 7-13 need the object and are the server's).
  it('should reject SSE-C with x-amz-server-side-encryption (row 1) with CRYPTO_SSEC_INCOMPATIBLE', () => {
    expectError(
      () => parseSseCustomerHeaders({ ...good, 'x-amz-server-side-encryption': 'AES256' }),
      'CRYPTO_SSEC_INCOMPATIBLE',
      'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
      { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: 'AES256' },
    );
  });

  it('should allow copy-source SSE-C next to x-amz-server-side-encryption for the destination (row 1)', () => {
    const h = {
      [CP + 'algorithm']: 'AES256',
      [CP + 'key']: keyB64,
      [CP + 'key-md5']: md5(key),
      'x-amz-server-side-encryption': 'AES256',
    };
    assert.ok(parseSseCustomerHeaders(h, { copySource: true }));
  });

  it('should reject a key or MD5 without an algorithm (row 2) with CRYPTO_SSEC_MISSING_ALGORITHM', () => {
    const msg =
      'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.';
    expectError(
      () => parseSseCustomerHeaders({ [P + 'key']: keyB64, [P + 'key-md5']: md5(key) }),
      'CRYPTO_SSEC_MISSING_ALGORITHM',
      msg,
      NULL_ARG,
    );
    expectError(
      () => parseSseCustomerHeaders({ [P + 'key-md5']: md5(key) }),
      'CRYPTO_SSEC_MISSING_ALGORITHM',
      msg,
      NULL_ARG,
    );
    expectError(
      () => parseSseCustomerHeaders({ ...good, [P + 'algorithm']: '' }),
      'CRYPTO_SSEC_MISSING_ALGORITHM',
      msg,
      NULL_ARG,
    );
  });

  it('should reject an algorithm other than AES256 (row 2) with CRYPTO_SSEC_INVALID_ALGORITHM', () => {
    for (const alg of ['AES128', 'aes256', 'aws:kms']) {
      expectError(
        () => parseSseCustomerHeaders({ ...good, [P + 'algorithm']: alg }),
        'CRYPTO_SSEC_INVALID_ALGORITHM',
        'The Encryption request you specified is not valid. Supported value: AES256.',
        { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: alg },
      );
    }
    expectError(
      () => parseSseCustomerHeaders({ [CP + 'algorithm']: 'DES' }, { copySource: true }),
      'CRYPTO_SSEC_INVALID_ALGORITHM',
      'The Encryption request you specified is not valid. Supported value: AES256.',
      { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: 'DES' },
    );
  });

  it('should reject an algorithm without a key, or an empty key (row 3), with CRYPTO_SSEC_MISSING_KEY', () => {
    const msg =
      'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.';
    expectError(
      () => parseSseCustomerHeaders({ [P + 'algorithm']: 'AES256' }),
      'CRYPTO_SSEC_MISSING_KEY',
      msg,
      NULL_ARG,
    );
    expectError(() => parseSseCustomerHeaders({ ...good, [P + 'key']: '' }), 'CRYPTO_SSEC_MISSING_KEY', msg, NULL_ARG);
  });

  it('should reject a missing MD5 when required (row 4) with CRYPTO_SSEC_KEY_MD5_MISMATCH', () => {
    const h = { [P + 'algorithm']: 'AES256', [P + 'key']: keyB64 };
    expectError(
      () => parseSseCustomerHeaders(h),
      'CRYPTO_SSEC_KEY_MD5_MISMATCH',
      'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.',
      NULL_ARG,
    );
  });

  it('should accept a missing MD5 when not required (row 4, GET/HEAD) and compute it', () => {
    const r = parseSseCustomerHeaders({ [P + 'algorithm']: 'AES256', [P + 'key']: keyB64 }, { requireKeyMd5: false });
    assert.ok(r);
    assert.ok(r.key.equals(key));
    assert.equal(r.keyMD5, md5(key));
  });

  it('should reject a key that is not base64 of 32 bytes (row 5) with CRYPTO_SSEC_INVALID_KEY', () => {
    const msg = 'The secret key was invalid for the specified algorithm.';
    for (const bad of [randomBytes(10), randomBytes(24), randomBytes(33)]) {
      // with a matching MD5, the length is what fails
      const h = { ...good, [P + 'key']: bad.toString('base64'), [P + 'key-md5']: md5(bad) };
      expectError(() => parseSseCustomerHeaders(h), 'CRYPTO_SSEC_INVALID_KEY', msg, NULL_ARG);
    }
    const notB64 = { [P + 'algorithm']: 'AES256', [P + 'key']: '####' };
    expectError(
      () => parseSseCustomerHeaders(notB64, { requireKeyMd5: false }),
      'CRYPTO_SSEC_INVALID_KEY',
      msg,
      NULL_ARG,
    );
    const unpadded = { [P + 'algorithm']: 'AES256', [P + 'key']: keyB64.replace(/=+$/, '') };
    expectError(
      () => parseSseCustomerHeaders(unpadded, { requireKeyMd5: false }),
      'CRYPTO_SSEC_INVALID_KEY',
      msg,
      NULL_ARG,
    );
  });

  it('should reject an MD5 that does not match or is malformed (row 6) with CRYPTO_SSEC_KEY_MD5_MISMATCH', () => {
    const msg = 'The calculated MD5 hash of the key did not match the hash that was provided.';
    expectError(
      () => parseSseCustomerHeaders({ ...good, [P + 'key-md5']: md5(randomBytes(32)) }),
      'CRYPTO_SSEC_KEY_MD5_MISMATCH',
      msg,
      NULL_ARG,
    );
    expectError(
      () => parseSseCustomerHeaders({ ...good, [P + 'key-md5']: 'not base64!' }),
      'CRYPTO_SSEC_KEY_MD5_MISMATCH',
      msg,
      NULL_ARG,
    );
    expectError(
      () => parseSseCustomerHeaders({ ...good, [P + 'key-md5']: key.toString('hex') }),
      'CRYPTO_SSEC_KEY_MD5_MISMATCH',
      msg,
      NULL_ARG,
    );
    // a wrong MD5 is reported before a bad key length, as AWS does (24-byte key captures)
    const short = randomBytes(24).toString('base64');
    expectError(
      () => parseSseCustomerHeaders({ ...good, [P + 'key']: short }),
      'CRYPTO_SSEC_KEY_MD5_MISMATCH',
      msg,
      NULL_ARG,
    );
    // also when the MD5 is optional but sent
    expectError(
      () => parseSseCustomerHeaders({ ...good, [P + 'key-md5']: md5(randomBytes(32)) }, { requireKeyMd5: false }),
      'CRYPTO_SSEC_KEY_MD5_MISMATCH',
      msg,
      NULL_ARG,
    );
  });

  it('should check options', () => {
    assert.throws(() => parseSseCustomerHeaders(good, { copySource: 'yes' as never }), /opts\.copySource/);
    assert.throws(() => parseSseCustomerHeaders(null as never), TypeError);
  });
});

describe('sseCustomerConflict', () => {
  it('should throw CRYPTO_SSEC_INCOMPATIBLE when SSE-C and SSE headers are both present', () => {
    expectError(
      () => sseCustomerConflict({ [P + 'algorithm']: 'AES256', 'x-amz-server-side-encryption': 'aws:kms' }),
      'CRYPTO_SSEC_INCOMPATIBLE',
      'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
      { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: 'aws:kms' },
    );
  });
  it('should accept either alone, and copy-source SSE-C with SSE', () => {
    sseCustomerConflict(good);
    sseCustomerConflict({ 'x-amz-server-side-encryption': 'AES256' });
    sseCustomerConflict({ [CP + 'algorithm']: 'AES256', 'x-amz-server-side-encryption': 'AES256' });
  });
});

describe('parseServerSideEncryption', () => {
  it('should return undefined for no value and AES256 for AES256', () => {
    assert.equal(parseServerSideEncryption(undefined), undefined);
    assert.equal(parseServerSideEncryption('AES256'), 'AES256');
  });
  it('should reject aws:kms and aws:kms:dsse with CRYPTO_KMS_NOT_IMPLEMENTED', () => {
    for (const v of ['aws:kms', 'aws:kms:dsse']) {
      expectError(
        () => parseServerSideEncryption(v),
        'CRYPTO_KMS_NOT_IMPLEMENTED',
        'A header you provided implies functionality that is not implemented',
        { Header: 'x-amz-server-side-encryption' },
      );
    }
  });
  it('should reject any other value with CRYPTO_INVALID_SSE', () => {
    for (const v of ['aes256', 'true', '', 'AES512', 'aws:fsx']) {
      expectError(
        () => parseServerSideEncryption(v),
        'CRYPTO_INVALID_SSE',
        'The encryption method specified is not supported',
        {
          ArgumentName: 'x-amz-server-side-encryption',
          ArgumentValue: v,
        },
      );
    }
  });
});
