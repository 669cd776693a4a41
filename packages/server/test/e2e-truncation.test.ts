/**
 * Where an object ends (issue 10 point 5), through the real server: a record or a blob file that lies about an
 * object's length answers GET with an error (500 before the first byte, or a cut connection), never 200 with fewer
 * bytes, and `coffer scrub` exits 2 naming each such object. The records are altered in the stopped server's own
 * LevelDB, the files on disk.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';

import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

import { BlobStore, type ObjectRecord } from '@coffer/blob-store';
import { CHUNK_SIZE, TAG_LENGTH, encryptedSize } from '@coffer/crypto';

import { openKeyRing } from '../src/key-ring.ts';
import { sdkClient } from './helpers/clients.ts';
import { assertS3Error, objectPath, signedSend, type HttpResult } from './helpers/http.ts';
import { runCli, startServer, type RunningServer } from './helpers/server.ts';

const BUCKET = 'trunc';
const STRIDE = CHUNK_SIZE + TAG_LENGTH;
const bodies = new Map<string, Buffer>([
  ['clean', randomBytes(5 * CHUNK_SIZE + 123)],
  ['short-by-one', randomBytes(5 * CHUNK_SIZE + 123)],
  ['small-short-by-one', randomBytes(1000)],
  ['file-cut', randomBytes(5 * CHUNK_SIZE + 123)],
  ['both-cut', randomBytes(5 * CHUNK_SIZE + 123)],
]);
const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)];

describe('objects whose record or file lies about their length', () => {
  let server: RunningServer;

  const get = (key: string, headers: Record<string, string> = {}): Promise<HttpResult | Error> =>
    signedSend(server, { method: 'GET', path: objectPath(BUCKET, key), headers }).catch((e: Error) => e);

  before(async () => {
    server = await startServer();
    const sdk = sdkClient(server, server);
    await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (const [key, body] of bodies) await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    const { UploadId } = await sdk.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp-part-cut' }));
    const done = [];
    for (const [i, body] of parts.entries()) {
      const PartNumber = i + 1;
      const Key = 'mp-part-cut';
      const r = await sdk.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber, Body: body }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    await sdk.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'mp-part-cut',
        UploadId,
        MultipartUpload: { Parts: done },
      }),
    );
    sdk.destroy();
    await server.stop();

    // Alter the stopped server's data: records through a BlobStore on its data directory, files with truncate.
    const keyRing = await openKeyRing(server.dataDir, { kind: 'data-dir' });
    const store = await BlobStore.open({ dir: server.dataDir, keyRing });
    try {
      const rec = async (key: string) => (await store.getObject(BUCKET, key))!;
      const rewrite = (r: ObjectRecord) => store.transaction((tx) => tx.putObject(r));
      const file = (id: string) => join(server.dataDir, 'blobs', id.slice(0, 2), id.slice(2, 4), id);
      for (const key of ['short-by-one', 'small-short-by-one']) {
        const r = await rec(key);
        await rewrite({ ...r, size: r.size - 1 });
      }
      await truncate(file((await rec('file-cut')).segments[0]!.blobId), 2 * STRIDE);
      const both = await rec('both-cut');
      const seg = both.segments[0]!;
      await truncate(file(seg.blobId), 4 * STRIDE);
      const size = 4 * CHUNK_SIZE;
      await rewrite({ ...both, size, segments: [{ ...seg, plainSize: size, encSize: encryptedSize(size) }] });
      await truncate(file((await rec('mp-part-cut')).segments[0]!.blobId), 10 * STRIDE);
    } finally {
      await store.close();
    }
    server = await startServer({ dataDir: server.dataDir, accessKey: server.accessKey, secretKey: server.secretKey });
  });

  after(async () => {
    await server?.stop({ removeDir: true });
  });

  it('should still answer an untouched object byte for byte', async () => {
    const r = await get('clean');
    assert.ok(!(r instanceof Error), String(r));
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, bodies.get('clean'));
  });

  it('should answer 500 InternalError before any byte when the record or a file is caught lying up front', async () => {
    for (const key of ['short-by-one', 'small-short-by-one', 'file-cut', 'mp-part-cut']) {
      for (const headers of [{}, { range: 'bytes=0-99' }] as Record<string, string>[]) {
        const r = await get(key, headers);
        assert.ok(!(r instanceof Error), `${key}: ${String(r)}`);
        const e = assertS3Error(r, 500, 'InternalError');
        assert.doesNotMatch(e['Message']!, /segment|blob|record/i, 'no internal detail in the body');
      }
    }
  });

  it('should cut the connection at the final chunk when the record and the file are cut alike', async () => {
    const r = await get('both-cut');
    // The object's first chunks authenticate, so the headers go out; the chunk the record says is final was sealed
    // as not final, so the body stops short of its Content-Length and the connection is cut: never a clean 200.
    const got = r instanceof Error ? r.message : `${r.status}, ${r.body.length}/${r.headers['content-length']} bytes`;
    assert.ok(r instanceof Error, `a cut connection, not ${got}`);
    assert.match(r.message, /aborted|ECONNRESET|socket hang up/);
  });

  it('should make coffer scrub exit 2 and name every object that lies', async () => {
    await server.stop();
    const r = await runCli(['scrub', '--data', server.dataDir], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stderr);
    const failed = [...r.stdout.matchAll(/^FAIL\t\S+\/(\S+)\t(\w+)\t/gm)].map((m) => [m[1], m[2]]).sort();
    assert.deepEqual(failed, [
      ['both-cut', 'CRYPTO_AUTH_FAILED'],
      ['file-cut', 'BLOB_CORRUPT'],
      ['mp-part-cut', 'BLOB_CORRUPT'],
      ['short-by-one', 'BLOB_CORRUPT'],
      ['small-short-by-one', 'BLOB_CORRUPT'],
    ]);
    assert.match(r.stdout, /^6 objects, \d+ bytes checked.*, 5 failures$/m);
  });
});
