/**
 * Bucket lifecycle configuration: Put/Get/DeleteBucketLifecycleConfiguration. Expiration (Days or Date) and
 * AbortIncompleteMultipartUpload, and on versioned buckets NoncurrentVersionExpiration and ExpiredObjectDeleteMarker,
 * are carried out by the server's lifecycle runs (../lifecycle.ts); transitions to other storage classes do not exist
 * here and are refused with 501.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
 */
import type { Context } from 'koa';
import type { BucketLifecycleRule } from '@coffer/blob-store';
import { parseLifecycleConfiguration, type LifecycleRule } from '@coffer/xml';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { BucketEndpoint } from '../operations.ts';
import { secureRandom } from '@coffer/crypto';
import { requestBucket, xmlBody } from '../access.ts';
import { invalidHeaderArgument, isHeaderValue } from '../http.ts';
import { sendEmpty, sendXml } from '../respond.ts';
import { checkTags, TAG_LIMITS } from '../tags.ts';

const MAX_RULES = 1000;

/** A positive integer, or S3's InvalidArgument naming the field. */
function positive(raw: string, message: string): number {
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) throw new S3Error('InvalidArgument', { message });
  return Number(raw);
}

/** A non-negative byte count of a size filter. */
function size(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new S3Error('MalformedXML');
  return Number(raw);
}

