import { createHash, timingSafeEqual } from 'node:crypto';

import { CryptoError } from './errors.ts';
import { KEY_LENGTH } from './format.ts';

/** Request headers as node gives them (lowercase names). Lookups fall back to a case-insensitive match. */
export type HeadersLike = Record<string, string | string[] | undefined>;

/** A validated SSE-C customer key. */
export interface SseCustomerKey {
  /** The 32-byte customer key. Never store, log or echo it. */
  key: Buffer;
  /** base64 MD5 of the key (as the client sent it, or computed when it sent none); safe to store and echo. */
  keyMD5: string;
}

/** Options of {@link parseSseCustomerHeaders}. */
export interface SseCustomerParseOptions {
  /** Read the `x-amz-copy-source-server-side-encryption-customer-*` set instead. Default false. */
  copySource?: boolean;
  /** Require the key-MD5 header (PUT, copy, multipart). GET and HEAD pass false (AWS accepts it missing there). Default true. */
  requireKeyMd5?: boolean;
}

const DEFAULTS = Object.freeze({ copySource: false, requireKeyMd5: true });

/** The SSE header. */
export const SSE_HEADER = 'x-amz-server-side-encryption';
/** Prefix of the SSE-C headers (algorithm, key, key-md5). */
export const SSEC_PREFIX = 'x-amz-server-side-encryption-customer-';
/** Prefix of the copy-source SSE-C headers. */
export const COPY_SOURCE_SSEC_PREFIX = 'x-amz-copy-source-server-side-encryption-customer-';

/** The exact AWS messages of the SSE errors (shared/S3-ERRORS.md, S3-ENCRYPTION.md Part B 2.2). */
export const SSE_MESSAGES = Object.freeze({
  incompatible:
    'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
  invalidAlgorithm: 'The Encryption request you specified is not valid. Supported value: AES256.',
  missingAlgorithm:
    'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.',
  missingKey:
    'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.',
  missingKeyMd5:
    'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.',
  invalidKey: 'The secret key was invalid for the specified algorithm.',
  keyMd5Mismatch: 'The calculated MD5 hash of the key did not match the hash that was provided.',
  invalidSse: 'The encryption method specified is not supported',
  kmsNotImplemented: 'A header you provided implies functionality that is not implemented',
});

function header(h: HeadersLike, name: string): string | undefined {
  let v = h[name];
  if (v === undefined) {
    for (const k of Object.keys(h)) {
      if (k.toLowerCase() === name) {
        v = h[k];
        break;
      }
    }
  }
  return Array.isArray(v) ? v.join(',') : v;
}

// AWS names `x-amz-server-side-encryption` as ArgumentName for every SSE-C error, copy source
// included, with ArgumentValue "null" where there is no value to show (LocalStack captures of
// real S3; aws-sdk-php#1050, aws-sdk-go#1726). The key itself is never a detail.
function argErr(code: ConstructorParameters<typeof CryptoError>[0], message: string, value = 'null'): CryptoError {
  return new CryptoError(code, message, { details: { ArgumentName: SSE_HEADER, ArgumentValue: value } });
}

function strictBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? b : undefined;
}

/**
 * Throws CRYPTO_SSEC_INCOMPATIBLE when a request carries both SSE-C headers and
 * `x-amz-server-side-encryption` (Part B 2.2 row 1). parseSseCustomerHeaders() runs this check
 * itself for the non-copy-source set; it is exported for callers that check in another order.
 */
export function sseCustomerConflict(headers: HeadersLike): void {
  const sse = header(headers, SSE_HEADER);
  if (sse === undefined) return;
  const any = ['algorithm', 'key', 'key-md5'].some((s) => header(headers, SSEC_PREFIX + s) !== undefined);
  if (any) throw argErr('CRYPTO_SSEC_INCOMPATIBLE', SSE_MESSAGES.incompatible, sse);
}

