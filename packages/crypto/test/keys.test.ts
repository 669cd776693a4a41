import assert from 'node:assert/strict';
import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  CryptoError,
  deriveStreamKey,
  generateDataKey,
  hkdfSha256,
  secureRandom,
  ssecEtag,
  unwrapDataKey,
  wrapDataKey,
  type WrappedKey,
} from '../src/index.ts';

const kek = randomBytes(32);
const params = { scheme: 'SSE-S3' as const, kek, kekId: 'mk-20260101-abcd', objectId: 'obj-1', chunkSize: 65536 };
const wrongKey = (e: unknown) => e instanceof CryptoError && e.code === 'CRYPTO_WRONG_KEY';

describe('generateDataKey', () => {
  it('should return 32 fresh random bytes', () => {
    const a = generateDataKey();
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, generateDataKey());
  });
});

describe('hkdfSha256', () => {
  it('should match RFC 5869 test case 1 (first 32 bytes of its OKM)', () => {
    const ikm = Buffer.alloc(22, 0x0b);
    const salt = Buffer.from('000102030405060708090a0b0c', 'hex');
    const info = Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex');
    assert.equal(
      hkdfSha256(ikm, salt, info).toString('hex'),
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf',
    );
  });

  it('should give the bytes of crypto.hkdfSync for random inputs, an empty salt and UTF-8 info', () => {
    for (const [salt, info] of [
      [randomBytes(32), 'S3E1/kek/SSE-S3'],
      [Buffer.alloc(0), 'S3E1/keyring'],
      [randomBytes(16), 'clé/ü'],
    ] as const) {
      const ikm = randomBytes(32);
      assert.deepEqual(hkdfSha256(ikm, salt, info), Buffer.from(hkdfSync('sha256', ikm, salt, info, 32)));
    }
  });
});

describe('secureRandom', () => {
  it('should return fresh buffers of the asked length, distinct across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      // 600 × 16 bytes crosses the 4 KiB pool twice
      const b = secureRandom(16);
      assert.equal(b.length, 16);
      seen.add(b.toString('hex'));
    }
    assert.equal(seen.size, 600);
    assert.equal(secureRandom(0).length, 0);
    assert.equal(secureRandom(5000).length, 5000);
  });

  it('should hand out buffers that later draws do not change', () => {
    const a = secureRandom(32);
    const copy = Buffer.from(a);
    for (let i = 0; i < 300; i++) secureRandom(32);
    assert.deepEqual(a, copy);
    assert.notDeepEqual(a, Buffer.alloc(32));
  });

  it('should refuse a negative or fractional length', () => {
    assert.throws(() => secureRandom(-1), RangeError);
    assert.throws(() => secureRandom(1.5), RangeError);
  });
});

describe('wrapDataKey', () => {
  it('should produce a v1 record with 32-byte salt, 12-byte nonce and 48-byte ct', () => {
    const w = wrapDataKey(generateDataKey(), params);
    assert.equal(w.v, 1);
    assert.equal(w.scheme, 'SSE-S3');
    assert.equal(w.kekId, 'mk-20260101-abcd');
    assert.equal(Buffer.from(w.salt, 'base64').length, 32);
    assert.equal(Buffer.from(w.nonce, 'base64').length, 12);
    assert.equal(Buffer.from(w.ct, 'base64').length, 48);
  });
  it('should follow Part D 4.1 exactly (HKDF KEK, GCM with the S3E1 AAD)', () => {
    const dek = generateDataKey();
    const w = wrapDataKey(dek, { ...params, scheme: 'SSE-C', kekId: 'ssec' });
    const salt = Buffer.from(w.salt, 'base64');
    const k = Buffer.from(hkdfSync('sha256', kek, salt, 'S3E1/kek/SSE-C', 32));
    const c = createCipheriv('aes-256-gcm', k, Buffer.from(w.nonce, 'base64'));
    c.setAAD(Buffer.concat([Buffer.from('S3E1SSE-Cobj-1'), Buffer.from([0, 1, 0, 0])]));
    const ct = Buffer.concat([c.update(dek), c.final(), c.getAuthTag()]);
    assert.equal(w.ct, ct.toString('base64'));
  });
  it('should use a fresh salt and nonce every time', () => {
    const dek = generateDataKey();
    const a = wrapDataKey(dek, params);
    const b = wrapDataKey(dek, params);
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.ct, b.ct);
  });
  it('should reject bad arguments with TypeError/RangeError', () => {
    assert.throws(() => wrapDataKey(randomBytes(16), params), RangeError);
    assert.throws(() => wrapDataKey(generateDataKey(), { ...params, kek: randomBytes(31) }), /kek/);
    assert.throws(() => wrapDataKey(generateDataKey(), { ...params, scheme: 'SSE-KMS' as never }), /scheme/);
    assert.throws(() => wrapDataKey(generateDataKey(), { ...params, objectId: '' }), /objectId/);
    assert.throws(() => wrapDataKey(generateDataKey(), { ...params, chunkSize: 0 }), /chunkSize/);
  });
});

