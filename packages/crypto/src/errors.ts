/**
 * Stable error codes thrown by @coffer/crypto. The server maps each one to an S3 error
 * (see README.md, "Errors"); this package knows nothing of HTTP.
 */
export type CryptoErrorCode =
  | 'CRYPTO_AUTH_FAILED'
  | 'CRYPTO_WRONG_KEY'
  | 'CRYPTO_UNKNOWN_KEY'
  | 'CRYPTO_READONLY_RING'
  | 'CRYPTO_INVALID_KEYRING'
  | 'CRYPTO_KMS_NOT_IMPLEMENTED'
  | 'CRYPTO_INVALID_SSE'
  | 'CRYPTO_SSEC_INCOMPATIBLE'
  | 'CRYPTO_SSEC_INVALID_ALGORITHM'
  | 'CRYPTO_SSEC_MISSING_ALGORITHM'
  | 'CRYPTO_SSEC_MISSING_KEY'
  | 'CRYPTO_SSEC_INVALID_KEY'
  | 'CRYPTO_SSEC_KEY_MD5_MISMATCH';

/**
 * The one error class of @coffer/crypto. `message` never contains key material; for the SSE
 * header errors it is the exact AWS message of the S3 error the code maps to, and `details`
 * holds the extra elements (`ArgumentName`, `ArgumentValue`, `Header`) of the S3 error document.
 */
export class CryptoError extends Error {
  /** Stable machine-readable code. */
  readonly code: CryptoErrorCode;
  /** Extra fields the server may copy into the S3 error document. Never secrets. */
  readonly details: Record<string, string>;

  constructor(
    code: CryptoErrorCode,
    message: string,
    opts: { details?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CryptoError';
    this.code = code;
    this.details = opts.details ?? {};
  }
}
