import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';

import { checkKey } from './chunk.ts';
import { CryptoError } from './errors.ts';
import { CIPHER, FORMAT_MAGIC, KEY_LENGTH, NONCE_LENGTH, TAG_LENGTH, checkChunkSize } from './format.ts';
import { secureRandom } from './random.ts';

/** Who holds the key-encryption key: the server's master key ring, or the client (SSE-C). */
export type Scheme = 'SSE-S3' | 'SSE-C';

/** A data key wrapped for storage in an object record (S3-ENCRYPTION.md Part D, 4.1). */
export interface WrappedKey {
  /** Record version. */
  v: 1;
  /** Scheme, bound into the wrap's AAD and KEK derivation. */
  scheme: Scheme;
  /** Master key id for SSE-S3, 'ssec' for SSE-C. Not authenticated: a wrong id just fails to unwrap. */
  kekId: string;
  /** HKDF salt, 32 random bytes, base64. */
  salt: string;
  /** GCM nonce, 12 random bytes, base64. */
  nonce: string;
  /** Wrapped key: 32-byte ciphertext ‖ 16-byte tag, base64. */
  ct: string;
}

/** Parameters of {@link wrapDataKey}. */
export interface WrapParams {
  /** SSE-S3 or SSE-C. */
  scheme: Scheme;
  /** The 32-byte key-encryption key: a master key, or the customer key. */
  kek: Buffer;
  /** Id recorded in the wrap: the master key id, or 'ssec'. */
  kekId: string;
  /** Internal object id the wrap is bound to, so a record cannot be replayed onto another object. */
  objectId: string;
  /** Chunk size the data is written with, bound in so it cannot be altered. */
  chunkSize: number;
}

/** Parameters of {@link unwrapDataKey}. */
export interface UnwrapParams {
  /** The 32-byte key-encryption key. */
  kek: Buffer;
  /** Object id given to wrapDataKey. */
  objectId: string;
  /** Chunk size given to wrapDataKey. */
  chunkSize: number;
}

const SCHEMES: readonly Scheme[] = Object.freeze(['SSE-S3', 'SSE-C']);

/** A fresh 32-byte data key (DEK) from the CSPRNG. */
export function generateDataKey(): Buffer {
  return secureRandom(KEY_LENGTH);
}

const COUNTER_1 = Buffer.from([1]);

/**
 * HKDF-SHA256 (RFC 5869) with a 32-byte output: one Extract and one Expand block, two HMACs. The same bytes as
 * `crypto.hkdfSync('sha256', ikm, salt, info, 32)`, at half its cost (that call builds a KeyObject and a job per
 * call; a PUT derives two keys on the request thread).
 */
export function hkdfSha256(ikm: Buffer, salt: Buffer, info: string | Buffer): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const expand = createHmac('sha256', prk);
  if (typeof info === 'string') expand.update(info, 'utf8');
  else expand.update(info);
  const okm = expand.update(COUNTER_1).digest();
  prk.fill(0);
  return okm;
}

/** HKDF-SHA256(ikm = dek, salt, info) → 32 bytes: one key per stream (object body or part). */
export function deriveStreamKey(dek: Buffer, salt: Buffer, info: string): Buffer {
  checkKey(dek, 'dek');
  if (!(salt instanceof Uint8Array)) throw new TypeError('salt must be a Buffer');
  if (typeof info !== 'string') throw new TypeError('info must be a string');
  return hkdfSha256(dek, salt, info);
}

function kekPrime(kek: Buffer, salt: Buffer, scheme: Scheme): Buffer {
  return hkdfSha256(kek, salt, `${FORMAT_MAGIC}/kek/${scheme}`);
}

function wrapAad(scheme: Scheme, objectId: string, chunkSize: number): Buffer {
  const cs = Buffer.alloc(4);
  cs.writeUInt32BE(chunkSize);
  return Buffer.concat([Buffer.from(FORMAT_MAGIC + scheme + objectId, 'utf8'), cs]);
}

function checkScheme(scheme: unknown): Scheme {
  if (!SCHEMES.includes(scheme as Scheme)) throw new TypeError(`scheme must be one of ${SCHEMES.join(', ')}`);
  return scheme as Scheme;
}

