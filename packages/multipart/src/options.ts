/** Options of {@link MultipartStore}. */
export interface MultipartOptions {
  /**
   * Uploads initiated longer ago than this (ms) are aborted by the background sweep, their parts' files freed.
   * Default 7 days (S3 leaves this to a lifecycle rule; Coffer always has one).
   */
  maxUploadAgeMs?: number;
  /** How often the background sweep runs (ms). Default: an hour, or `maxUploadAgeMs` when that is shorter. */
  sweepIntervalMs?: number;
  /** Time source (epoch ms), for tests. Default `Date.now`. */
  now?: () => number;
}

/** Defaults of {@link MultipartOptions}. */
export const MULTIPART_DEFAULTS = Object.freeze({
  maxUploadAgeMs: 7 * 24 * 60 * 60 * 1000,
  sweepIntervalMs: 60 * 60 * 1000,
});

/** Options with every field set. */
export interface ResolvedMultipartOptions {
  maxUploadAgeMs: number;
  sweepIntervalMs: number;
  now: () => number;
}

/** Checks and completes {@link MultipartOptions}; throws TypeError/RangeError naming the option. */
export function resolveMultipartOptions(opts: MultipartOptions = {}): ResolvedMultipartOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  const positive = (name: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new RangeError(`options.${name} must be a positive number of milliseconds`);
    return v;
  };
  const maxUploadAgeMs = positive('maxUploadAgeMs', opts.maxUploadAgeMs ?? MULTIPART_DEFAULTS.maxUploadAgeMs);
  const sweepIntervalMs = positive(
    'sweepIntervalMs',
    opts.sweepIntervalMs ?? Math.min(MULTIPART_DEFAULTS.sweepIntervalMs, maxUploadAgeMs),
  );
  if (opts.now !== undefined && typeof opts.now !== 'function') throw new TypeError('options.now must be a function');
  return { maxUploadAgeMs, sweepIntervalMs, now: opts.now ?? Date.now };
}
