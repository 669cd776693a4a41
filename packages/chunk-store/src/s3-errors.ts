import { ChunkStoreError } from './errors.ts';

/** The fields of an AWS SDK (or Node network) error that tell what went wrong. */
interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Node's codes for a connection that could not be made or broke, and the SDK's names for time-outs. */
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'TimeoutError',
  'RequestTimeout',
]);

/** S3's answers that mean "not now": throttling and an overloaded or failing service. */
const BUSY = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'Throttling', 'ThrottlingException']);

/** The HTTP status of a backend answer, `undefined` for a request that got none (a network failure). */
export function statusOf(err: unknown): number | undefined {
  return (err as SdkError | null)?.$metadata?.httpStatusCode;
}

/** True for a network failure, a 5xx or throttling: the backend may answer if asked again. */
export function isTransient(err: unknown): boolean {
  const e = (err ?? {}) as SdkError & { message?: string };
  const status = statusOf(err);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (BUSY.has(e.name ?? '')) return true;
  if (CONNECTION_FAILURES.has(e.code ?? '') || CONNECTION_FAILURES.has(e.name ?? '')) return true;
  // a response body cut by the server's crash: Node says "aborted" (IncomingMessage) with no code
  return status === undefined && e.message === 'aborted';
}

/**
 * Maps a failed backend request: a transient failure (after the client's retries) is `CHUNKS_UNAVAILABLE`, anything
 * else `CHUNKS_IO`, with the original as `cause`. An abort passes through unchanged. The message names no bucket, key
 * or credential.
 */
export function s3Error(what: string, err: unknown): unknown {
  if (err instanceof ChunkStoreError) return err;
  const e = (err ?? {}) as SdkError;
  if (e.name === 'AbortError' || e.code === 'ABORT_ERR') return err;
  const status = statusOf(err);
  const said = status === undefined ? (e.code ?? e.name ?? 'no answer') : `${status} ${e.name ?? ''}`.trim();
  if (isTransient(err)) {
    return new ChunkStoreError('CHUNKS_UNAVAILABLE', `${what}: the chunk backend is unavailable (${said})`, {
      cause: err,
    });
  }
  return new ChunkStoreError('CHUNKS_IO', `${what}: the chunk backend refused it (${said})`, { cause: err });
}

/** True when the backend said the object does not exist (GET: NoSuchKey; HEAD: a bare 404). */
export function isMissing(err: unknown): boolean {
  const name = (err as SdkError | null)?.name;
  return name === 'NoSuchKey' || (statusOf(err) === 404 && name !== 'NoSuchBucket' && name !== 'NoSuchUpload');
}
