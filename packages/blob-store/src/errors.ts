import type { KvError } from '@coffer/kv';

/**
 * Stable error codes of `@coffer/blob-store`. The server maps them to S3 errors from one table; see README.md
 * ("Errors") for the intended mapping of each code.
 */
export type BlobErrorCode =
  | 'BLOB_NO_SUCH_BUCKET'
  | 'BLOB_BUCKET_EXISTS'
  | 'BLOB_BUCKET_NOT_EMPTY'
  | 'BLOB_NO_SUCH_KEY'
  | 'BLOB_PRECONDITION_FAILED'
  | 'BLOB_TOO_LARGE'
  | 'BLOB_SSEC_REQUIRED'
  | 'BLOB_SSEC_NOT_APPLICABLE'
  | 'BLOB_LOCKED'
  | 'BLOB_CORRUPT'
  | 'BLOB_ABORTED'
  | 'BLOB_IO'
  | 'BLOB_NO_SPACE'
  | 'BLOB_UNAVAILABLE'
  | 'BLOB_CLOSED';

/**
 * The one error class this package throws for its own failures. Errors that come from the caller's body stream
 * (for example a signature check in a decoding transform) and from `@coffer/crypto` (`CryptoError`) pass through
 * unchanged, so that the caller can map them itself.
 */
export class BlobStoreError extends Error {
  /** Stable machine-readable code. */
  readonly code: BlobErrorCode;
  /** Extra fields the server may put in the S3 error document. Never holds secrets. */
  readonly details: Record<string, string>;

  /**
   * @param code stable error code
   * @param message human-readable text (no secrets)
   * @param opts optional `cause` and `details`
   */
  constructor(code: BlobErrorCode, message: string, opts: { cause?: unknown; details?: Record<string, string> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BlobStoreError';
    this.code = code;
    this.details = opts.details ?? {};
  }
}

/** True when `err` is a {@link BlobStoreError}, optionally with the given code. */
export function isBlobStoreError(err: unknown, code?: BlobErrorCode): err is BlobStoreError {
  return err instanceof BlobStoreError && (code === undefined || err.code === code);
}

/** LevelDB reports a full disk in its status text only (`IO error: …: No space left on device`). */
const LEVEL_NO_SPACE = /No space left on device|Disk quota exceeded/;

/**
 * True when `err`, or an error in its `cause` chain (a metadata engine wraps what LevelDB reported), is the file
 * system (or LevelDB through it) saying that the disk or the quota is full.
 */
export function isNoSpace(err: unknown): boolean {
  for (
    let c = err as { code?: unknown; message?: unknown; cause?: unknown } | null | undefined;
    c;
    c = c.cause as typeof c
  ) {
    if (c.code === 'ENOSPC' || c.code === 'EDQUOT') return true;
    if (c.code === 'LEVEL_IO_ERROR' && typeof c.message === 'string' && LEVEL_NO_SPACE.test(c.message)) return true;
  }
  return false;
}

/**
 * Wraps a file-system or LevelDB failure as `BLOB_NO_SPACE` (a full disk or quota) or `BLOB_IO` (EIO, a short
 * write, …), keeping the original as `cause`.
 */
export function ioError(what: string, cause: unknown): BlobStoreError {
  if (cause instanceof BlobStoreError) return cause;
  if (isNoSpace(cause))
    return new BlobStoreError('BLOB_NO_SPACE', `${what} failed: no space left on the device`, { cause });
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new BlobStoreError('BLOB_IO', `${what} failed${code ? ` (${code})` : ''}`, { cause });
}

/**
 * A metadata-engine failure as the store's error: a full disk is `BLOB_NO_SPACE`, an engine that takes no write for
 * now (reopening after a failed write, a stuck write, a database that cannot be reached) `BLOB_UNAVAILABLE`, anything
 * else `BLOB_IO`.
 */
export function metaError(err: KvError): BlobStoreError {
  if (err.code === 'KV_UNAVAILABLE' && !isNoSpace(err)) {
    return new BlobStoreError('BLOB_UNAVAILABLE', 'The metadata store cannot take writes now. Please try again.', {
      cause: err,
    });
  }
  return ioError('the metadata commit', err);
}
