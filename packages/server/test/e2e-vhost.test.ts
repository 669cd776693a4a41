/**
 * End-to-end: virtual-hosted-style requests (`Host: {bucket}.{domain}`, path `/{key}`) against a server started
 * with `--domain s3.coffer.test`. The JS SDK v3 sends this style by default (`forcePathStyle: false`) to a named
 * endpoint; its connections are resolved to 127.0.0.1 by the agent, so no DNS is involved.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import type { LookupFunction } from 'node:net';
import { after, before, describe, it } from 'node:test';

import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { bodyBytes, md5hex, patternBytes, rejectsS3 } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { httpSend, signHeaders } from './helpers/http.ts';
import { makeTempDir, runCli, startServer, type RunningServer } from './helpers/server.ts';

const DOMAIN = 's3.coffer.test';

/** Every name resolves to the loopback address the test server listens on. */
const loopback: LookupFunction = (_host, options, callback) => {
  if (options.all)
    (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  else callback(null, '127.0.0.1', 4);
};

let server: RunningServer;
let agent: Agent;
let vh: S3Client;
let endpoint: string;
/** The requests the server logged: operation and path as sent (`/key` for a virtual-hosted request). */
const seenPaths = () =>
  server
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l) as { path: string; op: string });

before(async () => {
  server = await startServer({ args: ['--domain', DOMAIN, '--log-level', 'info'] });
  endpoint = `http://${DOMAIN}:${server.port}`;
  agent = new Agent({ keepAlive: true, lookup: loopback });
  vh = sdkClient({ url: endpoint }, server, {
    forcePathStyle: false,
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
});

after(async () => {
  vh?.destroy();
  agent?.destroy();
  await server?.stop({ removeDir: true });
});

/** GET of a URL through the loopback agent. */
function get(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('virtual-hosted style', () => {
  const bucket = 'vhost-bucket';

  it('should create a bucket and PUT, GET, HEAD, list, copy and delete objects with the SDK in its default style', async () => {
    await vh.send(new CreateBucketCommand({ Bucket: bucket }));
    const data = patternBytes(300_000, 'vhost');
    const put = await vh.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin', Body: data }));
    assert.equal(put.ETag, `"${md5hex(data)}"`);
    assert.equal(put.ServerSideEncryption, 'AES256');
    const got = await vh.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin' }));
    assert.ok((await bodyBytes(got.Body)).equals(data));
    const range = await vh.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin', Range: 'bytes=100-199' }));
    assert.ok((await bodyBytes(range.Body)).equals(data.subarray(100, 200)));
    assert.equal(
      (await vh.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/a b+c.bin' }))).ContentLength,
      data.length,
    );
    await vh.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource: `${bucket}/dir/a%20b%2Bc.bin` }));
    const list = await vh.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual(
      list.Contents?.map((o) => o.Key),
      ['copy', 'dir/a b+c.bin'],
    );
    const del = await vh.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'copy' }, { Key: 'dir/a b+c.bin' }] } }),
    );
    assert.equal(del.Deleted?.length, 2);
    await rejectsS3(vh.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy' })), 404, 'NoSuchKey');
    // The requests really came virtual-hosted: the paths the server logged carry no bucket.
    const paths = seenPaths();
    assert.ok(
      paths.some((r) => r.op === 'PutObject' && r.path === '/dir/a%20b%2Bc.bin'),
      JSON.stringify(paths.slice(0, 5)),
    );
    assert.ok(paths.some((r) => r.op === 'CreateBucket' && r.path === '/'));
    assert.ok(!paths.some((r) => r.path.startsWith(`/${bucket}`)));
  });

  it('should run a multipart upload (lib-storage) and serve a presigned GET', async () => {
    const data = patternBytes(11 * 1024 * 1024, 'vhost-mpu');
    const up = new Upload({
      client: vh,
      params: { Bucket: bucket, Key: 'big', Body: data },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const done = await up.done();
    assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-3"$/);
    const url = await getSignedUrl(vh, new GetObjectCommand({ Bucket: bucket, Key: 'big' }), { expiresIn: 300 });
    assert.ok(url.startsWith(`http://${bucket}.${DOMAIN}:${server.port}/big?`), url);
    const r = await get(url);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(data));
  });

  it('should route a signed request by its Host, and path style on the domain and on the address', async () => {
    const data = Buffer.from('hello from the host header');
    const url = `http://${bucket}.${DOMAIN}:${server.port}`;
    const put = await httpSend({
      method: 'PUT',
      url: server.url,
      path: '/hello.txt',
      body: data,
      headers: signHeaders({
        method: 'PUT',
        url,
        path: '/hello.txt',
        body: data,
        accessKey: server.accessKey,
        secretKey: server.secretKey,
      }),
    });
    assert.equal(put.status, 200, put.text);
    // Path style keeps working, on the domain itself and on the bare address.
    const pathStyle = sdkClient({ url: endpoint }, server, {
      forcePathStyle: true,
      requestHandler: new NodeHttpHandler({ httpAgent: agent }),
    });
    try {
      const got = await pathStyle.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
      assert.ok((await bodyBytes(got.Body)).equals(data));
      const buckets = await pathStyle.send(new ListBucketsCommand({}));
      assert.ok(buckets.Buckets?.some((b) => b.Name === bucket));
    } finally {
      pathStyle.destroy();
    }
    const byAddress = sdkClient(server, server);
    try {
      const got = await byAddress.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
      assert.ok((await bodyBytes(got.Body)).equals(data));
    } finally {
      byAddress.destroy();
    }
  });

  it('should answer NoSuchBucket for a host naming a bucket that does not exist', async () => {
    const url = `http://no-such-bucket.${DOMAIN}:${server.port}`;
    const r = await httpSend({
      method: 'GET',
      url: server.url,
      path: '/k',
      headers: signHeaders({
        method: 'GET',
        url,
        path: '/k',
        accessKey: server.accessKey,
        secretKey: server.secretKey,
      }),
    });
    assert.equal(r.status, 404);
    assert.match(r.text, /<Code>NoSuchBucket<\/Code>/);
    assert.match(r.text, /<BucketName>no-such-bucket<\/BucketName>/);
  });
});

describe('coffer serve --domain', () => {
  it('should refuse a value that is not a domain name, before it starts', async () => {
    const dataDir = await makeTempDir();
    try {
      for (const bad of ['bad domain', 'under_score.test', '-x.test', 'x..test']) {
        const r = await runCli(['serve', '--data', dataDir, '--listen', '127.0.0.1:0', '--domain', bad], {
          timeoutMs: 15_000,
        });
        assert.notEqual(r.code, 0, bad);
        assert.match(r.stderr, /expected a domain name/, bad);
        assert.doesNotMatch(r.stdout, /listening/);
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
