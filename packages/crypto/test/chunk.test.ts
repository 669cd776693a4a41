import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { CryptoError, chunkAad, chunkNonce, createDecryptStream, decryptChunk, encryptChunk } from '../src/index.ts';

const key = randomBytes(32);
const authFailed = (e: unknown) => e instanceof CryptoError && e.code === 'CRYPTO_AUTH_FAILED';

describe('encryptChunk', () => {
  it('should be AES-256-GCM with the format nonce and AAD, ciphertext ‖ tag', () => {
    const plain = randomBytes(100);
    const c = createCipheriv('aes-256-gcm', key, chunkNonce(3));
    c.setAAD(chunkAad(3, true));
    const expected = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    assert.ok(encryptChunk(key, 3, true, plain).equals(expected));
  });
  it('should differ for another index or final flag', () => {
    const plain = randomBytes(10);
    assert.notDeepEqual(encryptChunk(key, 0, false, plain), encryptChunk(key, 1, false, plain));
    assert.notDeepEqual(encryptChunk(key, 0, false, plain), encryptChunk(key, 0, true, plain));
  });
});

describe('decryptChunk', () => {
  it('should open what encryptChunk sealed', () => {
    const plain = randomBytes(1000);
    assert.ok(decryptChunk(key, 9, false, encryptChunk(key, 9, false, plain)).equals(plain));
  });
  it('should fail with CRYPTO_AUTH_FAILED for another index, final flag or key', () => {
    const sealed = encryptChunk(key, 4, false, randomBytes(50));
    assert.throws(() => decryptChunk(key, 5, false, sealed), authFailed);
    assert.throws(() => decryptChunk(key, 4, true, sealed), authFailed);
    assert.throws(() => decryptChunk(randomBytes(32), 4, false, sealed), authFailed);
  });
  it('should not open a chunk sealed as final as a non-final one, nor the other way round', () => {
    for (const n of [0, 1, 4096]) {
      const plain = randomBytes(n);
      assert.throws(() => decryptChunk(key, 7, false, encryptChunk(key, 7, true, plain)), authFailed);
      assert.throws(() => decryptChunk(key, 7, true, encryptChunk(key, 7, false, plain)), authFailed);
      assert.ok(decryptChunk(key, 7, true, encryptChunk(key, 7, true, plain)).equals(plain));
    }
  });
  it('should open S3E1 chunks as sealed before this build (known answer: key 00..1f, C = 12)', async () => {
    // Sealed once with node:crypto alone (AES-256-GCM, nonce u32be(0) ‖ u64be(i), AAD "S3E1" ‖ u64be(i) ‖ final):
    // objects on disk hold these bytes, so they must open for as long as Coffer reads S3E1.
    const k = Buffer.from([...Array(32).keys()]);
    const chunk0 = Buffer.from('6dd3d3b8d05ea3ee3bed9815f12a0b635f31e17336db69aaed1c5893', 'hex');
    const chunk1 = Buffer.from('70b8db33bd1867ce112dd082de0c374edba96b', 'hex');
    assert.equal(decryptChunk(k, 0, false, chunk0).toString(), 'coffer S3E1 ');
    assert.equal(decryptChunk(k, 1, true, chunk1).toString(), 'end');
    assert.throws(() => decryptChunk(k, 0, true, chunk0), authFailed);
    assert.throws(() => decryptChunk(k, 1, false, chunk1), authFailed);
    const ds = createDecryptStream(k, { plainSize: 15, chunkSize: 12 });
    ds.end(Buffer.concat([chunk0, chunk1]));
    const out: Buffer[] = [];
    for await (const b of ds) out.push(b as Buffer);
    assert.equal(Buffer.concat(out).toString(), 'coffer S3E1 end');
  });
  it('should fail with CRYPTO_AUTH_FAILED for input shorter than a tag', () => {
    assert.throws(() => decryptChunk(key, 0, true, Buffer.alloc(15)), authFailed);
  });
});
