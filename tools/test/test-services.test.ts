/**
 * The throw-away services of the scale-out tests (tools/test-services/) and tools/dev-cluster.sh, against the real
 * programs: PostgreSQL 15 and a one-node Ceph from tools/install-test-deps.sh.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';

import { sdkClient } from '../../packages/server/test/helpers/clients.ts';
import { childEnv, REPO_ROOT, runProcess } from '../../packages/server/test/helpers/server.ts';
import { startCeph, type RunningCeph } from '../test-services/ceph.ts';
import { hasExited } from '../test-services/processes.ts';
import { startPostgres, type RunningPostgres } from '../test-services/postgres.ts';

/** Resolves with the rows of one query on a fresh connection to `url`. */
async function query(url: string, sql: string, params: unknown[] = []): Promise<unknown[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves once a listener could bind `port` on 127.0.0.1 (rejects with EADDRINUSE while something holds it). */
function bindOnce(port: number): Promise<void> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => server.close(() => res()));
  });
}

/** The postmaster's pid, first line of postmaster.pid. */
function postmasterPid(dir: string): number {
  return Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('startPostgres', () => {
  let server: RunningPostgres;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());

  it("should accept the URL's password login as a non-superuser owning its database, over 127.0.0.1", async () => {
    const url = new URL(server.url);
    assert.equal(url.protocol, 'postgres:');
    assert.equal(url.hostname, '127.0.0.1');
    assert.equal(Number(url.port), server.port);
    const rows = await query(
      server.url,
      `SELECT 1 AS one, current_user AS role, rolsuper, current_database() AS db,
      inet_server_addr()::text AS addr FROM pg_roles WHERE rolname = current_user`,
    );
    assert.deepEqual(rows, [
      { one: 1, role: url.username, rolsuper: false, db: url.pathname.slice(1), addr: '127.0.0.1/32' },
    ]);
    // the role may create tables in its database, as an engine's migrations will
    await query(server.url, 'CREATE TABLE t (k bytea PRIMARY KEY)');
  });

  it('should refuse a wrong password with SQLSTATE 28P01', async () => {
    const url = new URL(server.url);
    url.password = 'wrong';
    await assert.rejects(query(url.toString(), 'SELECT 1'), { code: '28P01' });
  });

  it('should order keys by ICU en-US unless COLLATE "C" or bytea, as a production server does', async () => {
    const rows = await query(
      server.url,
      `SELECT 'a/Z' < 'a/b' AS icu, 'a/Z' COLLATE "C" < 'a/b' AS c,
      convert_to('a/Z', 'UTF8') < convert_to('a/b', 'UTF8') AS bytes`,
    );
    assert.deepEqual(rows, [{ icu: false, c: true, bytes: true }]);
  });

  it('should keep committed rows across a crash restart and accept new connections after it', async () => {
    await query(server.url, 'CREATE TABLE kept (k text PRIMARY KEY, v int)');
    await query(server.url, `INSERT INTO kept VALUES ('a', 1), ('b', 2)`);
    const open = new pg.Client(server.url);
    await open.connect();
    open.on('error', () => undefined); // the server going away is reported here as well as on the query
    const pidBefore = postmasterPid(server.dir);
    await server.restart('immediate');
    assert.notEqual(postmasterPid(server.dir), pidBefore);
    assert.equal(hasExited(pidBefore), true);
    // a connection from before the restart is dead
    await assert.rejects(open.query('SELECT 1'));
    assert.deepEqual(await query(server.url, 'SELECT k, v FROM kept ORDER BY k'), [
      { k: 'a', v: 1 },
      { k: 'b', v: 2 },
    ]);
  });

  it('should give each server its own port and directory', async () => {
    const second = await startPostgres();
    try {
      assert.notEqual(second.port, server.port);
      assert.notEqual(second.dir, server.dir);
      await query(second.url, 'CREATE TABLE only_here (k int)');
      await assert.rejects(query(server.url, 'SELECT * FROM only_here'), { code: '42P01' });
    } finally {
      await second.stop();
    }
  });

  it('should create further empty databases for the same role', async () => {
    const url = await server.createDatabase();
    const tables = await query(url, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
    assert.deepEqual(tables, [{ n: 0 }]);
    await assert.rejects(server.createDatabase('no-dashes'), RangeError);
  });

  it('should stop exactly its server, free its port and remove its directory', async () => {
    const doomed = await startPostgres();
    const pid = postmasterPid(doomed.dir);
    await doomed.stop();
    assert.equal(hasExited(pid), true);
    assert.equal(existsSync(doomed.dir), false);
    await bindOnce(doomed.port);
    await assert.rejects(query(doomed.url, 'SELECT 1'), { code: 'ECONNREFUSED' });
    // the other server is untouched
    assert.deepEqual(await query(server.url, 'SELECT 1 AS one'), [{ one: 1 }]);
    await doomed.stop(); // a second stop is harmless
  });

  it('should stop a server its test process forgot to stop when that process exits', async () => {
    const script = `import { startPostgres } from './tools/test-services/postgres.ts';
      const s = await startPostgres(); console.log(JSON.stringify({ dir: s.dir, port: s.port }));`;
    const args = ['--import', 'tsx', '--input-type=module', '-e', script];
    const { code, stdout, stderr } = await runProcess(process.execPath, args);
    assert.equal(code, 0, stderr);
    const { dir, port } = JSON.parse(stdout) as { dir: string; port: number };
    assert.equal(existsSync(dir), false);
    await bindOnce(port);
  });
});

describe('startCeph', () => {
  let ceph: RunningCeph;
  let s3: S3Client;
  const bucket = 'coffer-services-test';
  before(async () => {
    ceph = await startCeph();
    // radosgw 16 does not take the SDK's default streaming upload (aws-chunked with a checksum trailer): see below
    s3 = sdkClient({ url: ceph.endpoint }, ceph, { requestChecksumCalculation: 'WHEN_REQUIRED' });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    s3?.destroy();
    await ceph?.stop();
  });

  it('should serve S3 on a loopback port: PutObject, GetObject and ListObjectsV2 round-trip', async () => {
    assert.match(ceph.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    const body = Buffer.from('chunk bytes \x00\xff', 'latin1');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/1', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/2', Body: 'two' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/1' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'a/' }));
    assert.deepEqual(
      listed.Contents?.map((o) => [o.Key, o.Size]),
      [
        ['a/1', body.length],
        ['a/2', 3],
      ],
    );
  });

  it('should answer If-None-Match: * on an existing key with 412 PreconditionFailed and keep the object', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'first', IfNoneMatch: '*' }));
    const err = await s3
      .send(new PutObjectCommand({ Bucket: bucket, Key: 'once', Body: 'second', IfNoneMatch: '*' }))
      .then(
        () => assert.fail('the second PUT succeeded'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof S3ServiceException);
    assert.equal(err.$metadata.httpStatusCode, 412);
    assert.equal(err.name, 'PreconditionFailed');
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }));
    assert.equal(await got.Body!.transformToString(), 'first');
  });

  it('should refuse connections while radosgw is stopped and serve the same data after startRgw', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'survives', Body: 'kept in the OSD' }));
    const { mon, osd } = ceph.pids();
    await ceph.stopRgw();
    assert.deepEqual(ceph.alive(), { mon: true, osd: true, rgw: false });
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'survives' })), { code: 'ECONNREFUSED' });
    await ceph.startRgw();
    assert.deepEqual(ceph.pids().mon, mon);
    assert.deepEqual(ceph.pids().osd, osd);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'survives' }));
    assert.equal(await got.Body!.transformToString(), 'kept in the OSD');
  });

  it("should answer the SDK's default streaming PUT (aws-chunked, checksum trailer) with 411 MissingContentLength", async () => {
    const defaults = sdkClient({ url: ceph.endpoint }, ceph);
    try {
      const body = Readable.from([Buffer.from('streamed')]);
      const err = await defaults
        .send(new PutObjectCommand({ Bucket: bucket, Key: 'streamed', Body: body, ContentLength: 8 }))
        .then(
          () => assert.fail('the PUT succeeded'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof S3ServiceException);
      assert.equal(err.$metadata.httpStatusCode, 411);
      assert.equal(err.name, 'MissingContentLength');
    } finally {
      defaults.destroy();
    }
  });

  it('should fail a PUT in flight when radosgw is killed, and leave no object behind', async () => {
    const body = new PassThrough();
    const size = 4 * 1024 * 1024;
    const put = s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'half', Body: body, ContentLength: size })).then(
      () => assert.fail('the PUT succeeded'),
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    // 'drain' means the request took the first MiB off the stream: radosgw is connected and reading the body
    if (!body.write(Buffer.alloc(1024 * 1024, 1))) await new Promise((res) => body.once('drain', res));
    await ceph.stopRgw();
    body.end(Buffer.alloc(size - 1024 * 1024, 2));
    const err = await put;
    assert.ok(['ECONNRESET', 'EPIPE'].includes(err.code ?? ''), `unexpected ${err.code}: ${err.message}`);
    await ceph.startRgw();
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'half' })), (e: unknown) => {
      assert.ok(e instanceof S3ServiceException);
      assert.equal(e.$metadata.httpStatusCode, 404);
      return true;
    });
  });

  it('should kill exactly its own daemons and remove its directory on stop', async () => {
    const other = await startPostgres(); // an unrelated service that must survive
    try {
      const pids = ceph.pids();
      await ceph.stop();
      for (const pid of Object.values(pids)) assert.equal(hasExited(pid!), true);
      assert.deepEqual(ceph.alive(), { mon: false, osd: false, rgw: false });
      assert.equal(existsSync(ceph.dir), false);
      await bindOnce(Number(new URL(ceph.endpoint).port));
      assert.deepEqual(await query(other.url, 'SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await other.stop();
    }
  });
});

