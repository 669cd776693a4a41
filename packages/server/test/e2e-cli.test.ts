/**
 * End-to-end: the `coffer` command itself: generated root credentials, `user add|list|remove` on a stopped data
 * directory (and a clear refusal while the server runs), graceful SIGTERM with an upload in flight, key file modes.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CreateBucketCommand, GetObjectCommand, ListBucketsCommand } from '@aws-sdk/client-s3';

import { bodyBytes, md5hex, patternBytes, rejectsS3, sleep } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { objectPath, signHeaders } from './helpers/http.ts';
import { makeTempDir, randomCredentials, runCli, startServer, type RunningServer } from './helpers/server.ts';

const NO_ROOT_ENV = { COFFER_ACCESS_KEY: undefined, COFFER_SECRET_KEY: undefined };

/** Pulls the generated pair out of the first start's output. */
function parseGenerated(out: string): { accessKey: string; secretKey: string } | undefined {
  const a = /access[ _-]?key(?: id)?\s*[:=]\s*(\S+)/i.exec(out);
  const s = /secret(?:[ _-]?access)?[ _-]?key\s*[:=]\s*(\S+)/i.exec(out);
  return a && s ? { accessKey: a[1]!, secretKey: s[1]! } : undefined;
}

async function listBucketNames(
  server: RunningServer,
  creds: { accessKey: string; secretKey: string },
): Promise<string[]> {
  const c = sdkClient(server, creds);
  try {
    const r = await c.send(new ListBucketsCommand({}));
    return (r.Buckets ?? []).map((b) => b.Name!);
  } finally {
    c.destroy();
  }
}

const running: RunningServer[] = [];
const dirs: string[] = [];

after(async () => {
  for (const s of running) await s.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function start(opts: Parameters<typeof startServer>[0]): Promise<RunningServer> {
  const s = await startServer(opts);
  running.push(s);
  return s;
}

describe('coffer serve: generated root credentials', () => {
  let dataDir: string;
  let generated: { accessKey: string; secretKey: string };

  before(async () => {
    dataDir = await makeTempDir();
    dirs.push(dataDir);
  });

  it('should print a generated pair on the first start without COFFER_ACCESS_KEY/SECRET, and the pair should work', async () => {
    const s = await start({ dataDir, env: NO_ROOT_ENV });
    const out = s.stdout() + s.stderr();
    const pair = parseGenerated(out);
    assert.ok(pair, `a generated pair is printed:\n${out}`);
    generated = pair;
    assert.deepEqual(await listBucketNames(s, generated), []);
    const c = sdkClient(s, generated);
    try {
      await c.send(new CreateBucketCommand({ Bucket: 'made-by-generated-root' }));
    } finally {
      c.destroy();
    }
    const stopped = await s.stop();
    assert.equal(stopped.code, 0, s.stderr());
  });

  it('should not print the secret again on the second start, and keep the pair working', async () => {
    const s = await start({ dataDir, env: NO_ROOT_ENV });
    const out = s.stdout() + s.stderr();
    assert.ok(!out.includes(generated.secretKey), `the secret is printed again:\n${out}`);
    assert.equal(parseGenerated(s.stdout()), undefined, s.stdout());
    assert.deepEqual(await listBucketNames(s, generated), ['made-by-generated-root']);
    assert.equal((await s.stop()).code, 0);
  });

  it('should keep DATA/keys files at mode 0600 and never store the secret in clear', async () => {
    const keysDir = join(dataDir, 'keys');
    const files = (await readdir(keysDir, { withFileTypes: true })).filter((e) => e.isFile());
    assert.ok(files.length > 0, 'DATA/keys holds the key ring');
    for (const f of files) assert.equal((await stat(join(keysDir, f.name))).mode & 0o777, 0o600, f.name);
    assert.equal((await stat(keysDir)).mode & 0o077, 0, 'DATA/keys is not group/world accessible');
    // the generated secret is kept encrypted: no file holds it in clear
    const walk = async (d: string): Promise<string[]> => {
      const out: string[] = [];
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) out.push(...(await walk(join(d, e.name))));
        else if (e.isFile()) out.push(join(d, e.name));
      }
      return out;
    };
    for (const f of await walk(dataDir)) {
      assert.equal((await readFile(f)).indexOf(generated.secretKey), -1, `${f} holds the root secret in clear`);
    }
  });
});

