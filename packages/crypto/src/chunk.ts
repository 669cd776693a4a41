import { createCipheriv, createDecipheriv } from 'node:crypto';

import { CryptoError } from './errors.ts';
import { CIPHER, KEY_LENGTH, TAG_LENGTH, chunkAad, chunkNonce } from './format.ts';

// Pure functions over (key, index, final, bytes): no state, no I/O, so a worker pool can call
// them on batches of chunks and the streams below stay thin.

/** Throws RangeError unless `key` is a 32-byte Buffer/Uint8Array. */
export function checkKey(key: Uint8Array, name = 'key'): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new RangeError(`${name} must be a ${KEY_LENGTH}-byte Buffer`);
  }
}

/** Encrypts one chunk and returns [ciphertext, tag] without concatenating them. */
export function sealChunkParts(key: Uint8Array, index: number, final: boolean, plain: Uint8Array): [Buffer, Buffer] {
  const cipher = createCipheriv(CIPHER, key, chunkNonce(index), { authTagLength: TAG_LENGTH });
  cipher.setAAD(chunkAad(index, final));
  const ct = cipher.update(plain);
  const rest = cipher.final(); // always empty for GCM, kept for correctness
  const tag = cipher.getAuthTag();
  return [rest.length === 0 ? ct : Buffer.concat([ct, rest]), tag];
}

/**
 * Encrypts chunk `index` of a stream: returns ciphertext ‖ 16-byte tag, the chunk's exact
 * on-disk bytes. `final` must be true only for the stream's last chunk.
 */
export function encryptChunk(key: Uint8Array, index: number, final: boolean, plain: Uint8Array): Buffer {
  checkKey(key);
  const [ct, tag] = sealChunkParts(key, index, final, plain);
  return Buffer.concat([ct, tag], ct.length + TAG_LENGTH);
}

/**
 * Verifies and decrypts chunk `index` (ciphertext ‖ tag). Returns the plaintext only when the
 * tag, index and final flag all check; otherwise throws CryptoError CRYPTO_AUTH_FAILED.
 */
export function decryptChunk(key: Uint8Array, index: number, final: boolean, sealed: Uint8Array): Buffer {
  checkKey(key);
  if (sealed.length < TAG_LENGTH) {
    throw new CryptoError('CRYPTO_AUTH_FAILED', `chunk ${index} is shorter than its tag`);
  }
  const ctLen = sealed.length - TAG_LENGTH;
  const decipher = createDecipheriv(CIPHER, key, chunkNonce(index), { authTagLength: TAG_LENGTH });
  decipher.setAAD(chunkAad(index, final));
  decipher.setAuthTag(sealed.subarray(ctLen));
  const plain = decipher.update(sealed.subarray(0, ctLen));
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch (err) {
    plain.fill(0); // never let unverified plaintext escape, even by accident
    throw new CryptoError('CRYPTO_AUTH_FAILED', `chunk ${index} failed authentication`, { cause: err });
  }
}
