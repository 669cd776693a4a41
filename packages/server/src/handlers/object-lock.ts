/**
 * Object Lock configuration of a bucket (Put/GetObjectLockConfiguration), and the retention and legal hold of an
 * object (Put/GetObjectRetention, Put/GetObjectLegalHold). The rules they apply are in ../object-lock.ts.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 */
import type { Context } from 'koa';
import type { BucketObjectLock, ObjectLock } from '@coffer/blob-store';
import { parseLegalHold, parseObjectLockConfiguration, parseRetention } from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint, ObjectEndpoint } from '../operations.ts';
import { governanceBypass, requestBucket, requestObject, xmlBody } from '../access.ts';
import { checkVersionId } from '../versions.ts';
import { checkRetentionChange } from '../lock-rules.ts';
import { futureDate, isoDate, missingLockConfiguration, retentionMode } from '../object-lock.ts';
import { sendEmpty, sendXml } from '../respond.ts';

/** S3's largest default retention: 100 years, or as many days. */
const MAX_YEARS = 100;
const MAX_DAYS = 36_500;

/** A default retention period: a positive integer no larger than `max`. */
function period(raw: string, max: number): number {
  if (!/^-?\d+$/.test(raw)) throw new S3Error('MalformedXML');
  const n = Number(raw);
  if (n < 1)
    throw new S3Error('InvalidArgument', { message: 'Default retention period must be a positive integer value' });
  if (n > max) throw new S3Error('InvalidArgument', { message: 'Default retention period too large' });
  return n;
}

/**
 * Object Lock is turned on when a bucket is created (`x-amz-bucket-object-lock-enabled: true`), or here on a bucket
 * whose versioning is on (refused otherwise); this also sets or clears its default retention. It is never turned off.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html
 */
export async function putObjectLockConfiguration(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const bucket = requestBucket(ctx);
  const config = await parseObjectLockConfiguration(xmlBody(ctx));
  if (config.enabled !== 'Enabled') throw new S3Error('MalformedXML');
  const objectLock: BucketObjectLock = { enabled: true };
  const rule = config.defaultRetention;
  if (rule) {
    const mode = retentionMode(rule.mode);
    if (!mode || (rule.days === undefined) === (rule.years === undefined)) throw new S3Error('MalformedXML');
    objectLock.defaultRetention =
      rule.days !== undefined
        ? { mode, days: period(rule.days, MAX_DAYS) }
        : { mode, years: period(rule.years!, MAX_YEARS) };
  }
  // An existing bucket can take Object Lock once its versioning is on (S3 allows it since 2023).
  if (!bucket.objectLock && bucket.versioning !== 'Enabled') {
    throw new S3Error('InvalidBucketState', {
      message: "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
    });
  }
  await services.store.updateBucket(ep.bucket, { objectLock });
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLockConfiguration.html */
export async function getObjectLockConfiguration(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const bucket = requestBucket(ctx);
  if (!bucket.objectLock)
    throw new S3Error('ObjectLockConfigurationNotFoundError', { extra: { BucketName: ep.bucket } });
  const rule = bucket.objectLock.defaultRetention;
  sendXml(ctx, 'ObjectLockConfiguration', {
    ObjectLockEnabled: 'Enabled',
    Rule: rule ? { DefaultRetention: { Mode: rule.mode, Days: rule.days, Years: rule.years } } : undefined,
  });
}

/** The object of a retention or legal-hold request (authorized before the handler), in a bucket with Object Lock. */
function lockedObject(ctx: Context) {
  if (!requestBucket(ctx).objectLock) throw missingLockConfiguration();
  return requestObject(ctx);
}

/** The version a request names, for the store (already checked by {@link lockedObject}). */
function requestedVersion(ep: ObjectEndpoint): { versionId?: string } {
  const versionId = checkVersionId(ep.query.get('versionId'));
  return versionId === undefined ? {} : { versionId };
}

function noLockOnObject(): S3Error {
  return new S3Error('NoSuchObjectLockConfiguration');
}

/**
 * Sets (or, with an empty `<Retention/>`, removes) an object's retention. Weakening an active retention needs
 * `x-amz-bypass-governance-retention` for GOVERNANCE and is never allowed for COMPLIANCE.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html
 */
export async function putObjectRetention(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  lockedObject(ctx);
  const retention = await parseRetention(xmlBody(ctx));
  const bypass = governanceBypass(ctx, services);
  let next: Pick<ObjectLock, 'mode' | 'retainUntil'> = {};
  if (retention.mode !== undefined || retention.retainUntilDate !== undefined) {
    const mode = retentionMode(retention.mode);
    const date = retention.retainUntilDate === undefined ? undefined : isoDate(retention.retainUntilDate);
    if (!mode || !date) throw new S3Error('MalformedXML');
    next = { mode, retainUntil: futureDate(date) };
  }
  const update = (current: ObjectLock | undefined) => {
    checkRetentionChange(current, next, bypass);
    const lock: ObjectLock = { ...next };
    if (current?.legalHold !== undefined) lock.legalHold = current.legalHold;
    return Object.keys(lock).length > 0 ? lock : undefined;
  };
  await services.store.setObjectLock(ep.bucket, ep.key, update, requestedVersion(ep));
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectRetention.html */
export async function getObjectRetention(ctx: Context): Promise<void> {
  const rec = lockedObject(ctx);
  if (rec.lock?.mode === undefined) throw noLockOnObject();
  sendXml(ctx, 'Retention', { Mode: rec.lock.mode, RetainUntilDate: rec.lock.retainUntil });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html */
export async function putObjectLegalHold(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  lockedObject(ctx);
  const { status } = await parseLegalHold(xmlBody(ctx));
  if (status !== 'ON' && status !== 'OFF') throw new S3Error('MalformedXML');
  const update = (current: ObjectLock | undefined) => ({ ...current, legalHold: status === 'ON' });
  await services.store.setObjectLock(ep.bucket, ep.key, update, requestedVersion(ep));
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectLegalHold.html */
export async function getObjectLegalHold(ctx: Context): Promise<void> {
  const rec = lockedObject(ctx);
  if (rec.lock?.legalHold === undefined) throw noLockOnObject();
  sendXml(ctx, 'LegalHold', { Status: rec.lock.legalHold ? 'ON' : 'OFF' });
}
