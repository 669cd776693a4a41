/**
 * Lifecycle arithmetic (S3's: N days after creation, rounded up to the next midnight UTC) and one lifecycle run
 * over a real store at a chosen time: expired objects deleted, an object rewritten since it was listed kept, stale
 * multipart uploads aborted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { BlobStore, type BucketLifecycleRule, type ObjectLock } from '@coffer/blob-store';
import { bodyOf } from '@coffer/blob-store/testing';
import { MasterKeyRing } from '@coffer/crypto';
import { MultipartStore } from '@coffer/multipart';
import { LifecycleRunner, expirationHeader, objectExpiry, uploadExpiry } from '../src/lifecycle.ts';

const rule = (r: Partial<BucketLifecycleRule>): BucketLifecycleRule => ({ id: 'r', enabled: true, ...r });
const obj = (key: string, lastModified: string, extra: { size?: number; tags?: Record<string, string> } = {}) => ({
  key,
  lastModified,
  size: extra.size ?? 10,
  tags: extra.tags,
});

describe('lifecycle arithmetic', () => {
  it('should expire N days after creation at the next midnight UTC', () => {
    assert.equal(
      objectExpiry([rule({ expirationDays: 1 })], obj('k', '2026-01-01T10:00:00.000Z'))?.at,
      Date.parse('2026-01-03T00:00:00Z'),
    );
    assert.equal(
      objectExpiry([rule({ expirationDays: 1 })], obj('k', '2026-01-01T00:00:00.000Z'))?.at,
      Date.parse('2026-01-02T00:00:00Z'),
    );
    assert.equal(
      objectExpiry([rule({ expirationDate: '2026-03-01T00:00:00.000Z' })], obj('k', '2026-01-01T10:00:00.000Z'))?.at,
      Date.parse('2026-03-01T00:00:00Z'),
    );
    assert.equal(
      expirationHeader({ at: Date.parse('2026-01-03T00:00:00Z'), ruleId: 'logs' }),
      'expiry-date="Sat, 03 Jan 2026 00:00:00 GMT", rule-id="logs"',
    );
  });

  it('should apply only enabled rules whose prefix, tags and size bounds select the object, the earliest winning', () => {
    const created = '2026-01-01T10:00:00.000Z';
    const rules = [
      rule({ id: 'logs', prefix: 'logs/', expirationDays: 30 }),
      rule({ id: 'temp', tags: { temp: 'yes' }, expirationDays: 2 }),
      rule({ id: 'big', sizeGreaterThan: 100, sizeLessThan: 1000, expirationDays: 5 }),
      rule({ id: 'off', enabled: false, expirationDays: 1 }),
    ];
    assert.equal(objectExpiry(rules, obj('logs/a', created))?.ruleId, 'logs');
    assert.equal(objectExpiry(rules, obj('logs/a', created, { tags: { temp: 'yes' } }))?.ruleId, 'temp');
    assert.equal(objectExpiry(rules, obj('other', created, { tags: { temp: 'no' } })), undefined);
    assert.equal(objectExpiry(rules, obj('other', created, { size: 500 }))?.ruleId, 'big');
    assert.equal(objectExpiry(rules, obj('other', created, { size: 1000 })), undefined);
    assert.equal(
      uploadExpiry([rule({ prefix: 'mp/', abortIncompleteDays: 2 })], 'mp/x', created),
      Date.parse('2026-01-04T00:00:00Z'),
    );
    assert.equal(uploadExpiry([rule({ prefix: 'mp/', abortIncompleteDays: 2 })], 'other', created), undefined);
  });
});

describe('a lifecycle run over a real store', () => {
  let dir: string;
  let store: BlobStore;
  let multipart: MultipartStore;
  const put = (key: string, body = 'x') =>
    store.putObject('lc', key, bodyOf(Buffer.from(body)), {
      owner: 'u',
      metadata: { userMeta: {} },
      encryption: { scheme: 'SSE-S3' },
    });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coffer-lifecycle-'));
    store = await BlobStore.open({ dir, keyRing: MasterKeyRing.fromKey(randomBytes(32)), sync: false });
    multipart = new MultipartStore(store);
    await store.createBucket('lc', 'u');
  });
  after(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should delete what expired, keep what was rewritten since, and abort stale uploads', async () => {
    for (const k of ['logs/a', 'logs/b', 'keep/c']) await put(k);
    const upload = await multipart.create('lc', 'mp/big', {
      owner: 'u',
      metadata: { userMeta: {} },
      encryption: { scheme: 'SSE-S3' },
    });
    await store.updateBucket('lc', {
      lifecycle: [
        rule({ id: 'logs', prefix: 'logs/', expirationDays: 1 }),
        rule({ id: 'mp', prefix: 'mp/', abortIncompleteDays: 1 }),
      ],
    });
    const runner = new LifecycleRunner(store, multipart, pino({ level: 'silent' }));

    assert.deepEqual(await runner.run(Date.now()), { expired: 0, aborted: 0 }); // nothing is a day old yet
    // An object rewritten after the run listed it is not the one that expired.
    const listed = (await store.getObject('lc', 'logs/b'))!;
    await put('logs/b', 'rewritten');
    assert.equal(await store.deleteObject('lc', 'logs/b', { ifObjectId: listed.id }), undefined);

    assert.deepEqual(await runner.run(Date.now() + 3 * 86_400_000), { expired: 2, aborted: 1 });
    assert.deepEqual(
      (await store.listObjects('lc', { maxKeys: 10 })).objects.map((o) => o.key),
      ['keep/c'],
    );
    await assert.rejects(multipart.getUpload('lc', 'mp/big', upload.uploadId), { code: 'MP_NO_SUCH_UPLOAD' });
  });
});

describe('a lifecycle run over a versioned store', () => {
  let dir: string;
  let store: BlobStore;
  const put = (key: string, lock?: ObjectLock) =>
    store.putObject('lcv', key, bodyOf(Buffer.from(key)), {
      owner: 'u',
      metadata: { userMeta: {}, lock },
      encryption: { scheme: 'SSE-S3' },
    });
  const listing = async () =>
    (await store.listObjectVersions('lcv', { maxKeys: 100 })).versions.map(
      (e) => `${e.rec.key}${e.rec.deleteMarker ? '!' : ''}`,
    );

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coffer-lifecycle-v-'));
    store = await BlobStore.open({ dir, keyRing: MasterKeyRing.fromKey(randomBytes(32)), sync: false });
    await store.createBucket('lcv', 'u');
    await store.updateBucket('lcv', { versioning: 'Enabled' });
  });
  after(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should remove old noncurrent versions past the newest kept, lone delete markers, and never a locked version', async () => {
    const k = [await put('k'), await put('k'), await put('k')];
    // The oldest version of `locked` would go as k's does, but it is under a legal hold.
    await put('locked', { legalHold: true });
    await put('locked');
    await put('locked');
    const only = await put('only');
    await store.deleteObject('lcv', 'only');
    await store.deleteObject('lcv', 'only', { versionId: only.versionId! });
    await store.updateBucket('lcv', {
      lifecycle: [
        rule({ id: 'old', noncurrentDays: 1, newerNoncurrentVersions: 1 }),
        rule({ id: 'markers', expiredObjectDeleteMarker: true }),
      ],
    });
    const runner = new LifecycleRunner(store, new MultipartStore(store), pino({ level: 'silent' }));
    const before = await listing();
    assert.deepEqual(before, ['k', 'k', 'k', 'locked', 'locked', 'locked', 'only!']);
    // The lone marker goes at once; no version is noncurrent for a day yet.
    assert.deepEqual(await runner.run(Date.now()), { expired: 1, aborted: 0 });
    assert.deepEqual(await listing(), ['k', 'k', 'k', 'locked', 'locked', 'locked']);
    // Three days on: k's oldest goes (its newest noncurrent version is kept); the locked one stays.
    assert.deepEqual(await runner.run(Date.now() + 3 * 86_400_000), { expired: 1, aborted: 0 });
    const left = (await store.listObjectVersions('lcv', { maxKeys: 100 })).versions.map((e) => e.rec.versionId);
    assert.deepEqual(left.slice(0, 2), [k[2]!.versionId, k[1]!.versionId]);
    assert.deepEqual(await listing(), ['k', 'k', 'locked', 'locked', 'locked']);
  });
});
