/**
 * Bounded memory: a 1 GiB object goes up through multipart (@aws-sdk/lib-storage) and comes back down while the
 * server's peak resident set size (VmHWM) stays under 256 MiB. The test process neither holds the data: it is
 * generated deterministically as it is sent and hashed as it arrives.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { startServer, type RunningServer } from './helpers/server.ts';
import { sdkClient } from './helpers/clients.ts';
import { deterministicStream, hashStream, peakRss } from './helpers/multipart-data.ts';

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;
const LIMIT = 256 * MiB;

describe('multipart memory bound (e2e)', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let server: RunningServer;
  let s3: S3Client;

  before(async () => {
    server = await startServer();
    s3 = sdkClient(server, server);
    await s3.send(new CreateBucketCommand({ Bucket: 'mem' }));
  });
  after(async () => {
    s3?.destroy();
    await server?.stop({ removeDir: true });
  });

  it('should keep the server under 256 MiB peak RSS while 1 GiB goes up in parts and comes back down', {
    timeout: 300_000,
  }, async () => {
    const sent = createHash('md5');
    const upload = new Upload({
      client: s3,
      partSize: 16 * MiB,
      queueSize: 4,
      params: { Bucket: 'mem', Key: 'gib.bin', Body: deterministicStream(SIZE, 'gib', (b) => sent.update(b)) },
    });
    const done = await upload.done();
    assert.match(done.ETag!, /-64"$/);
    const afterUp = await peakRss(server.pid);

    const got = await s3.send(new GetObjectCommand({ Bucket: 'mem', Key: 'gib.bin' }));
    const back = await hashStream(got.Body as AsyncIterable<Uint8Array>);
    assert.deepEqual(back, { md5: sent.digest('hex'), size: SIZE });

    const peak = await peakRss(server.pid);
    console.log(
      `server peak RSS: ${(afterUp / MiB).toFixed(1)} MiB after the upload, ${(peak / MiB).toFixed(1)} MiB after the download`,
    );
    assert.ok(peak < LIMIT, `peak RSS ${(peak / MiB).toFixed(1)} MiB must stay under ${LIMIT / MiB} MiB`);
  });
});
