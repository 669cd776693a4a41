/**
 * `coffer meta migrate --from DATA --to postgres://…`: a single-node data directory written by a real server (inline
 * and file-backed objects, SSE-S3 and SSE-C, tags, a multipart upload in progress, a second user) is copied into a
 * fresh PostgreSQL database, and a server started with `--meta URL --data DATA` serves it unchanged. A second run is a
 * no-op that verifies; a run killed mid-copy (kill -9 at a named point) resumes and verifies; a running server's data
 * directory and a database holding another namespace are refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';

import { BlobStore, MIGRATION_PROGRESS_KEY } from '@coffer/blob-store';
import { MasterKeyRing } from '@coffer/crypto';
import { LevelEngine } from '@coffer/kv';

import { startPostgres, type RunningPostgres } from '../../../tools/test-services/postgres.ts';
import { bodyBytes, md5b64, patternBytes } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { addUser, makeTempDir, randomCredentials, runCli, startServer, type RunningServer } from './helpers/server.ts';

const BUCKET = 'migrated';
const SUMMARY = new RegExp(
  '^migrated .+: (\\d+) keys, (\\d+) written, (\\d+) deleted(, resumed)?; ' +
    'verified: (\\d+) keys on both sides, (\\d+) sampled reads byte-equal$',
  'm',
);

/** The hex of the keys of job leases (namespace job-leases), which a migration leaves behind. */
const LEASE_PREFIX = Buffer.from('!x!!job-leases!').toString('hex');

/** The rows of the database at `url`: every key (hex) of coffer_kv, in key order. */
async function rows(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ k: Buffer }>('SELECT k FROM coffer_kv ORDER BY k');
    return r.rows.map((row) => row.k.toString('hex'));
  } finally {
    await c.end();
  }
}

const migrate = (from: string, to: string, extra: string[] = [], env: Record<string, string> = {}) =>
  runCli(['meta', 'migrate', '--from', from, '--to', to, ...extra], { env, timeoutMs: 90_000 });

/** The numbers of a verified run's summary line (fails with the CLI's output otherwise). */
function summary(r: { code: number | null; stdout: string; stderr: string }) {
  assert.equal(r.code, 0, `migrate failed\n${r.stdout}\n${r.stderr}`);
  const m = SUMMARY.exec(r.stdout);
  assert.ok(m, `no summary line in ${r.stdout}`);
  const [keys, written, deleted, , onBoth, sampled] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  return {
    keys: keys!,
    written: written!,
    deleted: deleted!,
    resumed: m[4] !== undefined,
    onBoth: onBoth!,
    sampled: sampled!,
  };
}

