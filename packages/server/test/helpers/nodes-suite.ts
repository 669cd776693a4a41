/**
 * Several nodes: three `coffer serve` processes on one PostgreSQL metadata database (`--meta`), with one master key
 * and their chunks in one place (a shared data directory, or an S3 backend such as Ceph's radosgw), serve one
 * namespace. Writes on one node are read on another at once; conditional writes, overwrites and multipart uploads
 * race across nodes with exact results; a node killed mid-PUT or mid-multipart leaves nothing visible, and its data
 * goes once past the grace; a reader on one node keeps reading an object that another node overwrites (its data
 * waits on the garbage list); a PostgreSQL restart during commits gives S3 errors, never a half-committed object.
 * The test files run {@link describeNodes} with their backend.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
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
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { eventually } from '@coffer/blob-store/testing';

import { startPostgres, type RunningPostgres } from '../../../../tools/test-services/postgres.ts';
import { bodyBytes, md5hex, patternBytes, rejectsS3, sleep } from './assert.ts';
import { metaBlobIds } from './blobs.ts';
import { sdkClient } from './clients.ts';
import { objectPath, signHeaders, signedSend } from './http.ts';
import { randomCredentials, runCli, startServer, type RunningServer } from './server.ts';

const BUCKET = 'shared';
const MiB = 1024 * 1024;

/** Where the nodes of {@link describeNodes} keep their chunks. */
export interface NodesBackend {
  /** Starts the chunk storage the nodes share (before the first node). */
  start(): Promise<void>;
  /** Stops it (after the last node). */
  stop(): Promise<void>;
  /** The data directory every node uses, when they share one; `undefined`: each node a fresh one of its own. */
  sharedDataDir(): string | undefined;
  /** Flags and environment that every node and every `coffer` command gets for the chunk storage. */
  args(): string[];
  env(): Record<string, string>;
  /** The ids of the blobs stored. */
  blobIds(): Promise<string[]>;
  /** What writes that never finished left in the storage (temp files, unfinished backend uploads). */
  leftovers(): Promise<number>;
}

/** What {@link describeNodes} hands the tests a backend adds. */
export interface NodesContext {
  /** The three nodes A, B, C and an SDK client for each. */
  nodes: RunningServer[];
  clients: S3Client[];
  /** Starts one more node (the caller stops it). */
  startNode(crashAt?: string): Promise<RunningServer>;
  /** The bucket the tests share. */
  bucket: string;
  /** The PostgreSQL database of the metadata. */
  metaUrl(): string;
}

/**
 * The checks of several nodes on one PostgreSQL database: three `coffer serve --meta` with the chunks in `backend`.
 * `more` adds tests of its own (within the same `describe`, after these).
 */
