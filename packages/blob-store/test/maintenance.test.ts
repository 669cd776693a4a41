import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore, type PutOptions } from '../src/index.ts';
import { bodyOf, makeCustomerKey, readAll } from '../src/testing.ts';

const opts = (extra: Partial<PutOptions> = {}): PutOptions => ({
  owner: 'u1',
  metadata: { userMeta: {} },
  encryption: { scheme: 'SSE-S3' },
  ...extra,
});

let dir: string;
let keyRing: MasterKeyRing;
let store: BlobStore;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-maint-'));
  keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
  store = await BlobStore.open({ dir, keyRing, inlineMax: 2048 }); // k0–k2 inline, k3–k6 (and the corrupted k5) files
  await store.createBucket('b', 'u1');
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('rewrapKeys', () => {
  it('should re-wrap SSE-S3 objects under the new active key without touching data', async () => {
    const data = new Map<string, Buffer>();
    for (let i = 0; i < 7; i++) {
      const d = randomBytes(1000 * i);
      data.set(`k${i}`, d);
      await store.putObject('b', `k${i}`, bodyOf(d), opts());
    }
    const customer = makeCustomerKey();
    const sc = await store.putObject(
      'b',
      'ssec',
      bodyOf(Buffer.from('c')),
      opts({ encryption: { scheme: 'SSE-C', customer } }),
    );
    const oldId = keyRing.activeId;
    const before = await store.getObject('b', 'k3');
    const newId = await keyRing.rotate();
    assert.notEqual(newId, oldId);
    const progress: number[] = [];
    const r = await store.rewrapKeys({ batchSize: 3, onProgress: (p) => progress.push(p.rewrapped) });
    assert.deepEqual(r, { scanned: 8, rewrapped: 7 });
    assert.ok(progress.length >= 3);
    for (const [k, d] of data) {
      const rec = (await store.getObject('b', k))!;
      assert.equal(rec.enc.wrap.kekId, newId);
      assert.ok((await readAll(await store.openObject(rec))).equals(d));
    }
    const after = (await store.getObject('b', 'k3'))!;
    assert.equal(after.id, before!.id);
    assert.deepEqual(after.segments, before!.segments);
    assert.equal(after.etag, before!.etag);
    assert.deepEqual((await store.getObject('b', 'ssec'))?.enc, sc.enc);
    assert.deepEqual(await store.rewrapKeys(), { scanned: 8, rewrapped: 0 });
  });
});

describe('scrub', () => {
  it('should verify every object and report a corrupt one', async () => {
    const clean = await store.scrub();
    assert.deepEqual(clean.failures, []);
    assert.equal(clean.objects, 8);
    assert.equal(clean.sizeOnly, 1);
    const rec = (await store.getObject('b', 'k5'))!;
    const id = rec.segments[0]!.blobId;
    const fh = await open(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id), 'r+');
    await fh.write(Buffer.from([0xff]), 0, 1, 10);
    await fh.close();
    const r = await store.scrub();
    assert.deepEqual(
      r.failures.map((f) => [f.key, f.code]),
      [['k5', 'CRYPTO_AUTH_FAILED']],
    );
  });
});
