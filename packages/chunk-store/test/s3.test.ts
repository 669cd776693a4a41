import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';

import { isChunkStoreError, newChunkId, parseChunksUrl, S3ChunkStore, type S3ChunkStoreOptions } from '../src/index.ts';
import { backendClient, runChunkStoreConformance } from '../src/testing.ts';
import { CEPH_REGION, type RunningCeph, startCeph } from '../../../tools/test-services/ceph.ts';

const BUCKET = 'coffer-chunks';
let ceph: RunningCeph;
let raw: S3Client;
let n = 0;

before(async () => {
  ceph = await startCeph();
  raw = backendClient(options(''));
  await raw.send(new CreateBucketCommand({ Bucket: BUCKET }));
});
after(async () => {
  raw?.destroy();
  await ceph?.stop();
});

function options(prefix: string): S3ChunkStoreOptions {
  return {
    endpoint: ceph.endpoint,
    bucket: BUCKET,
    prefix,
    region: CEPH_REGION,
    credentials: { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey },
  };
}

const prefixes = new WeakMap<object, string>();

runChunkStoreConformance('s3 (Ceph radosgw)', {
  async open() {
    const prefix = `suite-${++n}/`;
    const store = await S3ChunkStore.open(options(prefix));
    prefixes.set(store, prefix);
    return store;
  },
  async reopen(store) {
    const prefix = prefixes.get(store)!;
    await store.close();
    const again = await S3ChunkStore.open(options(prefix));
    prefixes.set(again, prefix);
    return again;
  },
  async leaveIncomplete(store) {
    await raw.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: (store as S3ChunkStore).key(newChunkId()) }),
    );
  },
  outage: {
    stop: () => ceph.stopRgw(),
    start: () => ceph.startRgw(),
  },
});

describe('S3ChunkStore', () => {
  it('should name each backend object PREFIX/xx/yy/ID, from the blob id alone', async () => {
    const store = await S3ChunkStore.open(options('names/deeper'));
    const id = newChunkId();
    await store.write(id, Readable.from([Buffer.from('ciphertext')]));
    const page = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'names/' }));
    assert.deepEqual(
      page.Contents?.map((o) => o.Key),
      [`names/deeper/${id.slice(0, 2)}/${id.slice(2, 4)}/${id}`],
    );
    await store.close();
  });

  it('should fail open() with CHUNKS_IO for a bucket that does not exist', async () => {
    await assert.rejects(S3ChunkStore.open({ ...options(''), bucket: 'no-such-bucket' }), (err) =>
      isChunkStoreError(err, 'CHUNKS_IO'),
    );
  });

  it('should fail open() with CHUNKS_IO, naming no secret, for wrong credentials', async () => {
    const secretAccessKey = 'wrong-secret-that-must-not-leak';
    await assert.rejects(
      S3ChunkStore.open({ ...options(''), credentials: { accessKeyId: ceph.accessKey, secretAccessKey } }),
      (err) => isChunkStoreError(err, 'CHUNKS_IO') && !(err as Error).message.includes(secretAccessKey),
    );
  });

  it('should refuse bad options with a TypeError or RangeError naming the option', async () => {
    await assert.rejects(S3ChunkStore.open({ ...options(''), endpoint: 'ftp://x' }), /options.endpoint/);
    await assert.rejects(S3ChunkStore.open({ ...options(''), bucket: 'A_B' }), /options.bucket/);
    await assert.rejects(S3ChunkStore.open({ ...options(''), partSize: 1024 }), RangeError);
    await assert.rejects(S3ChunkStore.open({ ...options(''), maxSockets: 0 }), RangeError);
    await assert.rejects(S3ChunkStore.open({ ...options(''), credentials: undefined as never }), /options.credentials/);
  });
});

describe('parseChunksUrl', () => {
  it('should split s3://BUCKET/PREFIX, and refuse anything else', () => {
    assert.deepEqual(parseChunksUrl('s3://b1/some/prefix'), { bucket: 'b1', prefix: 'some/prefix' });
    assert.deepEqual(parseChunksUrl('s3://b1'), { bucket: 'b1', prefix: '' });
    assert.throws(() => parseChunksUrl('http://b1/x'), TypeError);
    assert.throws(() => parseChunksUrl('s3:///x'), TypeError);
  });
});