describe('coffer user add / list / remove', () => {
  let dataDir: string;
  const root = randomCredentials();
  const alice = { ...randomCredentials(), name: 'alice' };

  before(async () => {
    dataDir = await makeTempDir();
    dirs.push(dataDir);
    // initialise the data dir with a root user, then stop (the exit code is checked in the SIGTERM tests)
    const s = await start({ dataDir, ...root });
    await s.stop();
  });

  it('should add a user to a stopped data directory', async () => {
    const r = await runCli([
      'user',
      'add',
      '--data',
      dataDir,
      '--access-key',
      alice.accessKey,
      '--secret-key',
      alice.secretKey,
      '--name',
      alice.name,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /alice/);
    assert.ok(!(r.stdout + r.stderr).includes(alice.secretKey), 'the secret is not echoed');
  });

  it('should refuse to add the same access key twice', async () => {
    const r = await runCli([
      'user',
      'add',
      '--data',
      dataDir,
      '--access-key',
      alice.accessKey,
      '--secret-key',
      'x'.repeat(40),
      '--name',
      'again',
    ]);
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.trim().length > 0);
  });

  it('should list users with access key and name, never the secret', async () => {
    const r = await runCli(['user', 'list', '--data', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.includes(alice.accessKey));
    assert.ok(line, r.stdout);
    assert.match(line, /alice/);
    assert.ok(r.stdout.includes(root.accessKey), 'the root user is listed');
    assert.ok(!r.stdout.includes(alice.secretKey) && !r.stdout.includes(root.secretKey), 'no secret in the listing');
  });

  it('should let the added user in once the server runs', async () => {
    const s = await start({ dataDir, ...root });
    try {
      assert.deepEqual(await listBucketNames(s, alice), []);
    } finally {
      assert.equal((await s.stop()).code, 0);
    }
  });

  it('should fail with a clear message and non-zero exit while the server runs', async () => {
    const s = await start({ dataDir, ...root });
    try {
      for (const args of [
        ['user', 'list', '--data', dataDir],
        [
          'user',
          'add',
          '--data',
          dataDir,
          '--access-key',
          'AKWHILERUNNING000000',
          '--secret-key',
          'x'.repeat(40),
          '--name',
          'bob',
        ],
      ]) {
        const r = await runCli(args);
        assert.notEqual(r.code, 0, `${args.join(' ')} succeeded while the server runs: ${r.stdout}`);
        assert.match(r.stderr, /running|in use|locked|stop/i, r.stderr);
        assert.doesNotMatch(r.stderr, /\n\s+at /, `a stack trace instead of a message:\n${r.stderr}`);
      }
      // and the server is unharmed
      assert.deepEqual(await listBucketNames(s, root), []);
    } finally {
      assert.equal((await s.stop()).code, 0);
    }
  });

  it('should remove a user, who is then refused with InvalidAccessKeyId', async () => {
    const r = await runCli(['user', 'remove', '--data', dataDir, '--access-key', alice.accessKey]);
    assert.equal(r.code, 0, r.stderr);
    const l = await runCli(['user', 'list', '--data', dataDir]);
    assert.ok(!l.stdout.includes(alice.accessKey), l.stdout);
    const s = await start({ dataDir, ...root });
    const c = sdkClient(s, alice);
    try {
      await rejectsS3(c.send(new ListBucketsCommand({})), 403, 'InvalidAccessKeyId');
    } finally {
      c.destroy();
      assert.equal((await s.stop()).code, 0);
    }
  });

  it('should fail with a message for an unknown user', async () => {
    const r = await runCli(['user', 'remove', '--data', dataDir, '--access-key', 'AKNOBODY000000000000']);
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.trim().length > 0);
  });
});

