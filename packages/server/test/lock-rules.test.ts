import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ObjectLock, ObjectRecord } from '@coffer/blob-store';
import { checkDeletable, checkRetentionChange, isLocked } from '../src/lock-rules.ts';
import { S3Error } from '../src/errors.ts';

const PAST = '2020-01-01T00:00:00.000Z';
const SOON = new Date(Date.now() + 86_400_000).toISOString();
const LATER = new Date(Date.now() + 2 * 86_400_000).toISOString();
const denied = (e: unknown) => e instanceof S3Error && e.code === 'AccessDenied' && e.status === 403;
const rec = (lock?: ObjectLock) => ({ lock }) as ObjectRecord;

describe('isLocked', () => {
  it('should hold for a legal hold or a retention not yet over, at the given time', () => {
    assert.equal(isLocked(undefined, Date.now()), false);
    assert.equal(isLocked({ legalHold: false }, Date.now()), false);
    assert.equal(isLocked({ legalHold: true }, Date.now()), true);
    assert.equal(isLocked({ mode: 'COMPLIANCE', retainUntil: SOON }, Date.now()), true);
    assert.equal(isLocked({ mode: 'COMPLIANCE', retainUntil: SOON }, Date.parse(SOON)), false);
    assert.equal(isLocked({ mode: 'GOVERNANCE', retainUntil: PAST }, Date.now()), false);
  });
});

describe('checkDeletable', () => {
  it('should let an object go once its retention is over, whatever the mode', () => {
    checkDeletable(rec({ mode: 'COMPLIANCE', retainUntil: PAST }), false);
    checkDeletable(rec({ mode: 'GOVERNANCE', retainUntil: PAST, legalHold: false }), false);
    checkDeletable(rec(), false);
  });

  it('should refuse COMPLIANCE always, GOVERNANCE without bypass, and a legal hold always', () => {
    assert.throws(() => checkDeletable(rec({ mode: 'COMPLIANCE', retainUntil: SOON }), true), denied);
    assert.throws(() => checkDeletable(rec({ mode: 'GOVERNANCE', retainUntil: SOON }), false), denied);
    checkDeletable(rec({ mode: 'GOVERNANCE', retainUntil: SOON }), true);
    assert.throws(() => checkDeletable(rec({ mode: 'GOVERNANCE', retainUntil: PAST, legalHold: true }), true), denied);
  });
});

describe('checkRetentionChange', () => {
  const gov = { mode: 'GOVERNANCE', retainUntil: SOON } as const;
  const comp = { mode: 'COMPLIANCE', retainUntil: SOON } as const;

  it('should allow extending, and GOVERNANCE turned into COMPLIANCE, without bypass', () => {
    checkRetentionChange(gov, { mode: 'GOVERNANCE', retainUntil: LATER }, false);
    checkRetentionChange(gov, { mode: 'COMPLIANCE', retainUntil: SOON }, false);
    checkRetentionChange(comp, { mode: 'COMPLIANCE', retainUntil: LATER }, false);
  });

  it('should refuse weakening an active retention: GOVERNANCE without bypass, COMPLIANCE ever', () => {
    assert.throws(() => checkRetentionChange(gov, { mode: 'GOVERNANCE', retainUntil: PAST }, false), denied);
    assert.throws(() => checkRetentionChange(gov, {}, false), denied);
    checkRetentionChange(gov, {}, true);
    assert.throws(() => checkRetentionChange(comp, { mode: 'GOVERNANCE', retainUntil: LATER }, true), denied);
    assert.throws(() => checkRetentionChange(comp, { mode: 'COMPLIANCE', retainUntil: PAST }, true), denied);
  });

  it('should allow any change once the retention is over', () => {
    checkRetentionChange({ mode: 'COMPLIANCE', retainUntil: PAST }, {}, false);
  });
});
