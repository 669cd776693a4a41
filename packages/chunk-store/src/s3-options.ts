import { intOption } from './local-options.ts';

/** Options of {@link S3ChunkStore.open}. */
export interface S3ChunkStoreOptions {
  /** The backend's S3 endpoint, `http(s)://host[:port]`; addressed path-style (`/BUCKET/KEY`), as radosgw needs. */
  endpoint: string;
  /** The backend bucket (it must exist). */
  bucket: string;
  /** Names of the blobs start with this (`PREFIX/xx/yy/ID`); default none. */
  prefix?: string;
  /** The region requests are signed for (default `us-east-1`). */
  region?: string;
  /** The backend's access key id and secret key. Never logged, never part of an error. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Connections to the backend at most, shared by all requests (default 32); kept alive and reused. */
  maxSockets?: number;
  /** Blobs larger than this are written as multipart uploads of parts of this size (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Parts of one blob uploaded at once (default 2); one write holds at most this many parts plus two in memory. */
  partConcurrency?: number;
  /**
   * Attempts per request (default 4), with exponential backoff and jitter between them, on 5xx, throttling, time-outs
   * and connection resets or refusals. A read that breaks mid-body resumes at the byte it reached.
   */
  maxAttempts?: number;
  /** A request whose socket stays idle this long fails (and is retried): default 30 000 ms. */
  requestTimeoutMs?: number;
  /** A connection not made within this long fails (and is retried): default 5 000 ms. */
  connectTimeoutMs?: number;
}

/** Defaults of the optional {@link S3ChunkStoreOptions} fields. */
export const S3_DEFAULTS = Object.freeze({
  prefix: '',
  region: 'us-east-1',
  maxSockets: 32,
  partSize: 8 * 1024 * 1024,
  partConcurrency: 2,
  maxAttempts: 4,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
});

/** The options after defaults and checks; `prefix` is empty or ends with `/`. */
export type ResolvedS3Options = Required<S3ChunkStoreOptions>;

/** S3's smallest part but the last (AWS "Amazon S3 multipart upload limits"). */
const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Applies defaults and validates; throws TypeError/RangeError naming the option (never echoing a secret). */
export function resolveS3Options(opts: S3ChunkStoreOptions): ResolvedS3Options {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  if (typeof opts.endpoint !== 'string' || !/^https?:\/\/[^/]+\/?$/.test(opts.endpoint)) {
    throw new TypeError('options.endpoint must be an http(s)://host[:port] URL');
  }
  if (typeof opts.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) {
    throw new TypeError('options.bucket must be an S3 bucket name');
  }
  const prefix = opts.prefix ?? S3_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || prefix.startsWith('/') || prefix.length > 512) {
    throw new TypeError('options.prefix must be a string of at most 512 characters, not starting with /');
  }
  const c = opts.credentials as unknown as Record<string, unknown> | null | undefined;
  if (!c || typeof c.accessKeyId !== 'string' || typeof c.secretAccessKey !== 'string' || !c.accessKeyId) {
    throw new TypeError('options.credentials must hold accessKeyId and secretAccessKey strings');
  }
  const region = opts.region ?? S3_DEFAULTS.region;
  if (typeof region !== 'string' || region === '') throw new TypeError('options.region must be a non-empty string');
  return {
    endpoint: opts.endpoint,
    bucket: opts.bucket,
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    region,
    credentials: { accessKeyId: opts.credentials.accessKeyId, secretAccessKey: opts.credentials.secretAccessKey },
    maxSockets: intOption('maxSockets', opts.maxSockets ?? S3_DEFAULTS.maxSockets, 1, 1024),
    partSize: intOption('partSize', opts.partSize ?? S3_DEFAULTS.partSize, MIN_PART_SIZE, 2 ** 30),
    partConcurrency: intOption('partConcurrency', opts.partConcurrency ?? S3_DEFAULTS.partConcurrency, 1, 64),
    maxAttempts: intOption('maxAttempts', opts.maxAttempts ?? S3_DEFAULTS.maxAttempts, 1, 20),
    requestTimeoutMs: intOption('requestTimeoutMs', opts.requestTimeoutMs ?? S3_DEFAULTS.requestTimeoutMs, 1, 3.6e6),
    connectTimeoutMs: intOption('connectTimeoutMs', opts.connectTimeoutMs ?? S3_DEFAULTS.connectTimeoutMs, 1, 3.6e6),
  };
}

/**
 * Parses a chunk-store location `s3://BUCKET[/PREFIX]` (as `coffer serve --chunks` takes it) into `bucket` and
 * `prefix`; TypeError if it is not one.
 */
export function parseChunksUrl(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw new TypeError('the chunk store must be given as s3://BUCKET/PREFIX');
  return { bucket: m[1]!, prefix: m[2] ?? '' };
}
