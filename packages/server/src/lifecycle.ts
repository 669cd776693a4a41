/**
 * Bucket lifecycle: when an object or a multipart upload expires under a bucket's rules, and the background run
 * that deletes expired objects and aborts stale uploads. S3's arithmetic: an expiration of N days falls at the
 * first midnight UTC after creation + N days; a date rule at that date.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
 */
import type { ObjectStore, BucketLifecycleRule, ObjectRecord, VersionRecord } from '@coffer/blob-store';
import type { MultipartStore } from '@coffer/multipart';
import type { Logger } from 'pino';
import { startLeasedJob, type LeasedJob } from './leased-job.ts';
import { isLocked } from './lock-rules.ts';

/** Thrown inside a lifecycle delete's commit to keep an object that became locked since it was listed. */
class KeptLocked extends Error {}

const DAY = 86_400_000;

/** The first midnight UTC at or after `ms` (a time already at midnight stays). */
function midnightAtOrAfter(ms: number): number {
  return Math.ceil(ms / DAY) * DAY;
}

/** Whether a rule's filter selects the object. */
function selects(rule: BucketLifecycleRule, rec: Pick<ObjectRecord, 'key' | 'size' | 'tags'>): boolean {
  if (!rule.enabled) return false;
  if (rule.prefix !== undefined && !rec.key.startsWith(rule.prefix)) return false;
  if (rule.sizeGreaterThan !== undefined && !(rec.size > rule.sizeGreaterThan)) return false;
  if (rule.sizeLessThan !== undefined && !(rec.size < rule.sizeLessThan)) return false;
  return Object.entries(rule.tags ?? {}).every(([k, v]) => rec.tags?.[k] === v);
}

/** When the object expires under `rules` (the earliest rule that expires it), or undefined. */
export function objectExpiry(
  rules: readonly BucketLifecycleRule[],
  rec: Pick<ObjectRecord, 'key' | 'size' | 'tags' | 'lastModified'>,
): { at: number; ruleId: string } | undefined {
  let best: { at: number; ruleId: string } | undefined;
  for (const rule of rules) {
    if (!selects(rule, rec)) continue;
    let at: number | undefined;
    if (rule.expirationDays !== undefined)
      at = midnightAtOrAfter(Date.parse(rec.lastModified) + rule.expirationDays * DAY);
    else if (rule.expirationDate !== undefined) at = Date.parse(rule.expirationDate);
    if (at !== undefined && (best === undefined || at < best.at)) best = { at, ruleId: rule.id };
  }
  return best;
}

/** When a multipart upload of `key` initiated at `initiated` is aborted under `rules`, or undefined. */
export function uploadExpiry(
  rules: readonly BucketLifecycleRule[],
  key: string,
  initiated: string,
): number | undefined {
  let best: number | undefined;
  for (const rule of rules) {
    if (
      !rule.enabled ||
      rule.abortIncompleteDays === undefined ||
      (rule.prefix !== undefined && !key.startsWith(rule.prefix))
    )
      continue;
    const at = midnightAtOrAfter(Date.parse(initiated) + rule.abortIncompleteDays * DAY);
    if (best === undefined || at < best) best = at;
  }
  return best;
}

/**
 * The versions of one key (newest first) that noncurrent-version rules remove at `now`: a noncurrent version goes
 * `noncurrentDays` after it became noncurrent (when the next newer version was written, rounded up to midnight UTC)
 * unless it is among the `newerNoncurrentVersions` newest noncurrent ones; a delete marker that is the only version
 * left goes under `expiredObjectDeleteMarker`.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html
 */
export function expiredVersions(
  rules: readonly BucketLifecycleRule[],
  versions: readonly VersionRecord[],
  now: number,
): VersionRecord[] {
  const out: VersionRecord[] = [];
  const [latest] = versions;
  if (!latest) return out;
  const applies = (r: BucketLifecycleRule, v: VersionRecord) =>
    v.deleteMarker ? r.enabled && (r.prefix === undefined || v.key.startsWith(r.prefix)) && !r.tags : selects(r, v);
  if (versions.length === 1 && latest.deleteMarker) {
    if (rules.some((r) => r.expiredObjectDeleteMarker && applies(r, latest))) out.push(latest);
    return out;
  }
  for (let i = 1; i < versions.length; i++) {
    const v = versions[i]!;
    const since = Date.parse(versions[i - 1]!.lastModified);
    const gone = rules.some(
      (r) =>
        r.noncurrentDays !== undefined &&
        applies(r, v) &&
        i > (r.newerNoncurrentVersions ?? 0) &&
        midnightAtOrAfter(since + r.noncurrentDays * DAY) <= now,
    );
    if (gone) out.push(v);
  }
  return out;
}

/** `x-amz-expiration` of a GET/HEAD: `expiry-date="…", rule-id="…"`. */
export function expirationHeader(e: { at: number; ruleId: string }): string {
  return `expiry-date="${new Date(e.at).toUTCString()}", rule-id="${e.ruleId}"`;
}

