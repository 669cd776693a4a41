/**
 * End-to-end: s3cmd (Debian package) against the real server, path-style SigV4 over plain HTTP, including
 * `--server-side-encryption` and a client-side gpg (`-e`) round trip.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { HeadObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';

import { bodyBytes, md5hex, patternBytes } from './helpers/assert.ts';
import { Clients, describeRun, hasProgram } from './helpers/clients.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

const skip = hasProgram('s3cmd')
  ? hasProgram('gpg')
    ? false
    : 'gpg is not installed (apt-get install -y gnupg)'
  : 's3cmd is not installed (apt-get install -y s3cmd); .ci/run installs it';

let server: RunningServer;
let clients: Clients;
const B = 's3cmd-bucket';
const small = Buffer.from('hello from s3cmd\n');
const medium = patternBytes(1024 * 1024 + 123, 's3cmd-medium');

async function s3cmd(...args: string[]): Promise<string> {
  const r = await clients.s3cmd(args);
  assert.equal(r.code, 0, `s3cmd ${args.join(' ')}\n${describeRun(r)}`);
  return r.stdout;
}

describe('s3cmd', { skip }, () => {
  before(async () => {
    server = await startServer();
    clients = await Clients.create(server);
    await writeFile(join(clients.dir, 'small.txt'), small);
    await writeFile(join(clients.dir, 'medium.bin'), medium);
  });

  after(async () => {
    await server?.stop({ removeDir: true });
    await clients?.cleanup();
  });

  describe('mb', () => {
    it('should create a bucket that ls shows', async () => {
      const out = await s3cmd('mb', `s3://${B}`);
      assert.match(out, /Bucket 's3:\/\/s3cmd-bucket\/' created/);
      assert.match(await s3cmd('ls'), /\ss3:\/\/s3cmd-bucket$/m);
    });
  });

  describe('put / get', () => {
    for (const [name, data, file] of [
      ['a small file', small, 'small.txt'],
      ['a 1 MiB file', medium, 'medium.bin'],
    ] as const) {
      it(`should round-trip ${name} byte-exact`, async () => {
        await s3cmd('put', join(clients.dir, file), `s3://${B}/files/${file}`);
        const out = join(clients.dir, `${file}.get`);
        await s3cmd('get', '--force', `s3://${B}/files/${file}`, out);
        assert.ok((await readFile(out)).equals(data));
      });
    }
  });

  describe('ls', () => {
    it('should list objects with sizes, and prefixes as DIR', async () => {
      const top = await s3cmd('ls', `s3://${B}`);
      assert.match(top, /DIR\s+s3:\/\/s3cmd-bucket\/files\//);
      const files = await s3cmd('ls', `s3://${B}/files/`);
      assert.match(files, new RegExp(`\\s${medium.length}\\s+s3://${B}/files/medium\\.bin$`, 'm'));
      assert.match(files, new RegExp(`\\s${small.length}\\s+s3://${B}/files/small\\.txt$`, 'm'));
    });
  });

  describe('del', () => {
    it('should delete an object', async () => {
      await s3cmd('put', join(clients.dir, 'small.txt'), `s3://${B}/to-delete`);
      const out = await s3cmd('del', `s3://${B}/to-delete`);
      assert.match(out, /delete: 's3:\/\/s3cmd-bucket\/to-delete'/);
      assert.doesNotMatch(await s3cmd('ls', `s3://${B}`), /to-delete/);
    });
  });

  describe('put --server-side-encryption', () => {
    it('should store the object and report AES256 in info and on HEAD', async () => {
      await s3cmd('put', '--server-side-encryption', join(clients.dir, 'small.txt'), `s3://${B}/sse.txt`);
      const info = await s3cmd('info', `s3://${B}/sse.txt`);
      assert.match(info, /SSE:\s+AES256/);
      assert.match(info, new RegExp(`MD5 sum:\\s+${md5hex(small)}`));
      const s3 = clients.sdk();
      try {
        const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sse.txt' }));
        assert.equal(h.ServerSideEncryption, 'AES256');
      } finally {
        s3.destroy();
      }
      const out = join(clients.dir, 'sse.get');
      await s3cmd('get', '--force', `s3://${B}/sse.txt`, out);
      assert.ok((await readFile(out)).equals(small));
    });
  });

  describe('put -e (gpg)', () => {
    it('should round-trip a client-side encrypted file', async () => {
      await s3cmd('put', '-e', join(clients.dir, 'medium.bin'), `s3://${B}/gpg.bin`);
      // what the server holds is the gpg ciphertext, not the file
      const s3 = clients.sdk();
      try {
        const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'gpg.bin' }));
        const stored = await bodyBytes(g.Body);
        assert.ok(!stored.equals(medium), 'the stored object is gpg-encrypted');
        assert.ok(
          g.Metadata?.['s3tools-gpgenc'],
          `s3cmd marked the object as gpg-encrypted: ${JSON.stringify(g.Metadata)}`,
        );
      } finally {
        s3.destroy();
      }
      const out = join(clients.dir, 'gpg.get');
      await s3cmd('get', '--force', `s3://${B}/gpg.bin`, out);
      assert.ok((await readFile(out)).equals(medium), 'the decrypted download equals the original');
    });
  });

  describe('rb', () => {
    it('should refuse a non-empty bucket and remove it once emptied', async () => {
      const r = await clients.s3cmd(['rb', `s3://${B}`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, /BucketNotEmpty/);
      await s3cmd('del', '--recursive', '--force', `s3://${B}`);
      const out = await s3cmd('rb', `s3://${B}`);
      assert.match(out, /Bucket 's3:\/\/s3cmd-bucket\/' removed/);
    });
  });
});
