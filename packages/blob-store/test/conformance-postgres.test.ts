import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

import pg from 'pg';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore } from '../src/index.ts';
import { runConformanceSuite } from '../src/testing.ts';
import { startPostgres, type RunningPostgres } from '../../../tools/test-services/postgres.ts';

let server: RunningPostgres;
let n = 0;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

/** A store on a new, empty PostgreSQL database, with its blob files in a temp directory. */
async function makeStore() {
  const name = `blob_${process.pid}_${++n}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-pg-'));
  const keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
  const store = await BlobStore.open({ dir, keyRing, meta: url.href });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// The same suite as LevelDB's (conformance.test.ts): the S3 object logic is written once above the engine.
runConformanceSuite('PostgreSQL + blob files', makeStore);
