/**
 * Chunks on an S3-compatible backend (`coffer serve --chunks s3://BUCKET/PREFIX --chunks-endpoint URL`), against a
 * real one-node Ceph: objects of every shape round-trip through radosgw, every backend object holds ciphertext only
 * under a name made of a random id, radosgw stopped answers 503 and leaves no object, and service resumes once it is
 * back. `coffer scrub` reads the same backend.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';

import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

import { backendClient } from '@coffer/chunk-store/testing';

import { CEPH_REGION, type RunningCeph, startCeph } from '../../../tools/test-services/ceph.ts';
import { bodyBytes, rejectsS3 } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { makeTempDir, runCli, type RunningServer, startServer } from './helpers/server.ts';

const BACKEND_BUCKET = 'coffer-backend';
const PREFIX = 'node-data';
const BUCKET = 'secret-bucket-name';
const MiB = 1024 * 1024;
/** Appears in every plaintext; must never appear in anything radosgw stores. */
const MARKER = `PLAINTEXT-MARKER-${randomBytes(6).toString('hex')}`;

/** `size` bytes of plaintext, the marker every 1000 bytes (so that any 1 KiB of it holds the marker). */
function plaintext(size: number): Buffer {
  const unit = Buffer.from(`${MARKER}${'.'.repeat(1000 - MARKER.length)}`);
  const out = Buffer.alloc(size);
  for (let off = 0; off < size; off += unit.length) unit.copy(out, off);
  return out;
}