describe('coffer serve: SIGTERM', () => {
  it('should let a slow in-flight upload finish (or refuse it cleanly) and exit 0', async () => {
    const dataDir = await makeTempDir();
    dirs.push(dataDir);
    const root = randomCredentials();
    const s = await start({ dataDir, ...root });
    const c = sdkClient(s, root);
    await c.send(new CreateBucketCommand({ Bucket: 'slow' }));
    c.destroy();

    const data = patternBytes(512 * 1024, 'slow-upload');
    const path = objectPath('slow', 'slow.bin');
    const headers = signHeaders({
      method: 'PUT',
      url: s.url,
      path,
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'content-length': String(data.length) },
      accessKey: root.accessKey,
      secretKey: root.secretKey,
    });
    const result = new Promise<{ status?: number; text?: string; error?: Error }>((res) => {
      const u = new URL(s.url);
      const req = httpRequest(
        { host: u.hostname, port: u.port, method: 'PUT', path, headers, agent: false },
        (resp) => {
          let text = '';
          resp.setEncoding('utf8');
          resp.on('data', (t: string) => (text += t));
          resp.on('end', () => res({ status: resp.statusCode, text }));
          resp.on('error', (error) => res({ error }));
        },
      );
      req.on('error', (error) => res({ error }));
      void (async () => {
        const piece = 32 * 1024;
        for (let i = 0; i < data.length; i += piece) {
          if (!req.write(data.subarray(i, i + piece))) await new Promise((r) => req.once('drain', r));
          await sleep(100); // ~1.6 s in all
        }
        req.end();
      })().catch((error: Error) => res({ error }));
    });

    await sleep(400); // the upload is under way
    const exit = s.stop({ killAfterMs: 20_000 });
    const r = await result;
    const { code, signal } = await exit;
    assert.equal(signal, null, `the server was killed (${signal}):\n${s.stderr()}`);
    assert.equal(code, 0, s.stderr());

    // restart and look: either the upload completed (200, and the object is exact) or it was refused (no object)
    const s2 = await start({ dataDir, ...root });
    const c2 = sdkClient(s2, root);
    try {
      if (r.status === 200) {
        const g = await c2.send(new GetObjectCommand({ Bucket: 'slow', Key: 'slow.bin' }));
        assert.ok((await bodyBytes(g.Body)).equals(data));
        assert.equal(g.ETag, `"${md5hex(data)}"`);
      } else {
        assert.ok(
          r.error || (r.status !== undefined && r.status >= 500),
          `refused cleanly: ${r.status} ${r.text ?? r.error?.message}`,
        );
        await rejectsS3(c2.send(new GetObjectCommand({ Bucket: 'slow', Key: 'slow.bin' })), 404, 'NoSuchKey');
      }
    } finally {
      c2.destroy();
      await s2.stop();
    }
  });

  it('should handle SIGTERM sent right after the listening line: exit 0, promptly, and stop listening', async () => {
    // A supervisor may signal as soon as it sees the line; the handlers must already be installed by then.
    // Five rounds, because a missing handler shows up only when the signal wins the race.
    const dataDir = await makeTempDir();
    dirs.push(dataDir);
    for (let round = 0; round < 5; round++) {
      const s = await start({ dataDir });
      const t0 = Date.now();
      const { code, signal } = await s.stop();
      assert.equal(
        signal,
        null,
        `round ${round}: killed by ${signal} instead of shutting down (signal handler not installed yet?)`,
      );
      assert.equal(code, 0, `round ${round}: ${s.stderr()}`);
      assert.ok(Date.now() - t0 < 5_000, 'an idle server stops promptly');
      await assert.rejects(fetch(s.url + '/'), 'nothing listens any more');
    }
  });
});