function checkObjectId(objectId: unknown): string {
  if (typeof objectId !== 'string' || objectId.length === 0) throw new TypeError('objectId must be a non-empty string');
  return objectId;
}

/**
 * Wraps a data key: KEK' = HKDF-SHA256(kek, salt = 32 random, "S3E1/kek/" + scheme), then
 * AES-256-GCM(KEK', nonce = 12 random, dek, AAD = "S3E1" ‖ scheme ‖ objectId ‖ u32be(chunkSize)).
 */
export function wrapDataKey(dek: Buffer, p: WrapParams): WrappedKey {
  checkKey(dek, 'dek');
  checkKey(p.kek, 'kek');
  const scheme = checkScheme(p.scheme);
  const objectId = checkObjectId(p.objectId);
  const chunkSize = checkChunkSize(p.chunkSize);
  if (typeof p.kekId !== 'string' || p.kekId.length === 0) throw new TypeError('kekId must be a non-empty string');
  const salt = secureRandom(32);
  const nonce = secureRandom(NONCE_LENGTH);
  const k = kekPrime(p.kek, salt, scheme);
  const cipher = createCipheriv(CIPHER, k, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(wrapAad(scheme, objectId, chunkSize));
  const ct = Buffer.concat([cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
  k.fill(0);
  return {
    v: 1,
    scheme,
    kekId: p.kekId,
    salt: salt.toString('base64'),
    nonce: nonce.toString('base64'),
    ct: ct.toString('base64'),
  };
}

function b64(value: unknown, bytes: number, name: string): Buffer {
  const buf = typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
  if (!buf || buf.length !== bytes || buf.toString('base64') !== value) {
    throw new CryptoError('CRYPTO_AUTH_FAILED', `wrapped key record is malformed (${name})`);
  }
  return buf;
}

/**
 * Unwraps a data key. Throws CryptoError CRYPTO_WRONG_KEY when the GCM tag fails (wrong customer
 * key or master key, or a record moved to another object), and CRYPTO_AUTH_FAILED when the record
 * itself is malformed.
 */
export function unwrapDataKey(w: WrappedKey, p: UnwrapParams): Buffer {
  checkKey(p.kek, 'kek');
  const objectId = checkObjectId(p.objectId);
  const chunkSize = checkChunkSize(p.chunkSize);
  if (w?.v !== 1 || !SCHEMES.includes(w.scheme)) {
    throw new CryptoError('CRYPTO_AUTH_FAILED', 'wrapped key record is malformed (v/scheme)');
  }
  const salt = b64(w.salt, 32, 'salt');
  const nonce = b64(w.nonce, NONCE_LENGTH, 'nonce');
  const ct = b64(w.ct, KEY_LENGTH + TAG_LENGTH, 'ct');
  const k = kekPrime(p.kek, salt, w.scheme);
  const decipher = createDecipheriv(CIPHER, k, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(wrapAad(w.scheme, objectId, chunkSize));
  decipher.setAuthTag(ct.subarray(KEY_LENGTH));
  const dek = decipher.update(ct.subarray(0, KEY_LENGTH));
  try {
    decipher.final();
    return dek;
  } catch (err) {
    dek.fill(0);
    throw new CryptoError('CRYPTO_WRONG_KEY', 'the key does not unwrap this object', { cause: err });
  } finally {
    k.fill(0);
  }
}

/**
 * The SSE-C ETag: hex(HMAC-SHA256(dek, "S3E1/etag" ‖ md5 [‖ "/" ‖ objectId])[:16]) — 32 hex characters that are
 * stable for the object, listable without the key, and not the MD5 of the data. Objects that share a data key (a
 * copy re-wraps its source's) pass their own `objectId`, so that no two of them show the same ETag.
 */
export function ssecEtag(dek: Buffer, md5: Buffer, objectId?: string): string {
  checkKey(dek, 'dek');
  if (!(md5 instanceof Uint8Array) || md5.length !== 16) throw new RangeError('md5 must be a 16-byte Buffer');
  const mac = createHmac('sha256', dek).update(`${FORMAT_MAGIC}/etag`).update(md5);
  if (objectId !== undefined) mac.update(`/${objectId}`);
  return mac.digest().subarray(0, 16).toString('hex');
}
