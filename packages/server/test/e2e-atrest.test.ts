/**
 * End-to-end: encryption at rest. A known plaintext goes in through S3; no file under the data directory (LevelDB
 * included) holds it; one flipped byte in its chunk file makes the GET fail instead of returning wrong bytes.
 */
import assert from 'node:assert/strict';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

import { bodyBytes, md5hex, patternBytes } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { httpSend, objectPath, signHeaders } from './helpers/http.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

const B = 'atrest';
const PHRASE = Buffer.from('COFFER-AT-REST-CANARY: the quick brown fox jumps over the lazy dog / ');
const RANDOM = patternBytes(64 * 1024, 'atrest-random');
// ~200 KiB of a distinctive repeated phrase, then 64 KiB of pseudo-random bytes
const PLAIN = Buffer.concat([
  Buffer.concat(Array.from({ length: Math.ceil((200 * 1024) / PHRASE.length) }, () => PHRASE)),
  RANDOM,
]);
// 2 MiB: tampered in its last chunk, so that the server has sent the headers before it meets the bad chunk
const BIG = patternBytes(2 * 1024 * 1024, 'atrest-big');

let server: RunningServer;
let dataDir: string;

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...(await listFiles(p)));
    else if (ent.isFile()) out.push(p);
  }
  return out;
}

/** Does `hay` contain any `window`-byte slice of `needle` (taken every `step` bytes)? */
function containsAnyWindow(hay: Buffer, needle: Buffer, window: number, step: number): number {
  for (let i = 0; i + window <= needle.length; i += step) {
    if (hay.indexOf(needle.subarray(i, i + window)) !== -1) return i;
  }
  return -1;
}

async function flipByte(file: string, pos: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, pos);
    one[0] = one[0]! ^ 0x01;
    await fh.write(one, 0, 1, pos);
  } finally {
    await fh.close();
  }
}

/** GET over raw HTTP; resolves with what arrived, or with the error if the connection was cut. */
function rawGet(key: string): Promise<{ status?: number; body?: Buffer; error?: Error }> {
  const path = objectPath(B, key);
  const headers = signHeaders({
    method: 'GET',
    url: server.url,
    path,
    accessKey: server.accessKey,
    secretKey: server.secretKey,
  });
  return httpSend({ method: 'GET', url: server.url, path, headers }).then(
    (r) => ({ status: r.status, body: r.body }),
    (error: Error) => ({ error }),
  );
}

before(async () => {
  server = await startServer();
  dataDir = server.dataDir;
  const s3 = sdkClient(server, server);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'canary.bin', Body: PLAIN, Metadata: { note: 'plain' } }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'second.bin', Body: RANDOM.subarray(0, 1000) }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'big.bin', Body: BIG }));
    // an overwrite and a delete, whose old chunk files must go
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'third.bin', Body: RANDOM.subarray(0, 5000) }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'third.bin', Body: RANDOM.subarray(5000, 7000) }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'deleted.bin', Body: RANDOM.subarray(0, 3000) }));
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'deleted.bin' }));
  } finally {
    s3.destroy();
  }
  const stopped = await server.stop();
  assert.equal(stopped.code, 0, `server exit code\n${server.stderr()}`);
});

after(async () => {
  await server?.stop({ removeDir: true });
});

describe('data directory at rest', () => {
  it('should hold no file that contains the plaintext phrase', async () => {
    const files = await listFiles(dataDir);
    assert.ok(
      files.some((f) => relative(dataDir, f).startsWith('blobs')),
      `blob files exist: ${files.map((f) => relative(dataDir, f)).join(', ')}`,
    );
    assert.ok(
      files.some((f) => relative(dataDir, f).startsWith('meta')),
      'LevelDB files exist',
    );
    for (const f of files) {
      const buf = await readFile(f);
      assert.equal(buf.indexOf(PHRASE.subarray(0, 32)), -1, `${relative(dataDir, f)} contains the plaintext phrase`);
      assert.equal(buf.indexOf(PHRASE.subarray(20, 52)), -1, `${relative(dataDir, f)} contains the plaintext phrase`);
    }
  });

  it('should hold no 32-byte window of the random part', async () => {
    for (const f of await listFiles(dataDir)) {
      const buf = await readFile(f);
      const at = containsAnyWindow(buf, RANDOM, 32, 16);
      assert.equal(at, -1, `${relative(dataDir, f)} contains random plaintext bytes from offset ${at}`);
    }
  });

  it('should keep one chunk file per live object above the inline limit (replaced and deleted ones are gone) and an empty tmp/', async () => {
    // second.bin and third.bin (≤ 64 KiB) are stored inline in LevelDB, encrypted: the scans above cover meta/ too.
    const blobs = await listFiles(join(dataDir, 'blobs'));
    assert.equal(blobs.length, 2, `chunk files: ${blobs.map((f) => relative(dataDir, f)).join(', ')}`);
    const tmp = await listFiles(join(dataDir, 'tmp')).catch(() => []);
    assert.deepEqual(tmp, []);
  });

  it('should keep the master key ring file with mode 0600', async () => {
    const files = (await listFiles(join(dataDir, 'keys'))).filter((f) => !f.endsWith('LOCK'));
    assert.ok(files.length > 0, 'DATA/keys holds a file');
    for (const f of files) assert.equal((await stat(f)).mode & 0o777, 0o600, relative(dataDir, f));
  });
});

