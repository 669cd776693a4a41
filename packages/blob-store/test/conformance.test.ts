import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore, type BlobStoreOptions, type ObjectStore } from '../src/index.ts';
import { delegateStore, runConformanceSuite } from '../src/testing.ts';

function makeStore(options: Partial<BlobStoreOptions>, wrap = (store: BlobStore): ObjectStore => store) {
  return async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-'));
    const keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
    const store = await BlobStore.open({ dir, keyRing, ...options });
    return {
      store: wrap(store),
      async cleanup() {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

// The defaults: bodies up to 64 KiB inline in LevelDB, larger ones in blob files (the suite's sizes cover both).
runConformanceSuite('LevelDB + blob files', makeStore({}));
// Every object in blob files.
runConformanceSuite('LevelDB + blob files, inlineMax 0', makeStore({ inlineMax: 0 }));
// A plain object forwarding to a store: the suite, like every caller, needs the ObjectStore contract alone.
runConformanceSuite('a delegating ObjectStore', makeStore({}, delegateStore));
