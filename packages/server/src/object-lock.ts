/**
 * Object Lock on the wire: what a write's `x-amz-object-lock-*` headers (or the bucket's default retention) give a
 * new object, the bypass header, and the lock headers of an answer. When a locked object may be deleted or its
 * retention changed is in lock-rules.ts; the operations on the configurations in handlers/object-lock.ts.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import type { BucketRecord, ObjectLock, ObjectRecord, RetentionMode } from '@coffer/blob-store';
import { S3Error } from './errors.ts';
import { header } from './http.ts';

const DAY_MS = 86_400_000;

/** What S3 answers to a lock request on a bucket without Object Lock. */
export function missingLockConfiguration(): S3Error {
  return new S3Error('InvalidRequest', { message: 'Bucket is missing Object Lock Configuration' });
}

/** `GOVERNANCE` or `COMPLIANCE`, or undefined for anything else. */
export function retentionMode(raw: string | undefined): RetentionMode | undefined {
  return raw === 'GOVERNANCE' || raw === 'COMPLIANCE' ? raw : undefined;
}

/**
 * An ISO 8601 date-time (`2030-01-01T00:00:00Z`, with or without fractions or an offset) as a normalised ISO string,
 * or undefined. `Date.parse` alone also takes forms such as `Jan 1 2030`, which S3 does not.
 */
export function isoDate(raw: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A retention date that must lie ahead of the server's clock. */
export function futureDate(iso: string): string {
  if (Date.parse(iso) <= Date.now())
    throw new S3Error('InvalidArgument', { message: 'The retain until date must be in the future!' });
  return iso;
}

/**
 * The lock a new object gets from a write's headers (PUT, POST form fields, CopyObject, CreateMultipartUpload),
 * else from the bucket's default retention; undefined for none. `given` reads a header (or form field) by its
 * lower-case name.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax
 */
export function newObjectLock(
  bucket: BucketRecord,
  given: (name: string) => string | undefined,
): ObjectLock | undefined {
  const rawMode = given('x-amz-object-lock-mode');
  const rawDate = given('x-amz-object-lock-retain-until-date');
  const rawHold = given('x-amz-object-lock-legal-hold');
  if (rawMode === undefined && rawDate === undefined && rawHold === undefined) return defaultLock(bucket);
  if (!bucket.objectLock) throw missingLockConfiguration();
  const lock: ObjectLock = {};
  if ((rawMode === undefined) !== (rawDate === undefined)) {
    throw new S3Error('InvalidArgument', {
      message: 'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
    });
  }
  if (rawMode !== undefined && rawDate !== undefined) {
    const mode = retentionMode(rawMode);
    if (!mode) throw new S3Error('InvalidArgument', { message: 'Unknown wormMode directive.' });
    const date = isoDate(rawDate);
    if (!date)
      throw new S3Error('InvalidArgument', { message: 'The retain until date must be provided in ISO 8601 format' });
    lock.mode = mode;
    lock.retainUntil = futureDate(date);
  } else {
    // Headers that name only a legal hold still get the bucket's default retention.
    Object.assign(lock, defaultLock(bucket));
  }
  if (rawHold !== undefined) {
    if (rawHold !== 'ON' && rawHold !== 'OFF')
      throw new S3Error('InvalidArgument', { message: "Legal Hold must be either of 'ON' or 'OFF'" });
    lock.legalHold = rawHold === 'ON';
  }
  return lock;
}

/** The bucket's default retention as it applies to an object written now. */
function defaultLock(bucket: BucketRecord): ObjectLock | undefined {
  const rule = bucket.objectLock?.defaultRetention;
  if (!rule) return undefined;
  const until = new Date();
  if (rule.years !== undefined) until.setUTCFullYear(until.getUTCFullYear() + rule.years);
  else until.setTime(until.getTime() + (rule.days ?? 0) * DAY_MS);
  return { mode: rule.mode, retainUntil: until.toISOString() };
}

/**
 * A PUT that gives an object a lock must carry Content-MD5 or a checksum (a header, or a trailer it announces).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html
 */
export function requireIntegrity(headers: IncomingHttpHeaders, lock: ObjectLock | undefined): void {
  if (lock === undefined) return;
  const trailer = header(headers, 'x-amz-trailer') ?? '';
  const named = (h: string) => h.toLowerCase().trim().startsWith('x-amz-checksum-');
  if (header(headers, 'content-md5') !== undefined || Object.keys(headers).some(named)) return;
  if (trailer.split(',').some(named)) return;
  throw new S3Error('InvalidRequest', {
    message:
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
  });
}

/** `x-amz-bypass-governance-retention: true` (case-insensitive, as S3 reads it). */
export function bypassesGovernance(headers: IncomingHttpHeaders): boolean {
  return header(headers, 'x-amz-bypass-governance-retention')?.trim().toLowerCase() === 'true';
}

/** The lock headers of a GET or HEAD answer. */
export function setLockHeaders(ctx: Context, rec: ObjectRecord): void {
  const lock = rec.lock;
  if (lock?.mode !== undefined) {
    ctx.set('x-amz-object-lock-mode', lock.mode);
    ctx.set('x-amz-object-lock-retain-until-date', lock.retainUntil!);
  }
  if (lock?.legalHold !== undefined) ctx.set('x-amz-object-lock-legal-hold', lock.legalHold ? 'ON' : 'OFF');
}
