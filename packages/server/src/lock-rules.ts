/**
 * Object Lock rules, checked against the server's clock: when an object is locked, when it may be deleted (or
 * overwritten by version), and how its retention may change. Free of HTTP, so that the lifecycle run uses them too.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-retention-modes
 */
import type { ObjectLock, ObjectRecord, RetentionMode } from '@coffer/blob-store';
import { S3Error } from './errors.ts';

/** A retention that is not over at `now`. */
function retentionActive(lock: ObjectLock | undefined, now = Date.now()): lock is ObjectLock & { mode: RetentionMode } {
  return lock?.mode !== undefined && Date.parse(lock.retainUntil!) > now;
}

/** Whether nobody may delete the object at `now`: a legal hold, or a retention (of either mode) not yet over. */
export function isLocked(lock: ObjectLock | undefined, now: number): boolean {
  return lock?.legalHold === true || retentionActive(lock, now);
}

function protectedObject(): S3Error {
  return new S3Error('AccessDenied', { message: 'Access Denied because object protected by object lock.' });
}

/**
 * Refuses to delete (or overwrite by version) an object under a legal hold or an active retention: COMPLIANCE
 * always, GOVERNANCE unless `bypass`.
 */
export function checkDeletable(rec: ObjectRecord, bypass: boolean): void {
  if (rec.lock?.legalHold) throw protectedObject();
  if (!retentionActive(rec.lock)) return;
  if (rec.lock.mode === 'COMPLIANCE' || !bypass) throw protectedObject();
}

/**
 * Refuses a retention change that weakens an active retention: removing it, an earlier date, or COMPLIANCE turned
 * into GOVERNANCE. A GOVERNANCE retention can be weakened with `bypass`; a COMPLIANCE one never.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-retention-modes
 */
export function checkRetentionChange(
  current: ObjectLock | undefined,
  next: ObjectLock | undefined,
  bypass: boolean,
): void {
  if (!retentionActive(current)) return;
  const weaker =
    next?.mode === undefined ||
    Date.parse(next.retainUntil!) < Date.parse(current.retainUntil!) ||
    (current.mode === 'COMPLIANCE' && next.mode === 'GOVERNANCE');
  if (!weaker) return;
  if (current.mode === 'COMPLIANCE' || !bypass) throw protectedObject();
}
