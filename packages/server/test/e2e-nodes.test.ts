/**
 * Several nodes on one PostgreSQL database sharing one data directory for the chunk files (the way a shared file
 * system, NFS or CephFS, would be mounted on each): the checks of helpers/nodes-suite.ts.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { blobFiles } from './helpers/blobs.ts';
import { describeNodes } from './helpers/nodes-suite.ts';
import { makeTempDir } from './helpers/server.ts';

let dataDir: string;

describeNodes('several nodes on one PostgreSQL (coffer serve --meta), one data directory', {
  start: async () => {
    dataDir = await makeTempDir('coffer-nodes-');
  },
  stop: async () => undefined, // the last node's stop removes the directory
  sharedDataDir: () => dataDir,
  args: () => [],
  env: () => ({}),
  blobIds: () => blobFiles(dataDir),
  leftovers: async () => (await readdir(join(dataDir, 'tmp'))).length,
});