describe('coffer serve --chunks on Ceph radosgw', () => {
  let ceph: RunningCeph;
  let raw: S3Client;
  let server: RunningServer;
  let s3: S3Client;
  let chunkArgs: string[];
  let chunkEnv: Record<string, string>;
  const objects = new Map<string, Buffer>();

  async function backendObjects(): Promise<{ key: string; body: Buffer }[]> {
    const out: { key: string; body: Buffer }[] = [];
    const page = await raw.send(new ListObjectsV2Command({ Bucket: BACKEND_BUCKET }));
    assert.equal(page.IsTruncated, false);
    for (const o of page.Contents ?? []) {
      const got = await raw.send(new GetObjectCommand({ Bucket: BACKEND_BUCKET, Key: o.Key }));
      out.push({ key: o.Key!, body: await bodyBytes(got.Body) });
    }
    return out;
  }

  async function getBytes(key: string, range?: string): Promise<Buffer> {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    return bodyBytes(got.Body);
  }

  before(async () => {
    ceph = await startCeph();
    const credentials = { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey };
    raw = backendClient({ endpoint: ceph.endpoint, region: CEPH_REGION, credentials });
    await raw.send(new CreateBucketCommand({ Bucket: BACKEND_BUCKET }));
    chunkArgs = [
      '--chunks',
      `s3://${BACKEND_BUCKET}/${PREFIX}`,
      '--chunks-endpoint',
      ceph.endpoint,
      '--chunks-region',
      CEPH_REGION,
    ];
    chunkEnv = { COFFER_CHUNKS_ACCESS_KEY: ceph.accessKey, COFFER_CHUNKS_SECRET_KEY: ceph.secretKey };
    server = await startServer({ args: chunkArgs, env: chunkEnv });
    s3 = sdkClient(server, server);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    s3?.destroy();
    raw?.destroy();
    await server?.stop({ removeDir: true });
    await ceph?.stop();
  });

  it('should PUT and GET a small (inline) object, which never reaches the backend', async () => {
    const body = plaintext(1000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'small/inline.txt', Body: body }));
    objects.set('small/inline.txt', body);
    assert.ok((await getBytes('small/inline.txt')).equals(body));
    assert.deepEqual(await backendObjects(), []);
  });

  it('should PUT and GET a multi-chunk object, whole and by ranges', async () => {
    const body = plaintext(3 * MiB + 12_345);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'docs/large.bin', Body: body }));
    objects.set('docs/large.bin', body);
    assert.ok((await getBytes('docs/large.bin')).equals(body));
    assert.ok((await getBytes('docs/large.bin', 'bytes=65530-2000000')).equals(body.subarray(65530, 2_000_001)));
    assert.ok((await getBytes('docs/large.bin', 'bytes=-10')).equals(body.subarray(body.length - 10)));
    assert.equal((await backendObjects()).length, 1);
  });

  it('should complete a multipart upload whose parts are backend objects, and GET across its parts', async () => {
    const parts = [plaintext(5 * MiB), plaintext(5 * MiB + 7), plaintext(1234)];
    const key = 'multi/part.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const done = [];
    for (const [i, Body] of parts.entries()) {
      const PartNumber = i + 1;
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber, Body }));
      done.push({ ETag, PartNumber });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: done } }),
    );
    const whole = Buffer.concat(parts);
    objects.set(key, whole);
    assert.ok((await getBytes(key)).equals(whole));
    const from = 5 * MiB - 100;
    assert.ok(
      (await getBytes(key, `bytes=${from}-${from + 5 * MiB + 200}`)).equals(whole.subarray(from, from + 5 * MiB + 201)),
    );
    assert.equal((await backendObjects()).length, 1 + 3);
  });

  it('should copy an object by sharing its backend objects', async () => {
    await s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'copies/large-copy.bin', CopySource: `${BUCKET}/docs/large.bin` }),
    );
    objects.set('copies/large-copy.bin', objects.get('docs/large.bin')!);
    assert.ok((await getBytes('copies/large-copy.bin')).equals(objects.get('docs/large.bin')!));
    assert.equal((await backendObjects()).length, 4);
  });

  it('should store only ciphertext, under names made of random ids, and no blob file under --data', async () => {
    const stored = await backendObjects();
    assert.equal(stored.length, 4);
    for (const { key, body } of stored) {
      assert.match(key, new RegExp(`^${PREFIX}/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}$`));
      for (const name of [BUCKET, ...objects.keys(), 'large', 'multi', 'docs']) assert.ok(!key.includes(name), key);
      assert.equal(body.indexOf(MARKER), -1, `${key} holds plaintext`);
      assert.equal(body.indexOf(Buffer.from(BUCKET)), -1, `${key} holds the bucket name`);
    }
    // --data holds only what the node keeps: the metadata (LevelDB) and the key ring; no blobs/, no tmp/
    assert.deepEqual((await readdir(server.dataDir)).sort(), ['keys', 'meta']);
  });

  it('should answer 503 while radosgw is down, keep no object, and resume when it is back', async () => {
    await ceph.stopRgw();
    try {
      await rejectsS3(
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'down/put.bin', Body: plaintext(300_000) })),
        503,
        'ServiceUnavailable',
      );
      await rejectsS3(
        s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/large.bin' })),
        503,
        'ServiceUnavailable',
      );
      // metadata and inline objects do not need the backend
      assert.ok((await getBytes('small/inline.txt')).equals(objects.get('small/inline.txt')!));
    } finally {
      await ceph.startRgw();
    }
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'down/put.bin' })), 404);
    assert.ok((await getBytes('docs/large.bin')).equals(objects.get('docs/large.bin')!));
    const again = plaintext(300_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'down/put.bin', Body: again }));
    assert.ok((await getBytes('down/put.bin')).equals(again));
    objects.set('down/put.bin', again);
  });

  it('should delete backend objects once no object refers to them', async () => {
    const before = (await backendObjects()).length;
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'docs/large.bin' }));
    assert.equal((await backendObjects()).length, before, 'the copy still refers to the blob');
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'copies/large-copy.bin' }));
    assert.equal((await backendObjects()).length, before - 1);
    objects.delete('docs/large.bin');
    objects.delete('copies/large-copy.bin');
  });

  it('should scrub every object through the backend with coffer scrub --chunks', async () => {
    await server.stop();
    const r = await runCli(['scrub', '--data', server.dataDir, ...chunkArgs], { env: chunkEnv, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${objects.size} objects, \\d+ bytes checked .* 0 failures$`, 'm'));
    server = await startServer({ dataDir: server.dataDir, args: chunkArgs, env: chunkEnv, ...creds(server) });
    s3.destroy();
    s3 = sdkClient(server, server);
    assert.ok((await getBytes('multi/part.bin')).equals(objects.get('multi/part.bin')!));
  });

  it('should refuse --chunks without the backend keys, naming the variables', async () => {
    const dir = await makeTempDir();
    const r = await runCli(['scrub', '--data', dir, ...chunkArgs], { env: {} });
    await rm(dir, { recursive: true, force: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /COFFER_CHUNKS_ACCESS_KEY/);
  });
});

function creds(s: RunningServer): { accessKey: string; secretKey: string } {
  return { accessKey: s.accessKey, secretKey: s.secretKey };
}
