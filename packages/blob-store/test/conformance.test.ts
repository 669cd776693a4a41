import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore } from '../src/index.ts';
import { runConformanceSuite } from '../src/testing.ts';

runConformanceSuite('LevelDB + blob files', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-'));
  const keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
  const store = await BlobStore.open({ dir, keyRing });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
