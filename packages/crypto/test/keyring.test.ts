import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inspect } from 'node:util';

import { CryptoError, MasterKeyRing, openKeyFile, type KeyRingStorage, type WrappedKeyRing } from '../src/index.ts';

const root = await mkdtemp(join(tmpdir(), 'coffer-keyring-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`, 'keys');
const code = (c: string) => (e: unknown) => e instanceof CryptoError && e.code === c;

describe('MasterKeyRing.open', () => {
  it('should create keyring.json with mode 0600 in a 0700 directory', async () => {
    const dir = fresh();
    const ring = await MasterKeyRing.open({ dir });
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const file = join(dir, 'keyring.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const json = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(json.v, 1);
    assert.equal(json.active, ring.activeId);
    assert.match(ring.activeId, /^mk-\d{8}-[0-9a-f]{4}$/);
    assert.equal(json.keys.length, 1);
    assert.equal(Buffer.from(json.keys[0].key, 'base64').length, 32);
    assert.ok(ring.key(ring.activeId).equals(Buffer.from(json.keys[0].key, 'base64')));
    assert.deepEqual((await readdir(dir)).sort(), ['keyring.json'], 'no temp files left');
  });
  it('should load the same keys on the next open', async () => {
    const dir = fresh();
    const a = await MasterKeyRing.open({ dir });
    const b = await MasterKeyRing.open({ dir });
    assert.equal(a.activeId, b.activeId);
    assert.ok(a.key(a.activeId).equals(b.key(b.activeId)));
  });
  it('should agree on one key when two opens race on a fresh directory', async () => {
    const dir = fresh();
    const rings = await Promise.all([1, 2, 3, 4].map(() => MasterKeyRing.open({ dir })));
    for (const r of rings) assert.ok(r.key(r.activeId).equals(rings[0]!.key(rings[0]!.activeId)));
  });
  it('should fail with CRYPTO_INVALID_KEYRING for a malformed file, without echoing it', async () => {
    const dir = fresh();
    await MasterKeyRing.open({ dir });
    const secret = randomBytes(32).toString('base64');
    await writeFile(join(dir, 'keyring.json'), `{"v":1,"active":"x","keys":[{"id":"y","key":"${secret}"`);
    await assert.rejects(MasterKeyRing.open({ dir }), (e: unknown) => {
      assert.ok(code('CRYPTO_INVALID_KEYRING')(e));
      assert.ok(!(e as Error).message.includes(secret));
      return true;
    });
    await writeFile(
      join(dir, 'keyring.json'),
      JSON.stringify({ v: 1, active: 'nope', keys: [{ id: 'a', key: secret, created: '' }] }),
    );
    await assert.rejects(MasterKeyRing.open({ dir }), code('CRYPTO_INVALID_KEYRING'));
    await writeFile(
      join(dir, 'keyring.json'),
      JSON.stringify({ v: 1, active: 'a', keys: [{ id: 'a', key: 'AAAA', created: '' }] }),
    );
    await assert.rejects(MasterKeyRing.open({ dir }), code('CRYPTO_INVALID_KEYRING'));
  });
  it('should reject a missing dir option', async () => {
    await assert.rejects(MasterKeyRing.open({} as never), /opts\.dir/);
  });
});

describe('MasterKeyRing.fromKey', () => {
  it('should hold one key under mk-env by default', () => {
    const key = randomBytes(32);
    const ring = MasterKeyRing.fromKey(key);
    assert.equal(ring.activeId, 'mk-env');
    assert.deepEqual(ring.ids(), ['mk-env']);
    assert.ok(ring.key('mk-env').equals(key));
  });
  it('should accept base64 or hex strings and a custom id', () => {
    const key = randomBytes(32);
    assert.ok(MasterKeyRing.fromKey(key.toString('base64')).key('mk-env').equals(key));
    assert.ok(MasterKeyRing.fromKey(key.toString('hex'), 'mk-x').key('mk-x').equals(key));
  });
  it('should reject keys that are not 32 bytes and bad ids', () => {
    assert.throws(() => MasterKeyRing.fromKey(randomBytes(16)), RangeError);
    assert.throws(() => MasterKeyRing.fromKey('short'), RangeError);
    assert.throws(() => MasterKeyRing.fromKey(randomBytes(32), 'a:b'), TypeError);
  });
  it('should refuse rotate() with CRYPTO_READONLY_RING', async () => {
    await assert.rejects(MasterKeyRing.fromKey(randomBytes(32)).rotate(), code('CRYPTO_READONLY_RING'));
  });
});

describe('MasterKeyRing.fromFile', () => {
  it('should load a key file and rotate back into it', async () => {
    const path = join(root, 'custom-keys.json');
    const key = randomBytes(32);
    await writeFile(
      path,
      JSON.stringify({
        v: 1,
        active: 'mk-a',
        keys: [{ id: 'mk-a', key: key.toString('base64'), created: '2026-01-01T00:00:00Z' }],
      }),
      { mode: 0o600 },
    );
    const ring = await MasterKeyRing.fromFile(path);
    assert.equal(ring.activeId, 'mk-a');
    const id = await ring.rotate();
    const again = await MasterKeyRing.fromFile(path);
    assert.equal(again.activeId, id);
    assert.deepEqual(again.ids(), ['mk-a', id]);
    assert.ok(again.key('mk-a').equals(key));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });
  it('should fail for a missing file', async () => {
    await assert.rejects(MasterKeyRing.fromFile(join(root, 'nope.json')), /ENOENT/);
  });
});

describe('MasterKeyRing.key', () => {
  it('should fail with CRYPTO_UNKNOWN_KEY for an unknown id', () => {
    assert.throws(() => MasterKeyRing.fromKey(randomBytes(32)).key('mk-other'), code('CRYPTO_UNKNOWN_KEY'));
  });
  it('should return a copy the caller cannot use to alter the ring', () => {
    const ring = MasterKeyRing.fromKey(randomBytes(32));
    const k = ring.key('mk-env');
    const before = Buffer.from(k);
    k.fill(0);
    assert.ok(ring.key('mk-env').equals(before));
  });
});

describe('MasterKeyRing.rotate', () => {
  it('should add a new active key, persist it, and keep the old one', async () => {
    const dir = fresh();
    const ring = await MasterKeyRing.open({ dir });
    const first = ring.activeId;
    const second = await ring.rotate();
    assert.notEqual(second, first);
    assert.equal(ring.activeId, second);
    assert.deepEqual(ring.ids(), [first, second]);
    const reopened = await MasterKeyRing.open({ dir });
    assert.equal(reopened.activeId, second);
    assert.ok(reopened.key(first).equals(ring.key(first)));
    assert.deepEqual((await readdir(dir)).sort(), ['keyring.json']);
  });
  it('should serialize concurrent rotations', async () => {
    const ring = await MasterKeyRing.open({ dir: fresh() });
    const ids = await Promise.all([ring.rotate(), ring.rotate(), ring.rotate()]);
    assert.equal(new Set(ids).size, 3);
    assert.equal(ring.ids().length, 4);
    assert.equal(ring.activeId, ids[2]);
  });
});

describe('MasterKeyRing.seal', () => {
  it('should return kekId:base64 and open back with the same aad', () => {
    const ring = MasterKeyRing.fromKey(randomBytes(32), 'mk-1');
    const secret = Buffer.from('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    const sealed = ring.seal(secret, 'user:AKIA1');
    assert.match(sealed, /^mk-1:[A-Za-z0-9+/]+=*$/);
    assert.ok(!sealed.includes(secret.toString()));
    assert.ok(ring.open(sealed, 'user:AKIA1').equals(secret));
    assert.notEqual(ring.seal(secret, 'user:AKIA1'), sealed, 'random nonce');
  });
});

describe('MasterKeyRing.open (instance)', () => {
  it('should fail with CRYPTO_AUTH_FAILED for another aad, an altered value or garbage', () => {
    const ring = MasterKeyRing.fromKey(randomBytes(32));
    const sealed = ring.seal(Buffer.from('x'), 'a');
    assert.throws(() => ring.open(sealed, 'b'), code('CRYPTO_AUTH_FAILED'));
    const body = Buffer.from(sealed.split(':')[1]!, 'base64');
    body[body.length - 1]! ^= 1;
    assert.throws(() => ring.open(`mk-env:${body.toString('base64')}`, 'a'), code('CRYPTO_AUTH_FAILED'));
    assert.throws(() => ring.open('garbage', 'a'), code('CRYPTO_AUTH_FAILED'));
    assert.throws(() => ring.open('mk-env:AAAA', 'a'), code('CRYPTO_AUTH_FAILED'));
  });
  it('should fail with CRYPTO_UNKNOWN_KEY for a seal by a key not in the ring', () => {
    const sealed = MasterKeyRing.fromKey(randomBytes(32), 'mk-gone').seal(Buffer.from('x'), 'a');
    assert.throws(() => MasterKeyRing.fromKey(randomBytes(32)).open(sealed, 'a'), code('CRYPTO_UNKNOWN_KEY'));
  });
  it('should fail with CRYPTO_AUTH_FAILED for a seal by another key with the same id', () => {
    const sealed = MasterKeyRing.fromKey(randomBytes(32)).seal(Buffer.from('x'), 'a');
    assert.throws(() => MasterKeyRing.fromKey(randomBytes(32)).open(sealed, 'a'), code('CRYPTO_AUTH_FAILED'));
  });
  it('should still open old seals after rotation', async () => {
    const ring = await MasterKeyRing.open({ dir: fresh() });
    const old = ring.seal(Buffer.from('secret'), 'aad');
    await ring.rotate();
    assert.ok(!old.startsWith(ring.activeId + ':'));
    assert.equal(ring.open(old, 'aad').toString(), 'secret');
    assert.ok(ring.seal(Buffer.from('s'), 'aad').startsWith(ring.activeId + ':'));
  });
});

describe('MasterKeyRing.toJSON', () => {
  it('should never show key material in JSON, toString or inspect', () => {
    const key = randomBytes(32);
    const ring = MasterKeyRing.fromKey(key);
    const shown = [
      JSON.stringify(ring),
      String(ring),
      inspect(ring, { showHidden: true, depth: 10 }),
      inspect({ ring }),
    ];
    for (const s of shown) {
      assert.ok(!s.includes(key.toString('base64')) && !s.includes(key.toString('hex')), s);
      assert.ok(!/<Buffer/.test(s), s);
    }
    assert.deepEqual(ring.toJSON(), { activeId: 'mk-env', ids: ['mk-env'], persisted: false });
  });
});

/**
 * A KeyRingStorage in memory with the contract's compare-and-set (the server's is a record of its metadata engine,
 * tested end to end in @coffer/server); `swaps` counts the attempts, `lose` makes the next ones lose to a writer that
 * bumps the generation.
 */
class MemoryStorage implements KeyRingStorage {
  doc: WrappedKeyRing | undefined;
  swaps = 0;
  lose = 0;
  async read(): Promise<WrappedKeyRing | undefined> {
    await Promise.resolve();
    return this.doc && structuredClone(this.doc);
  }
  async swap(expected: number | undefined, next: WrappedKeyRing): Promise<boolean> {
    await Promise.resolve();
    this.swaps++;
    if (this.lose > 0 && this.doc) {
      this.lose--;
      this.doc = { ...this.doc, gen: this.doc.gen + 1 };
      return false;
    }
    if (this.doc?.gen !== expected) return false;
    this.doc = structuredClone(next);
    return true;
  }
}

const sameKeys = (a: MasterKeyRing, b: MasterKeyRing) => {
  assert.deepEqual(a.ids(), b.ids());
  assert.equal(a.activeId, b.activeId);
  for (const id of a.ids()) assert.ok(a.key(id).equals(b.key(id)), id);
};

describe('MasterKeyRing.openStored', () => {
  it('should store one fresh key wrapped (no key bytes in the document) and open it again', async () => {
    const storage = new MemoryStorage();
    const kek = randomBytes(32);
    const ring = await MasterKeyRing.openStored({ storage, kek });
    assert.equal(storage.doc?.gen, 1);
    assert.equal(storage.doc?.active, ring.activeId);
    const text = JSON.stringify(storage.doc);
    const key = ring.key(ring.activeId);
    for (const form of [key.toString('base64'), key.toString('hex'), key.toString('base64url')]) {
      assert.ok(!text.includes(form));
    }
    sameKeys(await MasterKeyRing.openStored({ storage, kek }), ring);
    assert.deepEqual(ring.toJSON(), { activeId: ring.activeId, ids: ring.ids(), persisted: true });
  });

  it('should let exactly one of several processes starting at once create the ring', async () => {
    const storage = new MemoryStorage();
    const kek = randomBytes(32);
    const rings = await Promise.all(Array.from({ length: 5 }, () => MasterKeyRing.openStored({ storage, kek })));
    assert.equal(storage.doc?.gen, 1);
    for (const r of rings) sameKeys(r, rings[0]!);
  });

  it("should start from the seed rings' keys, the first one's active key active", async () => {
    const env = MasterKeyRing.fromKey(randomBytes(32));
    const file = await MasterKeyRing.open({ dir: fresh() });
    await file.rotate();
    const ring = await MasterKeyRing.openStored({
      storage: new MemoryStorage(),
      kek: randomBytes(32),
      seed: [env, file],
    });
    assert.deepEqual(ring.ids(), ['mk-env', ...file.ids()]);
    assert.equal(ring.activeId, 'mk-env');
    for (const id of file.ids()) assert.ok(ring.key(id).equals(file.key(id)));
  });

  it('should refuse a stored ring under another key-encryption key with CRYPTO_INVALID_KEYRING', async () => {
    const storage = new MemoryStorage();
    await MasterKeyRing.openStored({ storage, kek: randomBytes(32) });
    await assert.rejects(MasterKeyRing.openStored({ storage, kek: randomBytes(32) }), code('CRYPTO_INVALID_KEYRING'));
    storage.doc = { ...storage.doc!, active: 'mk-none' };
    await assert.rejects(MasterKeyRing.openStored({ storage, kek: randomBytes(32) }), code('CRYPTO_INVALID_KEYRING'));
  });

  it('should check its options', async () => {
    await assert.rejects(MasterKeyRing.openStored({ storage: new MemoryStorage(), kek: randomBytes(16) }), RangeError);
    const storage = {} as KeyRingStorage;
    await assert.rejects(MasterKeyRing.openStored({ storage, kek: randomBytes(32) }), TypeError);
  });
});

describe('MasterKeyRing.rotate and reload (stored)', () => {
  it("should let another process's reload learn the new key and the new active one", async () => {
    const storage = new MemoryStorage();
    const kek = randomBytes(32);
    const a = await MasterKeyRing.openStored({ storage, kek });
    const b = await MasterKeyRing.openStored({ storage, kek });
    const id = await a.addKey();
    assert.notEqual(a.activeId, id);
    assert.equal(await b.reload(), true);
    assert.ok(b.key(id).equals(a.key(id)));
    await a.activate(id);
    assert.equal(await b.reload(), true);
    assert.equal(b.activeId, id);
    assert.equal(await b.reload(), false);
    assert.equal(storage.doc?.gen, 3);
  });

  it('should lose no key when two processes rotate at once, and retry a lost compare-and-set', async () => {
    const storage = new MemoryStorage();
    const kek = randomBytes(32);
    const a = await MasterKeyRing.openStored({ storage, kek });
    const b = await MasterKeyRing.openStored({ storage, kek });
    storage.lose = 2;
    const [x, y] = await Promise.all([a.rotate(), b.rotate()]);
    const stored = await MasterKeyRing.openStored({ storage, kek });
    assert.equal(stored.ids().length, 3);
    assert.ok(stored.ids().includes(x) && stored.ids().includes(y));
    assert.ok([x, y].includes(stored.activeId));
  });

  it('should throw CRYPTO_UNKNOWN_KEY when activating a key the ring does not have', async () => {
    const ring = await MasterKeyRing.openStored({ storage: new MemoryStorage(), kek: randomBytes(32) });
    await assert.rejects(ring.activate('mk-none'), code('CRYPTO_UNKNOWN_KEY'));
  });
});

describe('openKeyFile', () => {
  it('should create a 32-byte key file with mode 0600 once, and read the same key after', async () => {
    const path = join(fresh(), 'ring.key');
    const [a, b] = await Promise.all([openKeyFile(path, { create: true }), openKeyFile(path, { create: true })]);
    assert.equal(a.length, 32);
    assert.ok(a.equals(b));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.ok((await openKeyFile(path)).equals(a));
  });

  it('should throw ENOENT without create, and CRYPTO_INVALID_KEYRING for a malformed file', async () => {
    const dir = fresh();
    await assert.rejects(openKeyFile(join(dir, 'ring.key')), { code: 'ENOENT' });
    const path = join(root, 'short.key');
    await writeFile(path, randomBytes(16).toString('base64'));
    await assert.rejects(openKeyFile(path, { create: true }), code('CRYPTO_INVALID_KEYRING'));
  });
});
