import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

import { BlobStore } from '@coffer/blob-store';
import { MasterKeyRing } from '@coffer/crypto';

import { UserRegistry, generateKeyPair } from '../src/users.ts';

describe('generateKeyPair', () => {
  it('should make AWS-shaped keys: a 20-character access key ID and a 40-character secret, different each time', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    assert.match(a.accessKey, /^CF[A-Z2-7]{18}$/);
    assert.match(a.secretKey, /^[A-Za-z0-9x]{40}$/);
    assert.notEqual(a.accessKey, b.accessKey);
    assert.notEqual(a.secretKey, b.secretKey);
  });
});

describe('UserRegistry.ensureRoot', () => {
  /** A registry on a real store whose metadata batches a test can count or fail. */
  async function rig(t: TestContext) {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-users-'));
    const keyRing = await MasterKeyRing.open({ dir: join(dir, 'keys') });
    const hook = { batches: 0, fail: false };
    const store = await BlobStore.open({
      dir,
      keyRing,
      testing: {
        batch: async (write) => {
          if (hook.fail) throw new Error('injected: the metadata write failed');
          hook.batches++;
          await write();
        },
      },
    });
    t.after(async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
    const users = await UserRegistry.open(store, keyRing);
    const first = await users.add({ accessKey: 'ROOTKEY1', secretKey: 'secret-one', name: 'admin', root: true });
    return { store, keyRing, users, hook, first };
  }

  it('should swap the root keys in one metadata commit, keeping its id and name', async (t) => {
    const { store, keyRing, users, hook, first } = await rig(t);
    hook.batches = 0;
    const root = await users.ensureRoot('ROOTKEY2', 'secret-two');
    assert.equal(hook.batches, 1);
    assert.deepEqual(root, { id: first.id, name: 'admin', accessKey: 'ROOTKEY2', root: true });
    const again = await UserRegistry.open(store, keyRing);
    assert.deepEqual(again.list(), [root]);
    assert.equal(again.secretKey('ROOTKEY2'), 'secret-two');
  });

  it('should leave the old root in place when the commit fails', async (t) => {
    const { store, keyRing, users, hook, first } = await rig(t);
    hook.fail = true;
    await assert.rejects(users.ensureRoot('ROOTKEY2', 'secret-two'));
    hook.fail = false;
    const again = await UserRegistry.open(store, keyRing);
    assert.deepEqual(again.list(), [first]);
    assert.equal(again.secretKey('ROOTKEY1'), 'secret-one');
    assert.deepEqual(users.root(), first);
  });

  it('should refuse the access key of another user with USER_EXISTS and keep the root', async (t) => {
    const { users, first } = await rig(t);
    await users.add({ accessKey: 'ALICEKEY', secretKey: 'alice-secret', name: 'alice' });
    await assert.rejects(users.ensureRoot('ALICEKEY', 'secret-two'), { code: 'USER_EXISTS' });
    assert.deepEqual(users.root(), first);
  });
});