const PAGE = 1000;

/**
 * Runs the lifecycle rules of every bucket now and then: deletes expired objects (each only if it is still the
 * object that expired: one written since under the same key stays) and aborts expired multipart uploads.
 */
export class LifecycleRunner {
  readonly #store: ObjectStore;
  readonly #multipart: MultipartStore;
  readonly #logger: Logger;
  #job: LeasedJob | undefined;
  /** Set by {@link stop}: a run in progress ends at its next page. */
  #stopped = false;

  constructor(store: ObjectStore, multipart: MultipartStore, logger: Logger) {
    this.#store = store;
    this.#multipart = multipart;
    this.#logger = logger;
  }

  /** Runs once soon, then every `intervalMs` (one node at a time when several share the metadata). */
  start(intervalMs: number): void {
    this.#job ??= startLeasedJob(
      this.#store,
      'lifecycle',
      intervalMs,
      () => this.run(),
      (err) => this.#logger.error({ err }, 'lifecycle run failed'),
    );
  }

  /** Stops the runs; waits for one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#job?.stop();
  }

  /** One pass over every bucket. Returns what it did. */
  async run(now: number = Date.now()): Promise<{ expired: number; aborted: number }> {
    let expired = 0;
    let aborted = 0;
    for (const bucket of await this.#store.listBuckets()) {
      const rules = bucket.lifecycle?.filter((r) => r.enabled);
      if (!rules?.length) continue;
      if (rules.some((r) => r.expirationDays !== undefined || r.expirationDate !== undefined)) {
        let after: string | undefined;
        for (;;) {
          if (this.#stopped) return { expired, aborted };
          const page = await this.#store.listObjects(bucket.name, { after, maxKeys: PAGE });
          for (const rec of page.objects) {
            const e = objectExpiry(rules, rec);
            // Lifecycle never removes a locked object (legal hold, or retention of either mode not yet over); on a
            // versioned bucket expiry only adds a delete marker, which removes nothing (the store checks no version).
            if (!e || e.at > now || (!bucket.versioning && isLocked(rec.lock, now))) continue;
            const check = (current: ObjectRecord) => {
              if (isLocked(current.lock, now)) throw new KeptLocked();
            };
            const deleted = await this.#store
              .deleteObject(bucket.name, rec.key, { ifObjectId: rec.id, owner: bucket.owner, check })
              .catch((err: unknown) => (err instanceof KeptLocked ? false : Promise.reject(err)));
            if (deleted) {
              expired++;
              this.#logger.info({ bucket: bucket.name, rule: e.ruleId }, 'lifecycle expired an object');
            }
          }
          if (!page.isTruncated || page.objects.length === 0) break;
          after = page.objects[page.objects.length - 1]!.key;
        }
      }
      if (bucket.versioning && rules.some((r) => r.noncurrentDays !== undefined || r.expiredObjectDeleteMarker)) {
        if (this.#stopped) return { expired, aborted };
        expired += await this.#expireVersions(bucket.name, rules, now);
      }
      if (rules.some((r) => r.abortIncompleteDays !== undefined)) {
        const { uploads } = await this.#multipart.listUploads(bucket.name, { maxUploads: Number.MAX_SAFE_INTEGER });
        for (const up of uploads) {
          const at = uploadExpiry(rules, up.key, up.initiated);
          if (at !== undefined && at <= now) {
            await this.#multipart.abort(bucket.name, up.key, up.uploadId).then(
              () => aborted++,
              () => undefined,
            );
          }
        }
      }
    }
    return { expired, aborted };
  }

  /** Removes the versions noncurrent-version rules expire, key by key; a locked version stays. */
  async #expireVersions(bucket: string, rules: readonly BucketLifecycleRule[], now: number): Promise<number> {
    let removed = 0;
    const check = (current: ObjectRecord) => {
      if (isLocked(current.lock, now)) throw new KeptLocked();
    };
    const expire = async (versions: VersionRecord[]) => {
      for (const v of expiredVersions(rules, versions, now)) {
        const opts = { versionId: v.versionId ?? 'null', check };
        const done = await this.#store
          .deleteObject(bucket, v.key, opts)
          .catch((err: unknown) => (err instanceof KeptLocked ? undefined : Promise.reject(err)));
        if (done) removed++;
      }
    };
    let key: { keyMarker?: string; versionIdMarker?: string } = {};
    let group: VersionRecord[] = [];
    for (;;) {
      if (this.#stopped) return removed;
      const page = await this.#store.listObjectVersions(bucket, { ...key, maxKeys: PAGE });
      for (const { rec } of page.versions) {
        // The versions of a key come together, newest first; a key's group is complete when the next key starts.
        if (group.length > 0 && group[0]!.key !== rec.key) {
          await expire(group);
          group = [];
        }
        group.push(rec);
      }
      if (!page.isTruncated) break;
      key = { keyMarker: page.nextKeyMarker, versionIdMarker: page.nextVersionIdMarker };
    }
    if (group.length > 0) await expire(group);
    return removed;
  }
}