/** S3's checks of one rule; the rule as stored. */
function checkRule(r: LifecycleRule): BucketLifecycleRule {
  if (r.status !== 'Enabled' && r.status !== 'Disabled') throw new S3Error('MalformedXML');
  if (r.id !== undefined && r.id.length > 255)
    throw new S3Error('InvalidArgument', { message: 'ID length should not exceed allowed limit of 255' });
  // The ID goes out in x-amz-expiration on every GET and HEAD of an object the rule matches.
  if (r.id !== undefined && !isHeaderValue(r.id)) throw invalidHeaderArgument('ID');
  if (r.otherActions.length > 0)
    throw new S3Error('NotImplemented', {
      message: `${r.otherActions[0]} is not implemented: Coffer has one storage class`,
    });
  const out: BucketLifecycleRule = {
    id: r.id || secureRandom(16).toString('base64url'),
    enabled: r.status === 'Enabled',
  };
  if (r.filter.prefix !== undefined) out.prefix = r.filter.prefix;
  if (r.legacyPrefix) out.legacyPrefix = true;
  if (r.filter.tags.length > 0) out.tags = checkTags(r.filter.tags, TAG_LIMITS.maxObjectTags, 'Object');
  const gt = size(r.filter.sizeGreaterThan);
  const lt = size(r.filter.sizeLessThan);
  if (gt !== undefined) out.sizeGreaterThan = gt;
  if (lt !== undefined) out.sizeLessThan = lt;
  if (r.expiration) {
    const { days, date, expiredObjectDeleteMarker } = r.expiration;
    if (expiredObjectDeleteMarker !== undefined) {
      // One of Days, Date or ExpiredObjectDeleteMarker; a marker is no object, so no tag filter selects it.
      if (days !== undefined || date !== undefined) throw new S3Error('MalformedXML');
      if (expiredObjectDeleteMarker !== 'true' && expiredObjectDeleteMarker !== 'false')
        throw new S3Error('MalformedXML');
      if (out.tags)
        throw new S3Error('InvalidRequest', {
          message: 'ExpiredObjectDeleteMarker cannot be specified with tags.',
        });
      if (expiredObjectDeleteMarker === 'true') out.expiredObjectDeleteMarker = true;
    } else if ((days !== undefined) === (date !== undefined)) throw new S3Error('MalformedXML');
    if (days !== undefined)
      out.expirationDays = positive(days, "'Days' for Expiration action must be a positive integer");
    if (date !== undefined) {
      const ms = Date.parse(date);
      if (Number.isNaN(ms)) throw new S3Error('MalformedXML');
      if (ms % 86_400_000 !== 0) throw new S3Error('InvalidArgument', { message: "'Date' must be at midnight GMT" });
      out.expirationDate = new Date(ms).toISOString();
    }
  }
  if (r.abortIncompleteDays !== undefined) {
    if (out.tags)
      throw new S3Error('InvalidRequest', { message: 'AbortIncompleteMultipartUpload cannot be specified with Tags.' });
    out.abortIncompleteDays = positive(
      r.abortIncompleteDays,
      "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
    );
  }
  if (r.noncurrentExpiration) {
    const { noncurrentDays, newerNoncurrentVersions } = r.noncurrentExpiration;
    if (noncurrentDays === undefined) throw new S3Error('MalformedXML');
    out.noncurrentDays = positive(
      noncurrentDays,
      "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    );
    if (newerNoncurrentVersions !== undefined) {
      const n = positive(newerNoncurrentVersions, "'NewerNoncurrentVersions' must be a positive integer");
      if (n > 100)
        throw new S3Error('InvalidArgument', { message: "'NewerNoncurrentVersions' must not be greater than 100" });
      out.newerNoncurrentVersions = n;
    }
  }
  const actions = [
    out.expirationDays,
    out.expirationDate,
    out.abortIncompleteDays,
    out.noncurrentDays,
    out.expiredObjectDeleteMarker,
  ];
  // Expiration with ExpiredObjectDeleteMarker false is an action written, but one that does nothing.
  if (actions.every((a) => a === undefined) && r.expiration?.expiredObjectDeleteMarker !== 'false') {
    throw new S3Error('InvalidRequest', { message: 'At least one action needs to be specified in a rule' });
  }
  return out;
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html */
export async function putBucketLifecycle(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  const { rules } = await parseLifecycleConfiguration(xmlBody(ctx));
  if (rules.length > MAX_RULES) throw new S3Error('MalformedXML');
  const checked = rules.map(checkRule);
  if (new Set(checked.map((r) => r.id)).size !== checked.length) {
    throw new S3Error('InvalidArgument', { message: 'Rule ID must be unique. Found same ID for more than one rule' });
  }
  await services.store.updateBucket(ep.bucket, { lifecycle: checked });
  sendEmpty(ctx);
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLifecycleConfiguration.html */
export async function getBucketLifecycle(ctx: Context, ep: BucketEndpoint): Promise<void> {
  const bucket = requestBucket(ctx);
  if (!bucket.lifecycle) throw new S3Error('NoSuchLifecycleConfiguration', { extra: { BucketName: ep.bucket } });
  sendXml(ctx, 'LifecycleConfiguration', {
    Rule: bucket.lifecycle.map((r) => {
      const tags = Object.entries(r.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
      const conditions = {
        Prefix: r.prefix,
        Tag: tags,
        ObjectSizeGreaterThan: r.sizeGreaterThan,
        ObjectSizeLessThan: r.sizeLessThan,
      };
      const count =
        Object.values(conditions).filter((v) => (Array.isArray(v) ? v.length > 0 : v !== undefined)).length +
        Math.max(0, tags.length - 1);
      // A rule comes back in the form it was written: the older one has its Prefix directly in the rule.
      return {
        ID: r.id,
        Prefix: r.legacyPrefix ? (r.prefix ?? '') : undefined,
        Filter: r.legacyPrefix ? undefined : count > 1 ? { And: conditions } : conditions,
        Status: r.enabled ? 'Enabled' : 'Disabled',
        Expiration:
          r.expirationDays !== undefined
            ? { Days: r.expirationDays }
            : r.expirationDate !== undefined
              ? { Date: r.expirationDate }
              : r.expiredObjectDeleteMarker
                ? { ExpiredObjectDeleteMarker: true }
                : undefined,
        NoncurrentVersionExpiration:
          r.noncurrentDays !== undefined
            ? { NoncurrentDays: r.noncurrentDays, NewerNoncurrentVersions: r.newerNoncurrentVersions }
            : undefined,
        AbortIncompleteMultipartUpload:
          r.abortIncompleteDays !== undefined ? { DaysAfterInitiation: r.abortIncompleteDays } : undefined,
      };
    }),
  });
}

/** @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketLifecycle.html */
export async function deleteBucketLifecycle(ctx: Context, ep: BucketEndpoint, services: Services): Promise<void> {
  await services.store.updateBucket(ep.bucket, { lifecycle: undefined });
  sendEmpty(ctx, 204);
}
