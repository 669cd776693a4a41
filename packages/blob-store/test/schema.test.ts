import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';

import { Level } from 'level';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore, type BucketRecord, type ObjectRecord } from '../src/index.ts';

/**
 * Before the engine seam, the store wrote LevelDB through abstract-level sublevels: `b` (buckets), `o` (objects,
 * bucket NUL key), `r` (refcounts), `d` (inline ciphertext) and `x`/NS (records), JSON values. A data directory from
 * then must open unchanged, and one written now must read the same way through those sublevels.
 */
describe('schema: the LevelDB layout of earlier releases', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function fresh() {
    const dir = await mkdtemp(path.join(tmpdir(), 'coffer-schema-'));
    dirs.push(dir);
    return { dir, keyRing: await MasterKeyRing.open({ dir: path.join(dir, 'keys') }) };
  }
  const sublevels = (db: Level<string, unknown>) => ({
    b: db.sublevel<string, BucketRecord>('b', { keyEncoding: 'utf8', valueEncoding: 'json' }),
    o: db.sublevel<string, ObjectRecord>('o', { keyEncoding: 'utf8', valueEncoding: 'json' }),
    r: db.sublevel<string, { v: 1; n: number }>('r', { keyEncoding: 'utf8', valueEncoding: 'json' }),
    x: (ns: string) => db.sublevel<string, object>(['x', ns], { keyEncoding: 'utf8', valueEncoding: 'json' }),
  });

  it('should write buckets, objects, refcounts and records where the sublevels read them', async () => {
    const { dir, keyRing } = await fresh();
    const store = await BlobStore.open({ dir, keyRing, inlineMax: 0 });
    await store.createBucket('photos', 'alice');
    const rec = await store.putObject('photos', 'a/é.txt', Readable.from([Buffer.from('hello')]), {
      owner: 'alice',
      metadata: { userMeta: {} },
      encryption: { scheme: 'SSE-S3' },
    });
    await store.putRecord('mp-uploads', 'photos\x00up1', { v: 1, n: 7 });
    await store.close();

    const db = new Level<string, unknown>(path.join(dir, 'meta'), { keyEncoding: 'utf8', valueEncoding: 'json' });
    await db.open();
    try {
      const s = sublevels(db);
      assert.equal((await s.b.get('photos'))?.owner, 'alice');
      const o = await s.o.get('photos\x00a/é.txt');
      assert.equal(o?.id, rec.id);
      assert.equal(o?.etag, '5d41402abc4b2a76b9719d911017c592');
      assert.deepEqual(await s.r.get(rec.segments[0]!.blobId), { v: 1, n: 1 });
      assert.deepEqual(await s.x('mp-uploads').get('photos\x00up1'), { v: 1, n: 7 });
    } finally {
      await db.close();
    }
  });

  it('should open a data directory written through the sublevels, and list and read what it holds', async () => {
    const { dir, keyRing } = await fresh();
    const db = new Level<string, unknown>(path.join(dir, 'meta'), { keyEncoding: 'utf8', valueEncoding: 'json' });
    await db.open();
    const s = sublevels(db);
    const created = new Date().toISOString();
    await s.b.put('old', { v: 1, name: 'old', owner: 'bob', created, location: 'us-east-1' });
    await s.b.put('older', { v: 1, name: 'older', owner: 'bob', created, location: 'eu-west-1' });
    await s.x('users').put('AKIAOLD', { v: 1, name: 'bob' });
    await s.x('users').put('AKIAOLDER', { v: 1, name: 'carol' });
    await s.x('usersx').put('AKIA', { v: 1, name: 'not a user' });
    await db.close();

    const store = await BlobStore.open({ dir, keyRing });
    try {
      assert.deepEqual(
        (await store.listBuckets()).map((b) => [b.name, b.location]),
        [
          ['old', 'us-east-1'],
          ['older', 'eu-west-1'],
        ],
      );
      assert.equal((await store.getBucket('older'))?.owner, 'bob');
      assert.deepEqual(await store.getRecord('users', 'AKIAOLD'), { v: 1, name: 'bob' });
      assert.deepEqual(await store.listRecords('users'), [
        { v: 1, name: 'bob' },
        { v: 1, name: 'carol' },
      ]);
      assert.deepEqual(await store.listRecords('users', { prefix: 'AKIAOLDE' }), [{ v: 1, name: 'carol' }]);
    } finally {
      await store.close();
    }
  });
});
