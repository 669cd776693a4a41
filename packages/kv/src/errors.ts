/** Stable codes of {@link KvError}. The server maps them to S3 errors (all are server faults: InternalError). */
export type KvErrorCode =
  /** The engine could not read or write its storage (LevelDB I/O error, disk full). */
  | 'KV_IO'
  /** The engine's database cannot be reached (PostgreSQL down or restarting). */
  | 'KV_UNAVAILABLE'
  /** A transaction kept conflicting with concurrent ones and was given up after the engine's retries. */
  | 'KV_CONFLICT'
  /** The engine was closed. */
  | 'KV_CLOSED'
  /** The database holds a schema newer than this code knows. */
  | 'KV_SCHEMA'
  /** A copy's target holds keys its source does not have (another namespace); see `copyEngine`. */
  | 'KV_TARGET_FOREIGN';

/** An error of a metadata engine, with a stable `code` and the underlying `cause`. */
export class KvError extends Error {
  /** Stable machine-readable code. */
  readonly code: KvErrorCode;

  constructor(code: KvErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KvError';
    this.code = code;
  }
}

/** True when `err` is a {@link KvError}, optionally with the given code. */
export function isKvError(err: unknown, code?: KvErrorCode): err is KvError {
  return err instanceof KvError && (code === undefined || err.code === code);
}
