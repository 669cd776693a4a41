/**
 * Several nodes: three `coffer serve` processes on one PostgreSQL metadata database (`--meta`), sharing one data
 * directory for chunk files and one master key, serve one namespace. Writes on one node are read on another at
 * once; conditional writes, overwrites and multipart uploads race across nodes with exact results; a node killed
 * mid-PUT leaves nothing visible; a PostgreSQL restart during commits gives S3 errors, never a half-committed object.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';

import { startPostgres, type RunningPostgres } from '../../../tools/test-services/postgres.ts';
import { bodyBytes, md5hex, patternBytes, rejectsS3, sleep } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { objectPath, signedSend } from './helpers/http.ts';
import { makeTempDir, randomCredentials, runCli, startServer, type RunningServer } from './helpers/server.ts';

const BUCKET = 'shared';
const MiB = 1024 * 1024;

describe('several nodes on one PostgreSQL (coffer serve --meta)', () => {
  let db: RunningPostgres;
  let metaUrl: string;
  let dataDir: string;
  const creds = randomCredentials();
  const masterKey = randomBytes(32).toString('base64');
  const nodes: RunningServer[] = [];
  const clients: S3Client[] = [];

  const startNode = () =>
    startServer({ dataDir, args: ['--meta', metaUrl], env: { COFFER_MASTER_KEY: masterKey }, ...creds });

  before(async () => {
    db = await startPostgres();
    metaUrl = await db.createDatabase('coffer_nodes');
    dataDir = await makeTempDir('coffer-nodes-');
    // The first node creates the schema and the root user; the others join.
    nodes.push(await startNode());
    nodes.push(...(await Promise.all([startNode(), startNode()])));
    for (const n of nodes) clients.push(sdkClient(n, creds));
    await clients[0]!.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    for (const c of clients) c.destroy();
    for (const [i, n] of nodes.entries()) await n?.stop({ removeDir: i === nodes.length - 1 });
    await db?.stop();
  });

  const [A, B, C] = [0, 1, 2];
  const get = async (node: number, key: string) =>
    bodyBytes((await clients[node]!.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body);

  it('should read, head and list on B an object just written on A', async () => {
    const body = patternBytes(200_000, 'a-to-b');
    await clients[A]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cross/one', Body: body }));
    assert.equal(md5hex(await get(B, 'cross/one')), md5hex(body));
    const head = await clients[B]!.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cross/one' }));
    assert.equal(head.ContentLength, body.length);
    const list = await clients[C]!.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'cross/' }));
    assert.deepEqual(
      list.Contents?.map((o) => o.Key),
      ['cross/one'],
    );
  });

  it('should let exactly one of 20 If-None-Match: * PUTs split over A and B win', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        signedSend(nodes[i % 2]!, {
          method: 'PUT',
          path: objectPath(BUCKET, 'race/once'),
          headers: { 'if-none-match': '*' },
          body: Buffer.from(`writer ${i}`),
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, ...Array(19).fill(412)]);
    const winner = results.findIndex((r) => r.status === 200);
    assert.equal((await get(C, 'race/once')).toString(), `writer ${winner}`);
  });

  it('should leave exactly the last writer and no stray chunk file after 24 overwrites across nodes', async () => {
    const bodies = Array.from({ length: 24 }, (_, i) => patternBytes(100_000, `over-${i}`));
    const done = await Promise.all(
      bodies.map((body, i) =>
        clients[i % 3]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'race/overwrite', Body: body })).then(() => i),
      ),
    );
    assert.equal(done.length, 24);
    const now = md5hex(await get(A, 'race/overwrite'));
    assert.ok(
      bodies.some((b) => md5hex(b) === now),
      'the object is one of the bodies written, whole',
    );
    // Every replaced body's chunk file was released by the commit that replaced it (references are exact).
    const files = await blobFiles(dataDir);
    const live = await liveBlobIds(metaUrl);
    assert.deepEqual(files.sort(), [...live].sort());
  });

  it('should complete on C a multipart upload whose parts went through A and B', async () => {
    const { UploadId } = await clients[A]!.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/abc' }));
    const p1 = patternBytes(5 * MiB, 'part1');
    const p2 = patternBytes(1 * MiB, 'part2');
    const r1 = await clients[A]!.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/abc', UploadId, PartNumber: 1, Body: p1 }),
    );
    const r2 = await clients[B]!.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/abc', UploadId, PartNumber: 2, Body: p2 }),
    );
    await clients[C]!.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'mp/abc',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: r1.ETag },
            { PartNumber: 2, ETag: r2.ETag },
          ],
        },
      }),
    );
    assert.equal(md5hex(await get(A, 'mp/abc')), md5hex(Buffer.concat([p1, p2])));
  });

  it('should make one object of two concurrent Completes on A and B', async () => {
    const { UploadId } = await clients[C]!.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/twice' }));
    const body = patternBytes(1 * MiB, 'twice');
    const r = await clients[C]!.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mp/twice', UploadId, PartNumber: 1, Body: body }),
    );
    const complete = (node: number) =>
      clients[node]!.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'mp/twice',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: r.ETag }] },
        }),
      ).then(
        (out) => ({ ok: true as const, etag: out.ETag }),
        (err: { name?: string }) => ({ ok: false as const, name: err.name }),
      );
    const [x, y] = await Promise.all([complete(A), complete(B)]);
    const wins = [x, y].filter((o) => o.ok);
    assert.ok(wins.length >= 1, 'one Complete makes the object');
    for (const o of [x, y]) if (!o.ok) assert.equal(o.name, 'NoSuchUpload');
    assert.equal(md5hex(await get(C, 'mp/twice')), md5hex(body));
  });

  it('should show nothing of a PUT whose node was killed with SIGKILL mid-body', async () => {
    const victim = await startNode();
    try {
      const body = patternBytes(8 * MiB, 'killed');
      const pending = signedSend(victim, {
        method: 'PUT',
        path: objectPath(BUCKET, 'killed/big'),
        headers: { 'content-length': String(body.length) },
        heldBody: body.subarray(0, 2 * MiB), // the rest never comes: the node is killed while the body streams in
        payloadHash: 'UNSIGNED-PAYLOAD',
        timeoutMs: 10_000,
      }).catch((err: Error) => err);
      await sleep(150);
      process.kill(victim.pid, 'SIGKILL');
      await victim.exited;
      assert.ok((await pending) instanceof Error, 'the killed node never answered');
      await rejectsS3(clients[A]!.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'killed/big' })), 404);
      const list = await clients[B]!.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'killed/' }));
      assert.equal(list.KeyCount, 0);
    } finally {
      await victim.stop();
    }
  });

  it('should answer S3 errors while PostgreSQL restarts under commits, and keep every acknowledged object whole', async () => {
    const acked = new Map<string, string>();
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop && i < 400; i++) {
        const key = `restart/${i}`;
        const body = patternBytes(10_000 + i, key);
        const r = await signedSend(nodes[i % 3]!, { method: 'PUT', path: objectPath(BUCKET, key), body }).catch(
          () => undefined,
        );
        if (r?.status === 200) acked.set(key, md5hex(body));
        else {
          if (r)
            assert.ok(
              r.status >= 500 && r.status < 600 && !/stack|postgres|ECONN/i.test(r.text),
              `${r.status} ${r.text}`,
            );
        }
        await sleep(5);
      }
    })();
    await sleep(300);
    await db.restart();
    await sleep(500);
    stop = true;
    await writer;
    assert.ok(acked.size > 0, 'some writes succeeded');
    for (const [key, sum] of acked) assert.equal(md5hex(await get(Number(key.split('/')[1]) % 3, key)), sum, key);
    // A write that failed is absent or whole, never half there: every listed object reads whole.
    const list = await clients[A]!.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'restart/' }));
    for (const o of list.Contents ?? []) {
      const i = Number(o.Key!.split('/')[1]);
      assert.equal(md5hex(await get(B, o.Key!)), md5hex(patternBytes(10_000 + i, o.Key!)), o.Key);
    }
  });

  it('should pass coffer scrub run against the shared metadata', async () => {
    const r = await runCli(['scrub', '--data', dataDir, '--meta', metaUrl], { env: { COFFER_MASTER_KEY: masterKey } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, / 0 failures/);
  });
});

/** Blob ids of the chunk files under DATA/blobs. */
async function blobFiles(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const root = join(dataDir, 'blobs');
  for (const xx of await readdir(root)) {
    for (const yy of await readdir(join(root, xx))) out.push(...(await readdir(join(root, xx, yy))));
  }
  return out;
}

/** Blob ids with a reference count in the metadata (file blobs only: inline ones have no file). */
async function liveBlobIds(url: string): Promise<Set<string>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ k: Buffer; v: Buffer }>(
      "SELECT k, v FROM coffer_kv WHERE k >= '\\x217221'::bytea AND k < '\\x217222'::bytea",
    );
    const ids = new Set<string>();
    for (const { k, v } of rows) if (!JSON.parse(v.toString('utf8')).inline) ids.add(k.toString('utf8').slice(3));
    return ids;
  } finally {
    await c.end();
  }
}
