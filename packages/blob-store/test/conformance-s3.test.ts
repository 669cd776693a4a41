import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';

import { CreateBucketCommand } from '@aws-sdk/client-s3';

import { S3ChunkStore, type S3ChunkStoreOptions } from '@coffer/chunk-store';
import { backendClient } from '@coffer/chunk-store/testing';
import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore } from '../src/index.ts';
import { runConformanceSuite } from '../src/testing.ts';
import { CEPH_REGION, type RunningCeph, startCeph } from '../../../tools/test-services/ceph.ts';

const BUCKET = 'coffer-blob-store';
let ceph: RunningCeph;
let n = 0;
before(async () => {
  ceph = await startCeph();
  const raw = backendClient(options(''));
  await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
  raw.destroy();
});
after(async () => {
  await ceph?.stop();
});

function options(prefix: string): S3ChunkStoreOptions {
  const credentials = { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey };
  return { endpoint: ceph.endpoint, bucket: BUCKET, prefix, region: CEPH_REGION, credentials };
}

/** A store on LevelDB in a temp directory, with its blobs on Ceph under a prefix of its own. */
async function makeStore() {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-s3-'));
  const keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
  const chunks = await S3ChunkStore.open(options(`store-${++n}`));
  const store = await BlobStore.open({ dir, keyRing, chunks });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// The same suite as the local chunk files' (conformance.test.ts): the store is written once above the chunk store.
runConformanceSuite('LevelDB + chunks on Ceph (S3ChunkStore)', makeStore);
