/**
 * The data-key envelope: every object has its own data key (DEK), stored only wrapped, under the active master key
 * (SSE-S3, `kekId` = its id) or under the customer's key (SSE-C, `kekId` = `ssec`, with the key's MD5 to echo). Key
 * rotation re-wraps a DEK, it never re-encrypts data.
 */
import { CryptoError, generateDataKey, unwrapDataKey, wrapDataKey, type SseCustomerKey } from '@coffer/crypto';

import { BlobStoreError } from './errors.ts';
import type { BlobStoreOptions } from './options.ts';
import type { ObjectEncryption, WriteEncryption } from './types.ts';

/** The master keys the envelope needs: the active one to wrap, any of them by id to unwrap. */
export type KeyRing = BlobStoreOptions['keyRing'];

/** What a data key belongs to: the object (or upload) id and its chunk size are bound into the wrapping. */
interface KeyOwner {
  id: string;
  enc: ObjectEncryption;
}

/** A new data key for object `id`, wrapped per `encryption`. The caller must wipe `dek` after use. */
export function newKey(
  ring: KeyRing,
  id: string,
  chunkSize: number,
  encryption: WriteEncryption,
): { dek: Buffer; enc: ObjectEncryption } {
  const dek = generateDataKey();
  return { dek, enc: wrapKey(ring, dek, id, chunkSize, encryption) };
}

/** Wraps `dek` for object `id` per `encryption` (SSE-S3: the active master key; SSE-C: the customer key). */
export function wrapKey(
  ring: KeyRing,
  dek: Buffer,
  id: string,
  chunkSize: number,
  encryption: WriteEncryption,
): ObjectEncryption {
  if (encryption?.scheme === 'SSE-C') {
    const c = encryption.customer;
    if (!c || !(c.key instanceof Uint8Array) || typeof c.keyMD5 !== 'string')
      throw new TypeError('encryption.customer must be an SseCustomerKey');
    return {
      scheme: 'SSE-C',
      wrap: wrapDataKey(dek, { scheme: 'SSE-C', kek: c.key, kekId: 'ssec', objectId: id, chunkSize }),
      keyMD5: c.keyMD5,
      chunkSize,
    };
  }
  if (encryption?.scheme !== 'SSE-S3') throw new TypeError("encryption.scheme must be 'SSE-S3' or 'SSE-C'");
  const kekId = ring.activeId;
  return {
    scheme: 'SSE-S3',
    wrap: wrapDataKey(dek, { scheme: 'SSE-S3', kek: ring.key(kekId), kekId, objectId: id, chunkSize }),
    chunkSize,
  };
}

/**
 * Unwraps an object's data key: SSE-C with `customer` (`BLOB_SSEC_REQUIRED` without one; CryptoError
 * `CRYPTO_WRONG_KEY` for a wrong one), SSE-S3 with the master key `enc.wrap.kekId` (`BLOB_SSEC_NOT_APPLICABLE` if a
 * customer key is given; `BLOB_CORRUPT` if it fails; CryptoError `CRYPTO_UNKNOWN_KEY` if the key id is unknown).
 */
export function unwrapKey(ring: KeyRing, rec: KeyOwner, customer?: SseCustomerKey): Buffer {
  const enc = rec.enc;
  if (enc.scheme === 'SSE-C') {
    if (!customer) {
      throw new BlobStoreError(
        'BLOB_SSEC_REQUIRED',
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
      );
    }
    return unwrapDataKey(enc.wrap, { kek: customer.key, objectId: rec.id, chunkSize: enc.chunkSize });
  }
  if (customer)
    throw new BlobStoreError(
      'BLOB_SSEC_NOT_APPLICABLE',
      'The encryption parameters are not applicable to this object.',
    );
  const kek = ring.key(enc.wrap.kekId);
  try {
    return unwrapDataKey(enc.wrap, { kek, objectId: rec.id, chunkSize: enc.chunkSize });
  } catch (err) {
    if (err instanceof CryptoError && err.code === 'CRYPTO_WRONG_KEY') {
      throw new BlobStoreError('BLOB_CORRUPT', 'the master key does not unwrap the data key of this object', {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Re-wraps an SSE-S3 data key under the active master key. Returns `enc` unchanged for SSE-C or when it already
 * uses the active key.
 */
export function rewrapKey(ring: KeyRing, rec: KeyOwner): ObjectEncryption {
  if (rec.enc.scheme !== 'SSE-S3' || rec.enc.wrap.kekId === ring.activeId) return rec.enc;
  const dek = unwrapKey(ring, rec);
  try {
    return {
      ...wrapKey(ring, dek, rec.id, rec.enc.chunkSize, { scheme: 'SSE-S3' }),
      ...(rec.enc.md5Sealed ? { md5Sealed: rec.enc.md5Sealed } : {}),
    };
  } finally {
    dek.fill(0);
  }
}