describe('tools/dev-cluster.sh', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-dev-cluster-'));
  });
  after(async () => {
    const env = childEnv({ COFFER_DEV_CLUSTER_DIR: dir });
    await runProcess(join(REPO_ROOT, 'tools', 'dev-cluster.sh'), ['stop'], { env });
    await rm(dir, { recursive: true, force: true });
  });

  it('should start PostgreSQL and Ceph, print them as env lines, report status, and stop exactly them', async () => {
    const env = childEnv({ COFFER_DEV_CLUSTER_DIR: dir });
    const script = join(REPO_ROOT, 'tools', 'dev-cluster.sh');
    // a bound, not an expectation: a loaded machine may take a minute or two to bring Ceph up
    const started = await runProcess(script, ['start'], { env, timeoutMs: 300_000 });
    assert.equal(started.code, 0, started.stderr);
    const vars = Object.fromEntries(
      started.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
    assert.deepEqual(Object.keys(vars).sort(), [
      'COFFER_TEST_PG_URL',
      'COFFER_TEST_S3_ACCESS_KEY',
      'COFFER_TEST_S3_ENDPOINT',
      'COFFER_TEST_S3_REGION',
      'COFFER_TEST_S3_SECRET_KEY',
    ]);

    // the services outlive the command that started them
    assert.deepEqual(await query(vars.COFFER_TEST_PG_URL, 'SELECT 1 AS one'), [{ one: 1 }]);
    const s3 = sdkClient(
      { url: vars.COFFER_TEST_S3_ENDPOINT },
      { accessKey: vars.COFFER_TEST_S3_ACCESS_KEY, secretKey: vars.COFFER_TEST_S3_SECRET_KEY },
    );
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'dev-cluster-check' }));
      const listed = await s3.send(new ListBucketsCommand({}));
      assert.deepEqual(
        listed.Buckets?.map((b) => b.Name),
        ['dev-cluster-check'],
      );
    } finally {
      s3.destroy();
    }
    const status = await runProcess(script, ['status'], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout, started.stdout);

    const cephPids = Object.values(
      JSON.parse(readFileSync(join(dir, 'ceph', 'state.json'), 'utf8')).pids as Record<string, number>,
    );
    const pids = [...cephPids, postmasterPid(join(dir, 'postgres'))];
    assert.equal(pids.length, 4);
    const stopped = await runProcess(script, ['stop'], { env });
    assert.equal(stopped.code, 0, stopped.stderr);
    for (const pid of pids) assert.equal(hasExited(pid), true, `pid ${pid} still runs`);
    assert.equal(existsSync(dir), false);
    assert.equal((await runProcess(script, ['status'], { env })).code, 1);
  });
});
