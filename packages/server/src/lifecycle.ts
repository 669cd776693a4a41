/**
 * Bucket lifecycle: when an object or a multipart upload expires under a bucket's rules, and the background run
 * that deletes expired objects and aborts stale uploads. S3's arithmetic: an expiration of N days falls at the
 * first midnight UTC after creation + N days; a date rule at that date.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
 */
import type { ObjectStore, BucketLifecycleRule, ObjectRecord } from '@coffer/blob-store';
import type { MultipartStore } from '@coffer/multipart';
import type { Logger } from 'pino';

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
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(store: ObjectStore, multipart: MultipartStore, logger: Logger) {
    this.#store = store;
    this.#multipart = multipart;
    this.#logger = logger;
  }

  /** Runs once soon, then every `intervalMs`. */
  start(intervalMs: number): void {
    const tick = () => {
      // One node at a time runs the rules when several share the metadata.
      const lease = Math.ceil(intervalMs * 1.5);
      this.#running = this.#store
        .acquireJobLease('lifecycle', lease)
        .then((mine) => (mine ? this.run() : undefined))
        .then(
          () => undefined,
          (err: unknown) => this.#logger.error({ err }, 'lifecycle run failed'),
        )
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped) this.#timer = setTimeout(tick, intervalMs);
        });
    };
    this.#timer = setTimeout(tick, Math.min(intervalMs, 1000));
  }

  /** Stops the runs; waits for one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
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
            if (e && e.at <= now && (await this.#store.deleteObject(bucket.name, rec.key, { ifObjectId: rec.id }))) {
              expired++;
              this.#logger.info({ bucket: bucket.name, rule: e.ruleId }, 'lifecycle expired an object');
            }
          }
          if (!page.isTruncated || page.objects.length === 0) break;
          after = page.objects[page.objects.length - 1]!.key;
        }
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
}