export function describeNodes(title: string, backend: NodesBackend, more?: (ctx: NodesContext) => void): void {
  describe(title, () => {
    let db: RunningPostgres;
    let metaUrl: string;
    const creds = randomCredentials();
    const masterKey = randomBytes(32).toString('base64');
    const nodes: RunningServer[] = [];
    const clients: S3Client[] = [];

    /**
     * A node. The garbage sweep runs every second (on one node at a time) and takes data of writes that never
     * committed once 10 s old, so that the crash tests can see it go; replaced data keeps the default delay (15
     * minutes), far longer than any read here. `crashAt` kills the node at a point of the commit protocol.
     */
    const startNode = (crashAt?: string) =>
      startServer({
        dataDir: backend.sharedDataDir(),
        args: ['--meta', metaUrl, '--gc-interval', '1', '--sweep-grace', '10', ...backend.args()],
        env: { COFFER_MASTER_KEY: masterKey, COFFER_TEST_CRASH_AT: crashAt, ...backend.env() },
        ...creds,
        // The machine may be busy with the services (a Ceph starting takes cores): a node may need more than 20 s.
        readyTimeoutMs: 60_000,
      });
    /** Stops a node; its data directory goes with it unless the nodes share one (the last node's `after` removes it). */
    const stopNode = (n: RunningServer) => n.stop({ removeDir: backend.sharedDataDir() === undefined });
    /** Runs `coffer ARGS… --data DIR --meta URL` with the chunk storage's flags. */
    const cli = (...args: string[]) =>
      runCli([...args, '--data', nodes[0]!.dataDir, '--meta', metaUrl, ...backend.args()], {
        env: { COFFER_MASTER_KEY: masterKey, ...backend.env() },
      });

    before(async () => {
      db = await startPostgres();
      metaUrl = await db.createDatabase('coffer_nodes');
      await backend.start();
      // The first node creates the schema and the root user; the others join.
      nodes.push(await startNode());
      nodes.push(...(await Promise.all([startNode(), startNode()])));
      // A connection per request: the tests wait with nodes idle (a paused reader, a gc run) past the server's
      // keep-alive timeout, and a client reusing a socket the server is closing gets ECONNRESET.
      const requestHandler = () => new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: false }) });
      for (const n of nodes) clients.push(sdkClient(n, creds, { requestHandler: requestHandler() }));
      await clients[0]!.send(new CreateBucketCommand({ Bucket: BUCKET }));
    });
    after(async () => {
      for (const c of clients) c.destroy();
      for (const [i, n] of nodes.entries()) {
        await n?.stop({ removeDir: backend.sharedDataDir() === undefined || i === nodes.length - 1 });
      }
      await backend.stop();
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
          clients[i % 3]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'race/overwrite', Body: body })).then(
            () => i,
          ),
        ),
      );
      assert.equal(done.length, 24);
      const now = md5hex(await get(A, 'race/overwrite'));
      assert.ok(
        bodies.some((b) => md5hex(b) === now),
        'the object is one of the bodies written, whole',
      );
      // Every replaced body's chunk file was released by the commit that replaced it (references are exact): to the
      // garbage list, where it waits for reads still streaming it.
      const { live, garbage } = await metaBlobIds(metaUrl);
      assert.ok(garbage.size >= 23, `23 replaced bodies wait on the garbage list, got ${garbage.size}`);
      assert.deepEqual((await backend.blobIds()).sort(), [...live, ...garbage].sort());
    });

    it('should let a reader on B finish an object that A overwrites and coffer gc runs meanwhile', async () => {
      const p1 = patternBytes(16 * MiB, 'slow-1');
      const p2 = patternBytes(1 * MiB, 'slow-2');
      const { UploadId } = await clients[A]!.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'slow/mp' }));
      const parts = [];
      for (const [i, Body] of [p1, p2].entries()) {
        const r = await clients[A]!.send(
          new UploadPartCommand({ Bucket: BUCKET, Key: 'slow/mp', UploadId, PartNumber: i + 1, Body }),
        );
        parts.push({ PartNumber: i + 1, ETag: r.ETag });
      }
      await clients[A]!.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'slow/mp',
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      const before = await metaBlobIds(metaUrl);

      // B starts streaming; the client reads 1 MiB and stops (the second part's file is not opened yet).
      const resp = await pausedGet(nodes[B]!, BUCKET, 'slow/mp');
      assert.equal(resp.statusCode, 200);
      const head = await readAtLeast(resp, MiB);

      await clients[A]!.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'slow/mp', Body: Buffer.from('new') }));
      const afterPut = await metaBlobIds(metaUrl);
      const released = [...before.live].filter((id) => !afterPut.live.has(id));
      assert.equal(released.length, 2, 'both part files released');
      for (const id of released) assert.ok(afterPut.garbage.has(id), 'on the garbage list');
      // The full compare, while the nodes run, leaves what is on the garbage list.
      const gc = await cli('gc');
      assert.equal(gc.code, 0, gc.stdout + gc.stderr);
      const stored = new Set(await backend.blobIds());
      for (const id of released) assert.ok(stored.has(id), 'gc left the released data');

      const rest = await readToEnd(resp);
      assert.equal(md5hex(Buffer.concat([head, rest])), md5hex(Buffer.concat([p1, p2])));
      assert.equal((await get(C, 'slow/mp')).toString(), 'new');
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
      const { UploadId } = await clients[C]!.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp/twice' }),
      );
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
        await stopNode(victim);
      }
    });

    it('should remove, once past the grace, the data of a PUT and of a part whose nodes died before the commit', async () => {
      const known = new Set(await backend.blobIds());
      // One node dies right after storing a PUT's data (fsync'd and renamed, no record yet), another a part's.
      const putVictim = await startNode('blob-stored');
      const partVictim = await startNode('blob-stored');
      const { UploadId } = await clients[A]!.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'killed/mp' }),
      );
      try {
        const died = await Promise.all(
          [
            signedSend(putVictim, {
              method: 'PUT',
              path: objectPath(BUCKET, 'killed/stored'),
              body: patternBytes(MiB),
            }),
            signedSend(partVictim, {
              method: 'PUT',
              path: objectPath(BUCKET, 'killed/mp'),
              query: { partNumber: '1', uploadId: UploadId! },
              body: patternBytes(MiB, 'part'),
            }),
          ].map((p) =>
            p.then(
              () => false,
              () => true,
            ),
          ),
        );
        assert.deepEqual(died, [true, true], 'neither killed node answered');
        assert.equal((await putVictim.exited).signal, 'SIGKILL');
        assert.equal((await partVictim.exited).signal, 'SIGKILL');
      } finally {
        await stopNode(putVictim);
        await stopNode(partVictim);
      }
      await rejectsS3(clients[B]!.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'killed/stored' })), 404);
      const parts = await signedSend(nodes[C]!, {
        method: 'GET',
        path: objectPath(BUCKET, 'killed/mp'),
        query: { uploadId: UploadId! },
      });
      assert.equal(parts.status, 200, parts.text);
      assert.doesNotMatch(parts.text, /<Part>/, 'the upload has no part');

      const { live, garbage } = await metaBlobIds(metaUrl);
      const orphans = (await backend.blobIds()).filter((id) => !known.has(id) && !live.has(id) && !garbage.has(id));
      assert.equal(orphans.length, 2, 'the two stored, never committed blobs');
      // The garbage sweep of the running nodes removes them (and what the PUT killed mid-body above left) once they
      // are older than --sweep-grace (10 s); this waits for it, within a bound.
      await eventually(
        async () => {
          const stored = new Set(await backend.blobIds());
          assert.deepEqual(
            orphans.filter((id) => stored.has(id)),
            [],
            'the sweeper removed the orphan data',
          );
          assert.equal(await backend.leftovers(), 0, 'and what the write killed mid-body left');
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      assert.equal((await get(A, 'race/once')).length > 0, true, 'the nodes still serve');
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

    it('should answer a read with 503 ServiceUnavailable while PostgreSQL is down, and serve it once it is back', async () => {
      const body = patternBytes(3000, 'down');
      assert.equal(
        (await signedSend(nodes[A]!, { method: 'PUT', path: objectPath(BUCKET, 'down/1'), body })).status,
        200,
      );
      await db.stopServer();
      try {
        const r = await signedSend(nodes[B]!, { method: 'GET', path: objectPath(BUCKET, 'down/1') });
        assert.equal(r.status, 503, r.text);
        assert.match(r.text, /<Code>ServiceUnavailable<\/Code>/);
        assert.doesNotMatch(r.text, /postgres|ECONN|metadata/i);
      } finally {
        await db.startServer();
      }
      assert.equal(md5hex(await get(B, 'down/1')), md5hex(body));
    });

    it('should pass coffer scrub run against the shared metadata', async () => {
      const r = await cli('scrub');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, / 0 failures/);
    });

    more?.({ nodes, clients, startNode, bucket: BUCKET, metaUrl: () => metaUrl });
  });
}

