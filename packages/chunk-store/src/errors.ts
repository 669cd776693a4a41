/**
 * Stable error codes of `@coffer/chunk-store`. The server maps them to S3 errors from one table
 * (packages/server/src/errors.ts); see README.md ("Errors").
 */
export type ChunkErrorCode =
  /** The blob does not exist (a read or stat of an id never written, or deleted). */
  | 'CHUNKS_NOT_FOUND'
  /** The backend cannot be reached or answers with server errors, after the retries: try again later. */
  | 'CHUNKS_UNAVAILABLE'
  /** The backend refused or failed the operation in a way a retry will not mend (EIO, access denied, …). */
  | 'CHUNKS_IO'
  /** The local file system (or quota) is full. */
  | 'CHUNKS_NO_SPACE'
  /** The store was closed. */
  | 'CHUNKS_CLOSED';

/**
 * The one error class this package throws for its own failures. The source stream's own errors (of a write) and an
 * abort (`AbortError`) pass through unchanged, so that the caller can tell them apart.
 */
export class ChunkStoreError extends Error {
  /** Stable machine-readable code. */
  readonly code: ChunkErrorCode;

  /**
   * @param code stable error code
   * @param message human-readable text: names no bucket, key or secret of the backend
   * @param opts optional `cause`
   */
  constructor(code: ChunkErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ChunkStoreError';
    this.code = code;
  }
}

/** True when `err` is a {@link ChunkStoreError}, optionally with the given code. */
export function isChunkStoreError(err: unknown, code?: ChunkErrorCode): err is ChunkStoreError {
  return err instanceof ChunkStoreError && (code === undefined || err.code === code);
}

/**
 * Wraps a local file-system failure: `CHUNKS_NO_SPACE` for a full disk or quota, `CHUNKS_NOT_FOUND` for a missing
 * file when `missing` is true, else `CHUNKS_IO`, keeping the original as `cause`. Our own errors pass unchanged.
 */
export function fileError(what: string, cause: unknown, missing = false): ChunkStoreError {
  if (cause instanceof ChunkStoreError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ChunkStoreError('CHUNKS_NO_SPACE', `${what} failed: no space left on the device`, { cause });
  }
  if (missing && code === 'ENOENT') return new ChunkStoreError('CHUNKS_NOT_FOUND', `${what}: no such blob`, { cause });
  return new ChunkStoreError('CHUNKS_IO', `${what} failed${code ? ` (${code})` : ''}`, { cause });
}
