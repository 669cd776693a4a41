/**
 * Versions in the metadata layout (schema.ts), on LevelDB: a data directory written before versions existed opens
 * unchanged, its objects the null versions; and the latest entries keep ListObjects off the old versions.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { MasterKeyRing } from '@coffer/crypto';
import { LevelEngine } from '@coffer/kv';

import { BlobStore, type ObjectRecord } from '../src/index.ts';
import { K } from '../src/schema.ts';
import { readAll } from '../src/testing.ts';

/** Written by the store of commit a3ab0e4, before versions existed (bucket `old`, three SSE-S3 objects). */
const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'datadir-before-versions');

async function openCopy(dir: string): Promise<BlobStore> {
  const keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
  return BlobStore.open({ dir, keyRing, sync: false });
}

async function text(store: BlobStore, rec: ObjectRecord | undefined): Promise<string> {
  assert.ok(rec);
  return (await readAll(await store.openObject(rec))).toString();
}

/** How many engine keys lie in `range`. */
async function countKeys(dir: string, range: { gte: Buffer; lt: Buffer }): Promise<number> {
  const kv = await LevelEngine.open(path.join(dir, 'meta'));
  try {
    let n = 0;
    for await (const _ of kv.scan(range)) n++;
    return n;
  } finally {
    await kv.close();
  }
}

describe('versions in the metadata layout', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coffer-versions-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should read and list a data directory from before versions, its objects the null versions', async () => {
    const data = path.join(dir, 'before');
    await cp(FIXTURE, data, { recursive: true });
    const store = await openCopy(data);
    try {
      const listed = await store.listObjects('old', { maxKeys: 10 });
      assert.deepEqual(
        listed.objects.map((o) => [o.key, o.size, o.versionId]),
        [
          ['dir/big.bin', 100_000, undefined],
          ['dir/other.txt', 12, undefined],
          ['small.txt', 32, undefined],
        ],
      );
      assert.equal(await text(store, await store.getObject('old', 'small.txt')), 'written before versions existed\n');
      const big = await readAll(
        await store.openObject((await store.getVersion('old', 'dir/big.bin', 'null')) as ObjectRecord),
      );
      assert.equal(big.length, 100_000);
      assert.ok(big.every((b, i) => b === i % 251));
      const versions = await store.listObjectVersions('old', { maxKeys: 10 });
      assert.deepEqual(
        versions.versions.map((e) => [e.rec.key, e.rec.versionId ?? 'null', e.isLatest]),
        [
          ['dir/big.bin', 'null', true],
          ['dir/other.txt', 'null', true],
          ['small.txt', 'null', true],
        ],
      );
      // Versioning on: the old object stays as the null version behind the new one.
      await store.updateBucket('old', { versioning: 'Enabled' });
      const next = await store.putObject('old', 'small.txt', Readable.from([Buffer.from('new')]), {
        owner: 'u1',
        metadata: { userMeta: {} },
        encryption: { scheme: 'SSE-S3' },
      });
      assert.equal(await text(store, await store.getObject('old', 'small.txt')), 'new');
      assert.equal(
        await text(store, (await store.getVersion('old', 'small.txt', 'null')) as ObjectRecord),
        'written before versions existed\n',
      );
      assert.deepEqual(
        (await store.listObjectVersions('old', { prefix: 'small', maxKeys: 10 })).versions.map((e) => [
          e.rec.versionId ?? 'null',
          e.isLatest,
        ]),
        [
          [next.versionId, true],
          ['null', false],
        ],
      );
      assert.deepEqual((await store.scrub()).failures, []);
    } finally {
      await store.close();
    }
  });

  it('should re-wrap the data key of every version on key rotation', async () => {
    const data = path.join(dir, 'rotate');
    const keyRing = await MasterKeyRing.open({ dir: path.join(data, 'keys') });
    const store = await BlobStore.open({ dir: data, keyRing, sync: false });
    try {
      await store.createBucket('b', 'u1');
      await store.updateBucket('b', { versioning: 'Enabled' });
      for (const word of ['one', 'two', 'three']) {
        await store.putObject('b', 'k', Readable.from([Buffer.from(word)]), {
          owner: 'u1',
          metadata: { userMeta: {} },
          encryption: { scheme: 'SSE-S3' },
        });
      }
      await store.deleteObject('b', 'k');
      const active = await keyRing.rotate();
      assert.deepEqual(await store.rewrapKeys(), { scanned: 3, rewrapped: 3 });
      const versions = (await store.listObjectVersions('b', { maxKeys: 10 })).versions.map((e) => e.rec);
      assert.equal(versions.length, 4);
      const objects = versions.filter((r): r is ObjectRecord => !r.deleteMarker);
      assert.deepEqual(
        objects.map((r) => r.enc.wrap.kekId),
        [active, active, active],
      );
      assert.deepEqual(await Promise.all(objects.map((r) => text(store, r))), ['three', 'two', 'one']);
    } finally {
      await store.close();
    }
  });

  it('should keep 1,000 versions of 3 keys out of the latest entries that ListObjects scans', async () => {
    const data = path.join(dir, 'many');
    let store = await openCopy(data);
    try {
      await store.createBucket('b', 'u1');
      await store.updateBucket('b', { versioning: 'Enabled' });
      for (let i = 0; i < 1000; i++) {
        await store.putObject('b', `k${i % 3}`, Readable.from([Buffer.from(String(i))]), {
          owner: 'u1',
          metadata: { userMeta: {} },
          encryption: { scheme: 'SSE-S3' },
        });
      }
    } finally {
      await store.close();
    }
    // ListObjects scans `!o!` only: three entries, however many versions lie in `!v!`.
    assert.equal(await countKeys(data, K.objects), 3);
    assert.equal(await countKeys(data, K.versions), 997);
    store = await openCopy(data);
    try {
      const page = await store.listObjects('b', { maxKeys: 1000 });
      assert.deepEqual(await Promise.all(page.objects.map(async (o) => [o.key, await text(store, o)])), [
        ['k0', '999'],
        ['k1', '997'],
        ['k2', '998'],
      ]);
      const versions = await store.listObjectVersions('b', { prefix: 'k1', maxKeys: 1000 });
      assert.equal(versions.versions.length, 333);
      assert.equal(await text(store, versions.versions[332]!.rec as ObjectRecord), '1');
    } finally {
      await store.close();
    }
  });
});
