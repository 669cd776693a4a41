import { createCipheriv, createDecipheriv } from 'node:crypto';

import { deriveStreamKey, secureRandom } from '@coffer/crypto';

import { BlobStoreError } from './errors.ts';

// The SSE-C ETag must not reveal the plaintext MD5, yet a copy of an SSE-C object to SSE-S3 needs the MD5 for its
// ETag. So the MD5 of SSE-C objects is kept sealed under a key only the data key can derive.
const SALT = Buffer.alloc(16); // fixed: the data key is already unique per object
const INFO = 'S3E1/md5-seal';
const AAD = Buffer.from('S3E1/md5', 'latin1');

/** Seals a 16-byte MD5 under the data key: base64(nonce(12) ‖ ct(16) ‖ tag(16)). */
export function sealMd5(dek: Buffer, md5: Buffer): string {
  const nonce = secureRandom(12);
  const c = createCipheriv('aes-256-gcm', deriveStreamKey(dek, SALT, INFO), nonce);
  c.setAAD(AAD);
  const ct = Buffer.concat([c.update(md5), c.final()]);
  return Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64');
}

/** Opens a value from {@link sealMd5}; `BLOB_CORRUPT` if it does not authenticate. */
export function openMd5(dek: Buffer, sealed: string): Buffer {
  const b = Buffer.from(sealed, 'base64');
  if (b.length !== 12 + 16 + 16) throw new BlobStoreError('BLOB_CORRUPT', 'sealed MD5 has the wrong length');
  try {
    const d = createDecipheriv('aes-256-gcm', deriveStreamKey(dek, SALT, INFO), b.subarray(0, 12));
    d.setAAD(AAD);
    d.setAuthTag(b.subarray(28));
    return Buffer.concat([d.update(b.subarray(12, 28)), d.final()]);
  } catch (cause) {
    throw new BlobStoreError('BLOB_CORRUPT', 'sealed MD5 failed to authenticate', { cause });
  }
}