describe('tampered chunk file', () => {
  let s3: S3Client;

  before(async () => {
    // Flip one byte in the middle of the canary's chunk file and one in the last chunk of big.bin's.
    // The two largest chunk files are big.bin's (2 MiB) and the canary's (264 KiB).
    const blobs = await listFiles(join(dataDir, 'blobs'));
    assert.equal(blobs.length, 2, `blob files: ${blobs.join(', ')}`);
    const sizes = await Promise.all(blobs.map(async (f) => ({ f, size: (await stat(f)).size })));
    sizes.sort((a, b) => b.size - a.size);
    const [big, canary] = sizes as [{ f: string; size: number }, { f: string; size: number }];
    assert.ok(big.size > BIG.length && canary.size > PLAIN.length && canary.size < BIG.length, JSON.stringify(sizes));
    await flipByte(canary.f, Math.floor(canary.size / 2));
    await flipByte(big.f, big.size - 100);
    server = await startServer({ dataDir, accessKey: server.accessKey, secretKey: server.secretKey });
    s3 = sdkClient(server, server);
  });

  after(() => s3?.destroy());

  it('should not return the tampered bytes: a 500 InternalError, or a connection cut mid-body', async (t) => {
    const r = await rawGet('canary.bin');
    t.diagnostic(r.error ? `connection cut: ${r.error.message}` : `status ${r.status}, ${r.body!.length} body bytes`);
    if (r.error) return; // cut before or during the body: acceptable
    if (r.status === 500) {
      assert.match(r.body!.toString(), /<Code>InternalError<\/Code>/);
      return;
    }
    // headers were sent as 200: the body must then be short (the connection was cut), never complete
    assert.equal(r.status, 200);
    assert.ok(r.body!.length < PLAIN.length, `a tampered object was served in full (${r.body!.length} bytes)`);
    assert.ok(PLAIN.subarray(0, r.body!.length).equals(r.body!), 'bytes that were sent are the authentic prefix');
  });

  it('should cut the connection when the bad chunk comes after the headers, never completing the body', async (t) => {
    const r = await rawGet('big.bin');
    t.diagnostic(r.error ? `connection cut: ${r.error.message}` : `status ${r.status}, ${r.body!.length} body bytes`);
    if (r.error) return;
    if (r.status === 500) return;
    assert.equal(r.status, 200);
    assert.ok(r.body!.length < BIG.length, `a tampered object was served in full (${r.body!.length} bytes)`);
    assert.ok(BIG.subarray(0, r.body!.length).equals(r.body!), 'bytes that were sent are the authentic prefix');
  });

  it('should fail a range GET that covers the tampered chunk (SDK)', async () => {
    let got: Buffer | undefined;
    try {
      const g = await s3.send(
        new GetObjectCommand({ Bucket: B, Key: 'canary.bin', Range: `bytes=1000-${PLAIN.length - 1000}` }),
      );
      got = await bodyBytes(g.Body);
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      assert.ok(status === undefined || status === 500, `failed with status ${status}: ${(e as Error).message}`);
      return;
    }
    assert.fail(`a range over the tampered chunk was served (${got.length} bytes)`);
  });

  it('should still serve a range of an untouched chunk of the same object', async () => {
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'canary.bin', Range: 'bytes=0-99' }));
    assert.ok((await bodyBytes(g.Body)).equals(PLAIN.subarray(0, 100)));
  });

  it('should serve the overwritten object with its latest bytes after the restart', async () => {
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'third.bin' }));
    assert.ok((await bodyBytes(g.Body)).equals(RANDOM.subarray(5000, 7000)));
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'deleted.bin' })));
  });

  it('should stay up and serve other objects', async () => {
    const l = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(
      (l.Buckets ?? []).map((b) => b.Name),
      [B],
    );
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'second.bin' }));
    assert.ok((await bodyBytes(g.Body)).equals(RANDOM.subarray(0, 1000)));
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'canary.bin' }));
    assert.equal(h.ETag, `"${md5hex(PLAIN)}"`);
  });
});
