/**
 * The master key ring in the metadata: two `coffer serve` on one PostgreSQL with separate data directories (each
 * given the same DATA/keys/ring.key) share one ring. An object written on A is read on B; `coffer keys rotate` run
 * against the database reaches both running nodes, whose next writes use the new key; no row of the database holds
 * a master key in the clear.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import pg from 'pg';

import type { MasterKeyRing } from '@coffer/crypto';

import { startPostgres, type RunningPostgres } from '../../../tools/test-services/postgres.ts';
import { RING_KEY_FILE, openDataDir } from '../src/key-ring.ts';
import { md5hex, patternBytes, sleep } from './helpers/assert.ts';
import { objectPath, signedSend } from './helpers/http.ts';
import { makeTempDir, randomCredentials, runCli, startServer, type RunningServer } from './helpers/server.ts';

const BUCKET = 'ring';

describe('the master key ring in a shared PostgreSQL (coffer serve --meta, separate --data)', () => {
  let db: RunningPostgres;
  let metaUrl: string;
  const dirs: string[] = [];
  const creds = randomCredentials();
  let a: RunningServer;
  let b: RunningServer;

  /** A fresh data directory holding node A's ring.key, as an operator hands it to each node. */
  const dataDirWithRingKey = async () => {
    const dir = await makeTempDir('coffer-ring-node-');
    dirs.push(dir);
    await mkdir(join(dir, 'keys'), { mode: 0o700 });
    await copyFile(join(a.dataDir, 'keys', RING_KEY_FILE), join(dir, 'keys', RING_KEY_FILE));
    return dir;
  };
  const put = (node: RunningServer, key: string, body: Buffer) =>
    signedSend(node, { method: 'PUT', path: objectPath(BUCKET, key), body });
  /** What the metadata says about an object, read by a third client of the database (as `coffer scrub` would). */
  const inspect = async <T>(fn: (store: Awaited<ReturnType<typeof openDataDir>>) => Promise<T>): Promise<T> => {
    const opened = await openDataDir({ dataDir: dirs[1]!, meta: metaUrl, masterKey: { kind: 'data-dir' } });
    try {
      return await fn(opened);
    } finally {
      await opened.store.close();
    }
  };
  const kekIdOf = (key: string) =>
    inspect(async ({ store }) => {
      const rec = await store.getObject(BUCKET, key);
      assert.ok(rec && rec.enc.scheme === 'SSE-S3', key);
      return rec.enc.wrap.kekId;
    });

  before(async () => {
    db = await startPostgres();
    metaUrl = await db.createDatabase('coffer_ring');
    a = await startServer({ args: ['--meta', metaUrl], ...creds });
    dirs.push(a.dataDir);
    b = await startServer({ dataDir: await dataDirWithRingKey(), args: ['--meta', metaUrl], ...creds });
    assert.equal((await signedSend(a, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await db?.stop();
  });

  it('should read on B an SSE-S3 object written on A', async () => {
    // Small objects are inline in the metadata: separate data directories hold no shared chunk file.
    const body = patternBytes(5000, 'a-to-b');
    assert.equal((await put(a, 'from-a', body)).status, 200);
    const got = await signedSend(b, { method: 'GET', path: objectPath(BUCKET, 'from-a') });
    assert.equal(got.status, 200, got.text);
    assert.equal(got.headers['x-amz-server-side-encryption'], 'AES256');
    assert.equal(md5hex(got.body), md5hex(body));
  });

  it('should refuse to start a node without the ring key, saying what to copy, and print no key', async () => {
    const dir = await makeTempDir('coffer-ring-nokey-');
    dirs.push(dir);
    await assert.rejects(
      startServer({ dataDir: dir, args: ['--meta', metaUrl], ...creds, readyTimeoutMs: 30_000 }),
      /wrapped under a key this node does not have: copy ring\.key/,
    );
  });

  it('should rotate on every node: keys rotate against the database, then B writes under the new key', async () => {
    const before = await kekIdOf('from-a');
    const r = await runCli(['keys', 'rotate', '--data', a.dataDir, '--meta', metaUrl], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const active = /^rotated to (\S+): (\d+) data keys re-wrapped/m.exec(r.stdout)?.[1];
    assert.ok(active && active !== before, r.stdout);
    assert.equal(await kekIdOf('from-a'), active, 'the object written before was re-wrapped');
    // B reads the ring again every RING_RELOAD_MS: its writes take the new key within that bound.
    let kekId: string | undefined;
    for (let i = 0; i < 40 && kekId !== active; i++) {
      assert.equal((await put(b, `after/${i}`, patternBytes(3000, `after-${i}`))).status, 200);
      kekId = await kekIdOf(`after/${i}`);
      if (kekId !== active) await sleep(250);
    }
    assert.equal(kekId, active);
    // Both nodes read objects under either key.
    for (const node of [a, b]) {
      const got = await signedSend(node, { method: 'GET', path: objectPath(BUCKET, 'from-a') });
      assert.equal(md5hex(got.body), md5hex(patternBytes(5000, 'a-to-b')));
    }
    const listed = await runCli(['keys', 'list', '--data', b.dataDir, '--meta', metaUrl]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${active}\\tactive$`, 'm'));
  });

  it('should hold no master key in the clear in any row of the database', async () => {
    const ring = await inspect(async ({ keyRing }: { keyRing: MasterKeyRing }) => keyRing);
    assert.ok(ring.ids().length >= 2);
    const c = new pg.Client({ connectionString: metaUrl });
    await c.connect();
    let rows: { k: Buffer; v: Buffer }[];
    try {
      rows = (await c.query<{ k: Buffer; v: Buffer }>('SELECT k, v FROM coffer_kv')).rows;
    } finally {
      await c.end();
    }
    assert.ok(
      rows.some((row) => row.v.includes(ring.activeId)),
      'the ring is in the database',
    );
    for (const id of ring.ids()) {
      const key = ring.key(id);
      for (const form of [key, key.toString('base64'), key.toString('hex'), key.toString('base64url')]) {
        for (const row of rows) assert.ok(!row.k.includes(form) && !row.v.includes(form), `key ${id} in clear`);
      }
    }
  });
});
