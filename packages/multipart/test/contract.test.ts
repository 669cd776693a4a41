import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { BlobStore, type ObjectStore } from '@coffer/blob-store';
import { bodyOf, delegateStore, readAll } from '@coffer/blob-store/testing';
import { MasterKeyRing } from '@coffer/crypto';

import { MultipartStore, multipartEtag } from '../src/index.ts';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('MultipartStore over the ObjectStore contract', () => {
  let dir: string;
  let inner: BlobStore;
  let store: ObjectStore;
  const calls = new Set<keyof ObjectStore>();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coffer-mp-contract-'));
    inner = await BlobStore.open({ dir, keyRing: MasterKeyRing.fromKey(randomBytes(32)), sync: false });
    store = delegateStore(inner, (m) => calls.add(m));
    await store.createBucket('b', 'u1');
  });
  after(async () => {
    await inner.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should accept a plain object that delegates to a store, and upload, complete and abort through it', async () => {
    assert.equal(store instanceof BlobStore, false);
    const mp = new MultipartStore(store, { maxUploadAgeMs: 60_000 });
    try {
      const p1 = randomBytes(5 * 1024 * 1024);
      const p2 = randomBytes(777);
      const up = await mp.create('b', 'k', {
        owner: 'u1',
        metadata: { userMeta: {} },
        encryption: { scheme: 'SSE-S3' },
      });
      const a = await mp.uploadPart(up, 1, bodyOf(p1));
      const b = await mp.uploadPart(up, 2, bodyOf(p2));
      const rec = await mp.complete('b', 'k', up.uploadId, [
        { partNumber: 1, etag: a.etag },
        { partNumber: 2, etag: b.etag },
      ]);
      assert.equal(rec.etag, multipartEtag([md5(p1), md5(p2)]));
      assert.deepEqual(await readAll(await store.openObject(rec)), Buffer.concat([p1, p2]));

      const gone = await mp.create('b', 'k2', {
        owner: 'u1',
        metadata: { userMeta: {} },
        encryption: { scheme: 'SSE-S3' },
      });
      await mp.uploadPart(gone, 1, bodyOf(p2));
      await mp.abort('b', 'k2', gone.uploadId);
      assert.deepEqual(await inner.listRecords('mpp'), [], 'no part record left');
    } finally {
      await mp.stop();
    }
    for (const m of ['newDataKey', 'unwrapKey', 'writeSegment', 'transaction'] as const) {
      assert.ok(calls.has(m), `MultipartStore went through ${m}`);
    }
  });
});