/** A signed GET whose body the test reads at its own pace (the response comes paused). */
function pausedGet(node: RunningServer, bucket: string, key: string): Promise<IncomingMessage> {
  const path = objectPath(bucket, key);
  const headers = signHeaders({
    method: 'GET',
    url: node.url,
    path,
    accessKey: node.accessKey,
    secretKey: node.secretKey,
  });
  const u = new URL(node.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, headers, agent: false }, (resp) => {
      resp.pause();
      resolve(resp);
    });
    req.once('error', reject);
    req.end();
  });
}

/** Reads at least `n` bytes of the body, then pauses it again. */
function readAtLeast(resp: IncomingMessage, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got < n) return;
      resp.pause();
      resp.off('data', onData);
      resp.off('error', reject);
      resolve(Buffer.concat(chunks));
    };
    resp.on('data', onData);
    resp.once('error', reject);
    resp.resume();
  });
}

/** Reads the rest of the body; rejects if the server cut it short. */
function readToEnd(resp: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    resp.on('data', (c: Buffer) => chunks.push(c));
    resp.once('end', () => (resp.complete ? resolve(Buffer.concat(chunks)) : reject(new Error('body cut short'))));
    resp.once('error', reject);
    resp.once('aborted', () => reject(new Error('response aborted')));
    resp.resume();
  });
}
