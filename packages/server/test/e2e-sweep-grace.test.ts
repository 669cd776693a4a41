/**
 * The sweep of a data directory shared by nodes on one PostgreSQL: a node SIGKILLed between writing a chunk file and
 * committing its record leaves an orphan file. The next sweep (each node sweeps as it starts) leaves it while it is
 * younger than the grace period (another node's write may still be in progress), and removes it once older; files
 * that committed records refer to stay whatever their age. `--sweep-grace` shortens the 15-minute default; the
 * files are aged with utimes rather than waited for. A running node sweeps again every grace period, under a lease.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { eventually } from '@coffer/blob-store/testing';

import { startPostgres, type RunningPostgres } from '../../../tools/test-services/postgres.ts';
import { md5hex, patternBytes } from './helpers/assert.ts';
import { objectPath, signedSend } from './helpers/http.ts';
import { makeTempDir, randomCredentials, startServer, type StartServerOptions } from './helpers/server.ts';

const BUCKET = 'swept';
const BIG = 300_000; // above the inline limit: a chunk file

/** Paths of the chunk files under DATA/blobs. */
async function blobFiles(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const root = join(dataDir, 'blobs');
  for (const xx of await readdir(root)) {
    for (const yy of await readdir(join(root, xx))) {
      for (const id of await readdir(join(root, xx, yy))) out.push(join(root, xx, yy, id));
    }
  }
  return out.sort();
}

/** Sets a file's times `ageMs` into the past, as a file written that long ago. */
const age = (path: string, ageMs: number) => utimes(path, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));

describe('the sweep of a shared data directory after a node was killed (coffer serve --meta --sweep-grace)', () => {
  let db: RunningPostgres;
  let metaUrl: string;
  let dataDir: string;
  const creds = randomCredentials();
  const masterKey = randomBytes(32).toString('base64');
  const node = (opts: StartServerOptions = {}) =>
    startServer({
      dataDir,
      ...creds,
      ...opts,
      args: ['--meta', metaUrl, ...(opts.args ?? [])],
      env: { COFFER_MASTER_KEY: masterKey, ...opts.env },
    });
  let orphan: string;
  let committed: string;
  const body = patternBytes(BIG, 'kept');

  before(async () => {
    db = await startPostgres();
    metaUrl = await db.createDatabase('coffer_sweep');
    dataDir = await makeTempDir('coffer-sweep-');
    const a = await node();
    try {
      assert.equal((await signedSend(a, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
      assert.equal((await signedSend(a, { method: 'PUT', path: objectPath(BUCKET, 'kept'), body })).status, 200);
    } finally {
      await a.stop();
    }
    [committed] = await blobFiles(dataDir);
    // This node dies right after its chunk file is in blobs/, before any record refers to it.
    const victim = await node({ env: { COFFER_TEST_CRASH_AT: 'blob-stored' } });
    const put = await signedSend(victim, {
      method: 'PUT',
      path: objectPath(BUCKET, 'lost'),
      body: patternBytes(BIG, 'lost'),
    }).catch((err: Error) => err);
    assert.ok(put instanceof Error, 'the killed node never answered');
    assert.equal((await victim.exited).signal, 'SIGKILL');
    const files = await blobFiles(dataDir);
    assert.equal(files.length, 2);
    orphan = files.find((f) => f !== committed)!;
  });
  after(async () => {
    await db?.stop();
  });

  it('should keep an orphan younger than the grace period: --sweep-grace, or 15 minutes by default', async () => {
    await age(orphan, 2 * 60_000);
    await age(committed, 10 * 60_000);
    const b = await node({ args: ['--sweep-grace', '300'] });
    await b.stop();
    assert.deepEqual(await blobFiles(dataDir), [committed, orphan].sort());
    await age(orphan, 10 * 60_000);
    const c = await node();
    await c.stop();
    assert.deepEqual(await blobFiles(dataDir), [committed, orphan].sort());
  });

  it('should remove the orphan once older than --sweep-grace, and keep the committed file whatever its age', async () => {
    const b = await node({ args: ['--sweep-grace', '300'] });
    try {
      assert.deepEqual(await blobFiles(dataDir), [committed]);
      const got = await signedSend(b, { method: 'GET', path: objectPath(BUCKET, 'kept') });
      assert.equal(got.status, 200);
      assert.equal(md5hex(got.body), md5hex(body));
      const lost = await signedSend(b, { method: 'HEAD', path: objectPath(BUCKET, 'lost') });
      assert.equal(lost.status, 404);
    } finally {
      await b.stop({ removeDir: true });
    }
  });

  it('should have a running node sweep the orphan of a node killed meanwhile, once older than the grace', async () => {
    dataDir = await makeTempDir('coffer-sweep-running-');
    const b = await node({ args: ['--sweep-grace', '1'] });
    try {
      assert.equal((await signedSend(b, { method: 'PUT', path: objectPath(BUCKET, 'kept'), body })).status, 200);
      const [kept] = await blobFiles(dataDir);
      const victim = await node({ env: { COFFER_TEST_CRASH_AT: 'blob-stored' } });
      await signedSend(victim, { method: 'PUT', path: objectPath(BUCKET, 'lost'), body }).catch(() => undefined);
      assert.equal((await victim.exited).signal, 'SIGKILL');
      assert.equal((await blobFiles(dataDir)).length, 2, 'the killed node left its chunk file');
      // B sweeps every second (its grace): the orphan goes at one of its next sweeps, the committed file stays.
      await eventually(async () => assert.deepEqual(await blobFiles(dataDir), [kept]), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      const got = await signedSend(b, { method: 'GET', path: objectPath(BUCKET, 'kept') });
      assert.equal(md5hex(got.body), md5hex(body));
    } finally {
      await b.stop({ removeDir: true });
    }
  });

  it('should refuse a --sweep-grace that is not a number of seconds', async () => {
    await assert.rejects(
      startServer({ args: ['--sweep-grace', 'soon'], readyTimeoutMs: 30_000 }),
      /option '--sweep-grace <seconds>' argument 'soon' is invalid/,
    );
  });
});
