import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';

import { KEYRING_FILE, MasterKeyRing } from '@coffer/crypto';

import { RING_KEY_FILE, openDataDir, openKeyRing, type MasterKeySource } from '../src/key-ring.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-ring-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file under `dir`, read whole. */
async function filesUnder(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(await readFile(join(e.parentPath, e.name)));
  }
  return out;
}

/** The encodings a key could be written in. */
const encodings = (key: Buffer): Buffer[] => [
  key,
  Buffer.from(key.toString('base64')),
  Buffer.from(key.toString('hex')),
  Buffer.from(key.toString('base64url')),
];

const DATA_DIR: MasterKeySource = { kind: 'data-dir' };

describe('openDataDir', () => {
  it('should keep a new ring in the metadata, wrapped under DATA/keys/ring.key (0600), and no key in clear in meta/', async (t) => {
    const dir = await tempDir(t);
    const { store, keyRing } = await openDataDir({ dataDir: dir, masterKey: DATA_DIR });
    await keyRing.rotate();
    const keys = keyRing.ids().map((id) => keyRing.key(id));
    await store.close();
    assert.equal(keys.length, 2);
    assert.equal((await stat(join(dir, 'keys', RING_KEY_FILE))).mode & 0o777, 0o600);
    await assert.rejects(access(join(dir, 'keys', KEYRING_FILE)), { code: 'ENOENT' });
    const meta = await filesUnder(join(dir, 'meta'));
    assert.ok(
      meta.some((f) => f.includes(keyRing.activeId)),
      'the ring is in meta/',
    );
    for (const key of keys) for (const form of encodings(key)) for (const f of meta) assert.ok(!f.includes(form));
    const again = await openKeyRing(dir, DATA_DIR);
    assert.deepEqual(again.ids(), keyRing.ids());
    assert.equal(again.activeId, keyRing.activeId);
    for (const id of again.ids()) assert.deepEqual(again.key(id), keyRing.key(id));
  });

  it('should import an existing DATA/keys/keyring.json once, keep its active key, and rename the file', async (t) => {
    const dir = await tempDir(t);
    const old = await MasterKeyRing.open({ dir: join(dir, 'keys') });
    await old.rotate();
    const ring = await openKeyRing(dir, DATA_DIR);
    assert.deepEqual(ring.ids(), old.ids());
    assert.equal(ring.activeId, old.activeId);
    for (const id of old.ids()) assert.deepEqual(ring.key(id), old.key(id));
    await assert.rejects(access(join(dir, 'keys', KEYRING_FILE)), { code: 'ENOENT' });
    await access(join(dir, 'keys', `${KEYRING_FILE}.imported`));
    // Opened again, the ring comes from the metadata.
    assert.deepEqual((await openKeyRing(dir, DATA_DIR)).ids(), old.ids());
  });

  it('should start a COFFER_MASTER_KEY ring with that key active as mk-env, and refuse another key', async (t) => {
    const dir = await tempDir(t);
    const env = randomBytes(32);
    const ring = await openKeyRing(dir, { kind: 'key', key: env });
    assert.equal(ring.activeId, 'mk-env');
    assert.deepEqual(ring.key('mk-env'), env);
    for (const form of encodings(env))
      for (const f of await filesUnder(join(dir, 'meta'))) assert.ok(!f.includes(form));
    await assert.rejects(openKeyRing(dir, { kind: 'key', key: randomBytes(32) }), {
      code: 'CRYPTO_INVALID_KEYRING',
      message: /does not open under this key-encryption key/,
    });
  });

  it('should refuse to open a stored ring without its ring.key, naming the way out and creating nothing', async (t) => {
    const dir = await tempDir(t);
    await openKeyRing(dir, DATA_DIR);
    await rm(join(dir, 'keys', RING_KEY_FILE));
    await assert.rejects(openKeyRing(dir, DATA_DIR), /copy ring\.key .* or set COFFER_MASTER_KEY/);
    await assert.rejects(access(join(dir, 'keys', RING_KEY_FILE)), { code: 'ENOENT' });
  });

  it('should keep the ring in a --master-key-file, outside the metadata', async (t) => {
    const dir = await tempDir(t);
    const file = await MasterKeyRing.open({ dir: join(dir, 'elsewhere') });
    const path = join(dir, 'elsewhere', KEYRING_FILE);
    const { store, keyRing } = await openDataDir({ dataDir: dir, masterKey: { kind: 'file', path } });
    await store.close();
    assert.deepEqual(keyRing.ids(), file.ids());
    await assert.rejects(access(join(dir, 'keys', RING_KEY_FILE)), { code: 'ENOENT' });
  });
});
