import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

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
  const url = await server.createDatabase(`blob_${++n}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-pg-'));
  const keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
  const store = await BlobStore.open({ dir, keyRing, meta: url });
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
