import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobStore } from '@coffer/blob-store';
import { readAll } from '@coffer/blob-store/testing';
import { MasterKeyRing } from '@coffer/crypto';
import { rotateMasterKey } from '../src/rotate.ts';

describe('rotateMasterKey', () => {
  it('should re-wrap every SSE-S3 data key under a new active key, and resume an interrupted rotation without adding another key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-rotate-'));
    try {
      let ring = await MasterKeyRing.open({ dir: join(dir, 'keys') });
      let store = await BlobStore.open({ dir, keyRing: ring });
      await store.createBucket('bkt', 'owner');
      const bodies = new Map<string, Buffer>();
      for (let i = 0; i < 250; i++) {
        const body = Buffer.from(`object ${i} `.repeat(i + 1));
        bodies.set(`k${i}`, body);
        await store.putObject('bkt', `k${i}`, Readable.from([body]), {
          owner: 'owner',
          metadata: { userMeta: {} },
          encryption: { scheme: 'SSE-S3' },
        });
      }
      const first = ring.activeId;

      // Interrupted after the first batch.
      const stop = new AbortController();
      await assert.rejects(
        rotateMasterKey(store, ring, {
          signal: stop.signal,
          onProgress: (p) => {
            if (p.rewrapped > 0) stop.abort();
          },
        }),
      );
      const target = ring.activeId;
      assert.notEqual(target, first);
      const resumed = await rotateMasterKey(store, ring);
      assert.equal(resumed.resumed, true);
      assert.equal(resumed.activeId, target);
      assert.deepEqual(ring.ids().sort(), [first, target].sort());
      assert.ok(resumed.rewrapped > 0 && resumed.rewrapped < 250, `resumed where it stopped (${resumed.rewrapped})`);

      // Every record is under the new key, and every object reads byte-exact, also after a restart.
      await store.close();
      ring = await MasterKeyRing.open({ dir: join(dir, 'keys') });
      store = await BlobStore.open({ dir, keyRing: ring });
      for (const [key, body] of bodies) {
        const rec = (await store.getObject('bkt', key))!;
        assert.equal(rec.enc.wrap.kekId, target);
        assert.deepEqual(await readAll(await store.openObject(rec)), body);
      }
      const again = await rotateMasterKey(store, ring);
      assert.equal(again.resumed, false);
      assert.equal(again.rewrapped, 250);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
