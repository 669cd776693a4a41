/**
 * End-to-end: the aws CLI (v1, botocore) against the real server, path-style, with its own config files.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { md5hex, patternBytes } from './helpers/assert.ts';
import { Clients, describeRun, hasProgram } from './helpers/clients.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

const skip = hasProgram('aws') ? false : 'the aws CLI is not installed (pip install awscli)';

let server: RunningServer;
let clients: Clients;
const B = 'awscli-bucket';
const small = Buffer.from('hello from the aws CLI\n');
const big = patternBytes(3 * 1024 * 1024, 'awscli-3mib');

async function aws(...args: string[]): Promise<string> {
  const r = await clients.aws(args);
  assert.equal(r.code, 0, `aws ${args.join(' ')}\n${describeRun(r)}`);
  return r.stdout;
}

describe('aws CLI', { skip }, () => {
  before(async () => {
    server = await startServer();
    clients = await Clients.create(server);
    await writeFile(join(clients.dir, 'small.txt'), small);
    await writeFile(join(clients.dir, 'big.bin'), big);
  });

  after(async () => {
    await server?.stop({ removeDir: true });
    await clients?.cleanup();
  });

  describe('aws s3 mb / cp / ls / rm', () => {
    it('should make a bucket and list it', async () => {
      const out = await aws('s3', 'mb', `s3://${B}`);
      assert.match(out, new RegExp(`make_bucket: ${B}`));
      const ls = await aws('s3', 'ls');
      assert.match(ls, new RegExp(`\\s${B}$`, 'm'));
    });

    it('should copy a small and a 3 MiB file up and down byte-exact', async () => {
      await aws('s3', 'cp', join(clients.dir, 'small.txt'), `s3://${B}/dir/small.txt`);
      await aws('s3', 'cp', join(clients.dir, 'big.bin'), `s3://${B}/dir/big.bin`);
      await aws('s3', 'cp', `s3://${B}/dir/small.txt`, join(clients.dir, 'small.out'));
      await aws('s3', 'cp', `s3://${B}/dir/big.bin`, join(clients.dir, 'big.out'));
      assert.ok((await readFile(join(clients.dir, 'small.out'))).equals(small));
      assert.ok((await readFile(join(clients.dir, 'big.out'))).equals(big));
    });

    it('should list keys and prefixes with their sizes', async () => {
      const top = await aws('s3', 'ls', `s3://${B}/`);
      assert.match(top, /PRE dir\//);
      const inDir = await aws('s3', 'ls', `s3://${B}/dir/`);
      assert.match(inDir, new RegExp(`\\s${big.length} big\\.bin$`, 'm'));
      assert.match(inDir, new RegExp(`\\s${small.length} small\\.txt$`, 'm'));
      const rec = await aws('s3', 'ls', '--recursive', `s3://${B}`);
      assert.deepEqual(
        rec
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).at(-1)),
        ['dir/big.bin', 'dir/small.txt'],
      );
    });

    it('should remove an object', async () => {
      await aws('s3', 'cp', join(clients.dir, 'small.txt'), `s3://${B}/to-remove`);
      const out = await aws('s3', 'rm', `s3://${B}/to-remove`);
      assert.match(out, /delete: s3:\/\/awscli-bucket\/to-remove/);
      const r = await clients.aws(['s3api', 'head-object', '--bucket', B, '--key', 'to-remove']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /404|Not Found/);
    });
  });

  describe('aws s3api put-object / get-object / head-object', () => {
    for (const [name, data, file] of [
      ['a small file', small, 'small.txt'],
      ['a 3 MiB file', big, 'big.bin'],
    ] as const) {
      it(`should round-trip ${name} byte-exact with ETag = MD5 and AES256`, async () => {
        const key = `api/${file}`;
        const put = JSON.parse(
          await aws(
            's3api',
            'put-object',
            '--bucket',
            B,
            '--key',
            key,
            '--body',
            join(clients.dir, file),
            '--metadata',
            'origin=awscli',
          ),
        ) as Record<string, string>;
        assert.equal(put['ETag'], `"${md5hex(data)}"`);
        assert.equal(put['ServerSideEncryption'], 'AES256');

        const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', B, '--key', key)) as Record<
          string,
          unknown
        >;
        assert.equal(head['ContentLength'], data.length);
        assert.equal(head['ETag'], `"${md5hex(data)}"`);
        assert.equal(head['ServerSideEncryption'], 'AES256');
        assert.deepEqual(head['Metadata'], { origin: 'awscli' });

        const out = join(clients.dir, `${file}.get`);
        const get = JSON.parse(await aws('s3api', 'get-object', '--bucket', B, '--key', key, out)) as Record<
          string,
          unknown
        >;
        assert.equal(get['ContentLength'], data.length);
        assert.ok((await readFile(out)).equals(data));
      });
    }

    it('should get a byte range', async () => {
      const out = join(clients.dir, 'range.get');
      const get = JSON.parse(
        await aws(
          's3api',
          'get-object',
          '--bucket',
          B,
          '--key',
          'api/big.bin',
          '--range',
          'bytes=1000000-1999999',
          out,
        ),
      ) as Record<string, unknown>;
      assert.equal(get['ContentRange'], `bytes 1000000-1999999/${big.length}`);
      assert.ok((await readFile(out)).equals(big.subarray(1_000_000, 2_000_000)));
    });

    it('should report NoSuchKey for a missing object', async () => {
      const r = await clients.aws(['s3api', 'get-object', '--bucket', B, '--key', 'nope', join(clients.dir, 'nope')]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /NoSuchKey/);
    });
  });

  describe('aws s3 rb --force', () => {
    it('should empty and remove a bucket', async () => {
      const r = await clients.aws(['s3', 'rb', `s3://${B}`]);
      assert.notEqual(r.code, 0, 'rb without --force on a non-empty bucket fails');
      assert.match(r.stderr, /BucketNotEmpty/);
      const out = await aws('s3', 'rb', '--force', `s3://${B}`);
      assert.match(out, new RegExp(`remove_bucket: ${B}`));
      const ls = await aws('s3', 'ls');
      assert.doesNotMatch(ls, new RegExp(B));
      const head = await clients.aws(['s3api', 'head-bucket', '--bucket', B]);
      assert.notEqual(head.code, 0);
      assert.match(head.stderr, /404|Not Found/);
    });

    it('should empty a bucket through ListObjectVersions (s3api) and delete it', async () => {
      const b2 = 'awscli-versions';
      await aws('s3', 'mb', `s3://${b2}`);
      for (const k of ['v1', 'v/2']) await aws('s3', 'cp', join(clients.dir, 'small.txt'), `s3://${b2}/${k}`);
      const versions = JSON.parse(await aws('s3api', 'list-object-versions', '--bucket', b2)) as {
        Versions: { Key: string; VersionId: string }[];
      };
      assert.deepEqual(
        versions.Versions.map((v) => [v.Key, v.VersionId]),
        [
          ['v/2', 'null'],
          ['v1', 'null'],
        ],
      );
      const del = JSON.parse(
        await aws(
          's3api',
          'delete-objects',
          '--bucket',
          b2,
          '--delete',
          JSON.stringify({ Objects: versions.Versions.map((v) => ({ Key: v.Key, VersionId: v.VersionId })) }),
        ),
      ) as { Deleted: { Key: string }[] };
      assert.deepEqual(del.Deleted.map((d) => d.Key).sort(), ['v/2', 'v1']);
      await aws('s3', 'rb', `s3://${b2}`);
    });
  });
});
