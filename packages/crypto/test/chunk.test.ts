import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { CryptoError, chunkAad, chunkNonce, decryptChunk, encryptChunk } from '../src/index.ts';

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
  it('should fail with CRYPTO_AUTH_FAILED for input shorter than a tag', () => {
    assert.throws(() => decryptChunk(key, 0, true, Buffer.alloc(15)), authFailed);
  });
});