describe('unwrapDataKey', () => {
  const dek = generateDataKey();
  const w = wrapDataKey(dek, params);
  it('should return the data key', () => {
    assert.ok(unwrapDataKey(w, { kek, objectId: 'obj-1', chunkSize: 65536 }).equals(dek));
  });
  it('should fail with CRYPTO_WRONG_KEY for another key', () => {
    assert.throws(() => unwrapDataKey(w, { kek: randomBytes(32), objectId: 'obj-1', chunkSize: 65536 }), wrongKey);
  });
  it('should fail with CRYPTO_WRONG_KEY for another object id or chunk size', () => {
    assert.throws(() => unwrapDataKey(w, { kek, objectId: 'obj-2', chunkSize: 65536 }), wrongKey);
    assert.throws(() => unwrapDataKey(w, { kek, objectId: 'obj-1', chunkSize: 65535 }), wrongKey);
  });
  it('should fail with CRYPTO_WRONG_KEY when the scheme is altered', () => {
    assert.throws(
      () => unwrapDataKey({ ...w, scheme: 'SSE-C' }, { kek, objectId: 'obj-1', chunkSize: 65536 }),
      wrongKey,
    );
  });
  it('should fail with CRYPTO_AUTH_FAILED for a malformed record', () => {
    const bad = (x: Partial<WrappedKey>) => () =>
      unwrapDataKey({ ...w, ...x } as WrappedKey, { kek, objectId: 'obj-1', chunkSize: 65536 });
    const authFailed = (e: unknown) => e instanceof CryptoError && e.code === 'CRYPTO_AUTH_FAILED';
    assert.throws(bad({ ct: 'AAAA' }), authFailed);
    assert.throws(bad({ nonce: '!!' }), authFailed);
    assert.throws(bad({ v: 2 as 1 }), authFailed);
  });
  it('should not reveal the key in the error', () => {
    const other = randomBytes(32);
    try {
      unwrapDataKey(w, { kek: other, objectId: 'obj-1', chunkSize: 65536 });
      assert.fail('expected a throw');
    } catch (e) {
      const text = JSON.stringify({ m: (e as Error).message, d: (e as CryptoError).details });
      assert.ok(!text.includes(other.toString('base64')) && !text.includes(other.toString('hex')));
    }
  });
});

describe('deriveStreamKey', () => {
  it('should be HKDF-SHA256 to 32 bytes', () => {
    const dek = generateDataKey();
    const salt = randomBytes(16);
    const k = deriveStreamKey(dek, salt, 'S3E1/obj');
    assert.equal(k.length, 32);
    assert.ok(k.equals(Buffer.from(hkdfSync('sha256', dek, salt, 'S3E1/obj', 32))));
    assert.notDeepEqual(k, deriveStreamKey(dek, salt, 'S3E1/part/1'));
    assert.notDeepEqual(k, deriveStreamKey(dek, randomBytes(16), 'S3E1/obj'));
  });
});

describe('ssecEtag', () => {
  it('should be hex(HMAC-SHA256(dek, "S3E1/etag" ‖ md5)[:16])', () => {
    const dek = generateDataKey();
    const md5 = randomBytes(16);
    const expected = createHmac('sha256', dek)
      .update(Buffer.concat([Buffer.from('S3E1/etag'), md5]))
      .digest()
      .subarray(0, 16);
    const etag = ssecEtag(dek, md5);
    assert.match(etag, /^[0-9a-f]{32}$/);
    assert.equal(etag, expected.toString('hex'));
    assert.notEqual(etag, md5.toString('hex'));
  });
  it('should bind an object id when given: objects that share a data key get ETags of their own', () => {
    const dek = generateDataKey();
    const md5 = randomBytes(16);
    const mac = createHmac('sha256', dek).update(Buffer.concat([Buffer.from('S3E1/etag'), md5, Buffer.from('/obj-2')]));
    assert.equal(ssecEtag(dek, md5, 'obj-2'), mac.digest().subarray(0, 16).toString('hex'));
    assert.notEqual(ssecEtag(dek, md5, 'obj-2'), ssecEtag(dek, md5, 'obj-3'));
    assert.notEqual(ssecEtag(dek, md5, 'obj-2'), ssecEtag(dek, md5));
  });
  it('should reject an md5 that is not 16 bytes', () => {
    assert.throws(() => ssecEtag(generateDataKey(), randomBytes(15)), RangeError);
  });
});