/**
 * Reads and validates the SSE-C headers (or the copy-source set). Returns undefined when none of
 * the three is present. The checks run in the order of S3-ENCRYPTION.md Part B 2.2:
 * SSE + SSE-C together (not for copySource) → CRYPTO_SSEC_INCOMPATIBLE; algorithm missing →
 * CRYPTO_SSEC_MISSING_ALGORITHM; algorithm not AES256 → CRYPTO_SSEC_INVALID_ALGORITHM; key missing
 * → CRYPTO_SSEC_MISSING_KEY; MD5 missing while required, malformed, or not the key's →
 * CRYPTO_SSEC_KEY_MD5_MISMATCH (checked before the key's length, as AWS does); key not base64 of 32
 * bytes → CRYPTO_SSEC_INVALID_KEY.
 */
export function parseSseCustomerHeaders(
  headers: HeadersLike,
  opts: SseCustomerParseOptions = {},
): SseCustomerKey | undefined {
  if (!headers || typeof headers !== 'object') throw new TypeError('headers must be an object');
  const copySource = opts.copySource ?? DEFAULTS.copySource;
  const requireKeyMd5 = opts.requireKeyMd5 ?? DEFAULTS.requireKeyMd5;
  if (typeof copySource !== 'boolean') throw new TypeError('opts.copySource must be a boolean');
  if (typeof requireKeyMd5 !== 'boolean') throw new TypeError('opts.requireKeyMd5 must be a boolean');

  const prefix = copySource ? COPY_SOURCE_SSEC_PREFIX : SSEC_PREFIX;
  const algorithm = header(headers, prefix + 'algorithm');
  const keyB64 = header(headers, prefix + 'key');
  const md5B64 = header(headers, prefix + 'key-md5');
  if (algorithm === undefined && keyB64 === undefined && md5B64 === undefined) return undefined;

  if (!copySource) sseCustomerConflict(headers);
  if (algorithm === undefined || algorithm === '') {
    throw argErr('CRYPTO_SSEC_MISSING_ALGORITHM', SSE_MESSAGES.missingAlgorithm);
  }
  if (algorithm !== 'AES256') {
    throw argErr('CRYPTO_SSEC_INVALID_ALGORITHM', SSE_MESSAGES.invalidAlgorithm, algorithm);
  }
  if (keyB64 === undefined || keyB64 === '') throw argErr('CRYPTO_SSEC_MISSING_KEY', SSE_MESSAGES.missingKey);

  if (md5B64 === undefined || md5B64 === '') {
    if (requireKeyMd5) throw argErr('CRYPTO_SSEC_KEY_MD5_MISMATCH', SSE_MESSAGES.missingKeyMd5);
  } else {
    // Compare against the MD5 of the key as decoded (leniently, like AWS): a mismatching MD5 is
    // reported before a bad key length.
    const given = strictBase64(md5B64);
    const actual = createHash('md5').update(Buffer.from(keyB64, 'base64')).digest();
    if (!given || given.length !== actual.length || !timingSafeEqual(given, actual)) {
      throw argErr('CRYPTO_SSEC_KEY_MD5_MISMATCH', SSE_MESSAGES.keyMd5Mismatch);
    }
  }

  const key = strictBase64(keyB64);
  if (!key || key.length !== KEY_LENGTH) {
    key?.fill(0);
    throw argErr('CRYPTO_SSEC_INVALID_KEY', SSE_MESSAGES.invalidKey);
  }
  return { key, keyMD5: createHash('md5').update(key).digest('base64') };
}

/**
 * Validates an `x-amz-server-side-encryption` value: undefined → undefined; 'AES256' → 'AES256';
 * 'aws:kms' or 'aws:kms:dsse' → CRYPTO_KMS_NOT_IMPLEMENTED (details.Header); anything else
 * (including '') → CRYPTO_INVALID_SSE (details ArgumentName, ArgumentValue).
 */
export function parseServerSideEncryption(value: string | undefined): 'AES256' | undefined {
  if (value === undefined) return undefined;
  if (value === 'AES256') return 'AES256';
  if (value === 'aws:kms' || value === 'aws:kms:dsse') {
    throw new CryptoError('CRYPTO_KMS_NOT_IMPLEMENTED', SSE_MESSAGES.kmsNotImplemented, {
      details: { Header: SSE_HEADER },
    });
  }
  throw new CryptoError('CRYPTO_INVALID_SSE', SSE_MESSAGES.invalidSse, {
    details: { ArgumentName: SSE_HEADER, ArgumentValue: String(value) },
  });
}