describe('coffer meta migrate', () => {
  let db: RunningPostgres;
  const creds = randomCredentials();
  const second = { ...randomCredentials(), name: 'second' };
  const ssecKey = randomBytes(32);
  const ssec = {
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKey: ssecKey.toString('base64'),
    SSECustomerKeyMD5: md5b64(ssecKey),
  };
  /** key → [body, extra GET parameters]. */
  const objects = new Map<string, { body: Buffer; get?: typeof ssec }>([
    ['inline/small.txt', { body: patternBytes(1000, 'inline') }],
    ['file/large.bin', { body: patternBytes(300_000, 'file') }],
    ['sse-s3/explicit', { body: patternBytes(70_000, 'sse-s3') }],
    ['sse-c/inline', { body: patternBytes(2000, 'ssec-small'), get: ssec }],
    ['sse-c/file', { body: patternBytes(200_000, 'ssec-large'), get: ssec }],
  ]);
  const partBody = patternBytes(100_000, 'part-1');
  const secondBody = patternBytes(5000, 'second-user');
  let dataDir: string;
  let uploadId: string;
  let partEtag: string;
  let listedBefore: unknown;
  let url: string;

  const list = async (s3: S3Client) =>
    (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.map((o) => [o.Key, o.ETag, o.Size]);

  before(async () => {
    db = await startPostgres();
    url = await db.createDatabase('migrated');
    dataDir = await makeTempDir('coffer-migrate-');
    let server = await startServer({ dataDir, ...creds });
    let s3 = sdkClient(server, creds);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      for (const [key, { body, get }] of objects) {
        const sse = key.startsWith('sse-s3/') ? { ServerSideEncryption: 'AES256' as const } : {};
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...sse, ...get }));
      }
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'tagged',
          Body: Buffer.from('tags'),
          Tagging: 'team=storage&tier=gold',
        }),
      );
      objects.set('tagged', { body: Buffer.from('tags') });
      const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'in-progress' }));
      uploadId = mpu.UploadId!;
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'in-progress',
          UploadId: uploadId,
          PartNumber: 1,
          Body: partBody,
        }),
      );
      partEtag = part.ETag!;
      listedBefore = await list(s3);
    } finally {
      s3.destroy();
      await server.stop();
    }
    await addUser(dataDir, second);
    server = await startServer({ dataDir, ...creds });
    s3 = sdkClient(server, second);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'second-bucket' }));
      await s3.send(new PutObjectCommand({ Bucket: 'second-bucket', Key: 'mine', Body: secondBody }));
      // a running server holds the data directory: the migration must say so, not copy a store in use
      const busy = await migrate(dataDir, url);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /^coffer: the data directory .+ is in use by a running Coffer server: stop it first$/m);
      assert.deepEqual(await rows(url).catch(() => []), []);
    } finally {
      s3.destroy();
      await server.stop();
    }
  });
  after(async () => {
    await db?.stop();
  });

  it('should copy every key into PostgreSQL, verify it, and leave no progress record', async () => {
    const first = summary(await migrate(dataDir, url));
    assert.ok(first.keys > 10, `only ${first.keys} keys`);
    assert.deepEqual(first, {
      keys: first.keys,
      written: first.keys,
      deleted: 0,
      resumed: false,
      onBoth: first.keys,
      sampled: first.keys,
    });
    const copied = await rows(url);
    assert.equal(copied.length, first.keys);
    assert.ok(!copied.includes(MIGRATION_PROGRESS_KEY.toString('hex')));
    // The master key ring (wrapped) goes with the metadata; the source's job leases, naming its stopped server, not.
    assert.ok(copied.includes(Buffer.from('!x!!system!keyring').toString('hex')), 'the key ring is copied');
    const source = await LevelEngine.open(join(dataDir, 'meta'));
    let leases = 0;
    try {
      for await (const e of source.scan({})) if (e.key.toString('hex').startsWith(LEASE_PREFIX)) leases++;
    } finally {
      await source.close();
    }
    assert.ok(leases > 0, 'the source holds job leases');
    assert.deepEqual(
      copied.filter((k) => k.startsWith(LEASE_PREFIX)),
      [],
    );
  });

  it('should write nothing on a second run of the same source, and verify again', async () => {
    const before = await rows(url);
    const again = summary(await migrate(dataDir, url));
    assert.deepEqual(again, {
      keys: before.length,
      written: 0,
      deleted: 0,
      resumed: false,
      onBoth: before.length,
      sampled: before.length,
    });
    assert.deepEqual(await rows(url), before);
  });

  describe('a server on --meta URL --data DATA', () => {
    let server: RunningServer;
    let s3: S3Client;
    before(async () => {
      server = await startServer({ dataDir, args: ['--meta', url], ...creds });
      s3 = sdkClient(server, creds);
    });
    after(async () => {
      s3?.destroy();
      await server?.stop();
    });

    it('should read every object byte-exact and list the bucket as before', async () => {
      for (const [key, { body, get }] of objects) {
        const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ...get }));
        assert.ok((await bodyBytes(got.Body)).equals(body), key);
      }
      assert.deepEqual(await list(s3), listedBefore);
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'tagged' }));
      assert.deepEqual(tags.TagSet, [
        { Key: 'team', Value: 'storage' },
        { Key: 'tier', Value: 'gold' },
      ]);
    });

    it('should complete the multipart upload begun before the migration', async () => {
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'in-progress',
          UploadId: uploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: partEtag }] },
        }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'in-progress' }));
      assert.ok((await bodyBytes(got.Body)).equals(partBody));
    });

    it('should take requests signed by the second user', async () => {
      const other = sdkClient(server, second);
      try {
        const buckets = await other.send(new ListBucketsCommand({}));
        assert.deepEqual(
          buckets.Buckets?.map((b) => b.Name),
          ['second-bucket'],
        );
        const got = await other.send(new GetObjectCommand({ Bucket: 'second-bucket', Key: 'mine' }));
        assert.ok((await bodyBytes(got.Body)).equals(secondBody));
      } finally {
        other.destroy();
      }
    });
  });

  it('should refuse to copy the old data directory over the database once the nodes have written to it', async () => {
    const before = await rows(url);
    const r = await migrate(dataDir, url);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^coffer: the target holds \d+ keys that the source does not have/m);
    assert.deepEqual(await rows(url), before);
  });

  it('should resume a run killed mid-copy, and verify', async () => {
    const dir = await makeTempDir('coffer-migrate-many-');
    const store = await BlobStore.open({ dir, keyRing: MasterKeyRing.fromKey(randomBytes(32)), sync: false });
    try {
      await store.transaction((tx) => {
        for (let i = 0; i < 5000; i++) tx.putRecord('migrate-test', `r${String(i).padStart(5, '0')}`, { i });
      });
    } finally {
      await store.close();
    }
    const target = await db.createDatabase('resumed');
    // SIGKILL right after the third transaction of the copy (500 keys each) has committed
    const killed = await migrate(dir, target, [], { COFFER_TEST_CRASH_AT: 'migrate-commit:3' });
    assert.equal(killed.signal, 'SIGKILL', `${killed.stdout}\n${killed.stderr}`);
    const partial = await rows(target);
    // 3 × 500 keys and the progress record
    assert.equal(partial.length, 1501);
    assert.ok(partial.includes(MIGRATION_PROGRESS_KEY.toString('hex')));

    const resumed = summary(await migrate(dir, target));
    assert.equal(resumed.keys, 5000);
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.written, 5000 - 1500);
    assert.equal(resumed.onBoth, 5000);
    assert.equal(resumed.sampled, 1000);
    const all = await rows(target);
    assert.equal(all.length, 5000);
    assert.ok(!all.includes(MIGRATION_PROGRESS_KEY.toString('hex')));
  });

  it('should refuse a database holding another namespace unless --force', async () => {
    const other = await makeTempDir('coffer-migrate-other-');
    const store = await BlobStore.open({ dir: other, keyRing: MasterKeyRing.fromKey(randomBytes(32)), sync: false });
    try {
      await store.putRecord('migrate-test', 'only-here', { other: true });
    } finally {
      await store.close();
    }
    const before = await rows(url);
    // The nodes' job leases are the running database's own: never counted, copied or deleted.
    const leases = before.filter((k) => k.startsWith(LEASE_PREFIX));
    const data = before.length - leases.length;
    const refused = await migrate(other, url);
    assert.equal(refused.code, 1);
    const message = `^coffer: the target holds ${data} keys that the source does not have .+; --force makes`;
    assert.match(refused.stderr, new RegExp(message, 'm'));
    assert.deepEqual(await rows(url), before);

    const forced = summary(await migrate(other, url, ['--force']));
    assert.deepEqual(forced, { keys: 1, written: 1, deleted: data, resumed: false, onBoth: 1, sampled: 1 });
    assert.deepEqual(
      (await rows(url)).filter((k) => !leases.includes(k)),
      [Buffer.from('!x!!migrate-test!only-here').toString('hex')],
    );
  });

  it('should refuse a directory without metadata, and never print the password of the URL', async () => {
    const empty = await makeTempDir('coffer-migrate-empty-');
    const r = await migrate(empty, url);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^coffer: .+ holds no Coffer metadata/m);
    const ok = await migrate(dataDir, await db.createDatabase('redacted'));
    const password = new URL(url).password;
    assert.ok(password.length > 0);
    assert.ok(!ok.stdout.includes(password) && !ok.stderr.includes(password));
    assert.match(ok.stdout, /to postgres:\/\/coffer:\*\*\*@127\.0\.0\.1:\d+\/redacted:/);
  });
});
