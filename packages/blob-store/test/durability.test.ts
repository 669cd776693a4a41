import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile, open as fsOpen } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore, type BlobStoreOptions, type FileWriteFn, type PutOptions } from '../src/index.ts';
import { bodyOf, eventually, filesUnder, makeCustomerKey, readAll } from '../src/testing.ts';

const C = 65536;
const opts = (extra: Partial<PutOptions> = {}): PutOptions => ({
  owner: 'u1',
  metadata: { userMeta: {} },
  encryption: { scheme: 'SSE-S3' },
  ...extra,
});

async function blobFiles(dir: string): Promise<string[]> {
  return filesUnder(path.join(dir, 'blobs'));
}

async function tmpFiles(dir: string): Promise<string[]> {
  return filesUnder(path.join(dir, 'tmp'));
}

interface Env {
  dir: string;
  keyRing: MasterKeyRing;
  store: BlobStore;
  reopen(extra?: Partial<BlobStoreOptions>): Promise<BlobStore>;
}

function withEnv(extra: Partial<BlobStoreOptions> = {}): Env {
  const env = {} as Env;
  before(async () => {
    env.dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-dur-'));
    env.keyRing = await MasterKeyRing.open({ dir: path.join(env.dir, 'keys') });
    env.store = await BlobStore.open({ dir: env.dir, keyRing: env.keyRing, ...extra });
    env.reopen = async (more = {}) => {
      await env.store.close();
      env.store = await BlobStore.open({ dir: env.dir, keyRing: env.keyRing, ...extra, ...more });
      return env.store;
    };
    await env.store.createBucket('b', 'u1');
  });
  after(async () => {
    await env.store.close();
    await rm(env.dir, { recursive: true, force: true });
  });
  return env;
}

describe('BlobStore.open', () => {
  const env = withEnv({ inlineMax: 0 });

  it('should create meta/, blobs/ and tmp/', async () => {
    for (const d of ['meta', 'blobs', 'tmp']) assert.ok((await stat(path.join(env.dir, d))).isDirectory());
  });

  it('should refuse a second open of the same directory with BLOB_LOCKED', async () => {
    await assert.rejects(
      BlobStore.open({ dir: env.dir, keyRing: env.keyRing }),
      (err: { code?: string; message: string }) => {
        assert.equal(err.code, 'BLOB_LOCKED');
        assert.match(err.message, /in use/);
        return true;
      },
    );
  });

  it('should check its options, naming the option', async () => {
    await assert.rejects(BlobStore.open({ dir: '', keyRing: env.keyRing }), {
      name: 'TypeError',
      message: /options\.dir/,
    });
    await assert.rejects(BlobStore.open({ dir: env.dir, keyRing: {} as MasterKeyRing }), {
      name: 'TypeError',
      message: /options\.keyRing/,
    });
    await assert.rejects(BlobStore.open({ dir: env.dir, keyRing: env.keyRing, chunkSize: 1.5 }), {
      name: 'TypeError',
      message: /options\.chunkSize/,
    });
    await assert.rejects(BlobStore.open({ dir: env.dir, keyRing: env.keyRing, chunkSize: 1 << 30 }), {
      name: 'RangeError',
      message: /options\.chunkSize/,
    });
    await assert.rejects(BlobStore.open({ dir: env.dir, keyRing: env.keyRing, sync: 'yes' as unknown as boolean }), {
      name: 'TypeError',
      message: /options\.sync/,
    });
    await assert.rejects(BlobStore.open({ dir: env.dir, keyRing: env.keyRing, writeBufferSize: 0 }), {
      name: 'RangeError',
      message: /options\.writeBufferSize/,
    });
    await assert.rejects(BlobStore.open({ dir: env.dir, keyRing: env.keyRing, inlineMax: -1 }), {
      name: 'RangeError',
      message: /options\.inlineMax/,
    });
  });

  it('should sweep a leftover temp file and an unreferenced blob file, and keep referenced ones', async () => {
    const kept = await env.store.putObject('b', 'kept', bodyOf(randomBytes(1000)), opts());
    await env.store.close();
    await writeFile(path.join(env.dir, 'tmp', 'deadbeefdeadbeefdeadbeefdeadbeef'), 'partial write');
    const orphan = 'abcdef0123456789abcdef0123456789';
    await mkdir(path.join(env.dir, 'blobs', 'ab', 'cd'), { recursive: true });
    await writeFile(path.join(env.dir, 'blobs', 'ab', 'cd', orphan), 'never committed');
    env.store = await BlobStore.open({ dir: env.dir, keyRing: env.keyRing, inlineMax: 0 });
    assert.deepEqual(await tmpFiles(env.dir), []);
    const blobs = await blobFiles(env.dir);
    assert.ok(!blobs.some((f) => f.endsWith(orphan)));
    assert.ok(blobs.some((f) => f.endsWith(kept.segments[0]!.blobId)));
    assert.deepEqual(await env.store.sweep(), { tmpFiles: 0, blobFiles: 0 });
  });

  it('should keep every object across close and open', async () => {
    const data = new Map<string, Buffer>();
    for (let i = 0; i < 10; i++) {
      const d = randomBytes(i * 10_000);
      data.set(`k${i}`, d);
      await env.store.putObject('b', `k${i}`, bodyOf(d), opts());
    }
    const s = await env.reopen();
    for (const [k, d] of data) {
      const rec = await s.getObject('b', k);
      assert.ok(rec, k);
      assert.ok((await readAll(await s.openObject(rec))).equals(d));
    }
  });
});

describe('BlobStore.close', () => {
  const env = withEnv();

  it('should wait for an in-flight put and then refuse calls with BLOB_CLOSED', async () => {
    const body = new Readable({ read() {} });
    const put = env.store.putObject('b', 'late', body, opts());
    body.push(randomBytes(1000));
    const closing = env.store.close();
    setTimeout(() => body.push(null), 30);
    const rec = await put;
    await closing;
    await assert.rejects(env.store.getObject('b', 'late'), { code: 'BLOB_CLOSED' });
    env.store = await BlobStore.open({ dir: env.dir, keyRing: env.keyRing });
    assert.equal((await env.store.getObject('b', 'late'))?.id, rec.id);
  });
});

describe('at-rest encryption', () => {
  const env = withEnv();

  it('should leave no plaintext and no customer key in any file of the data directory', async () => {
    const marker = Buffer.from('COFFER-PLAINTEXT-MARKER-0123456789/');
    const plain = Buffer.concat(Array.from({ length: 5000 }, () => marker)); // ~175 KiB, several chunks
    const customer = makeCustomerKey();
    await env.store.putObject('b', 'secret-s3', bodyOf(plain), opts());
    await env.store.putObject('b', 'secret-c', bodyOf(plain), opts({ encryption: { scheme: 'SSE-C', customer } }));
    await env.store.putObject('b', 'small', bodyOf(marker), opts());
    const src = (await env.store.getObject('b', 'secret-c'))!;
    await env.store.copyObject(src, 'b', 'copy', {
      owner: 'u1',
      metadata: { userMeta: {} },
      sourceCustomer: customer,
      encryption: { scheme: 'SSE-S3' },
    });
    await env.reopen(); // flush LevelDB's log into tables too
    const needles = [
      marker.subarray(0, 24),
      customer.key,
      Buffer.from(customer.key.toString('base64')),
      Buffer.from(customer.key.toString('hex')),
    ];
    let scanned = 0;
    for (const f of await filesUnder(env.dir)) {
      if (f.startsWith(path.join(env.dir, 'keys'))) continue;
      const content = await readFile(f);
      scanned++;
      for (const n of needles) assert.equal(content.indexOf(n), -1, `${path.relative(env.dir, f)} contains a secret`);
    }
    assert.ok(scanned > 4);
  });

  it('should never name a file after a bucket or key', async () => {
    await env.store.putObject('b', 'evil/../../name', bodyOf(Buffer.from('x')), opts());
    for (const f of await filesUnder(env.dir)) {
      assert.ok(!f.includes('evil') && !f.includes('secret'), f);
    }
    for (const f of await blobFiles(env.dir))
      assert.match(path.relative(path.join(env.dir, 'blobs'), f), /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{32}$/);
  });
});

describe('tamper detection', () => {
  const env = withEnv();
  const data = randomBytes(4 * C + 10);

  async function flip(blobPath: string, offset: number): Promise<void> {
    const fh = await fsOpen(blobPath, 'r+');
    try {
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, offset);
      b[0]! ^= 0x01;
      await fh.write(b, 0, 1, offset);
    } finally {
      await fh.close();
    }
  }

  function blobPath(id: string): string {
    return path.join(env.dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id);
  }

  it('should reject the open with CRYPTO_AUTH_FAILED when the first chunk is corrupt', async () => {
    const rec = await env.store.putObject('b', 't1', bodyOf(data), opts());
    await flip(blobPath(rec.segments[0]!.blobId), 100);
    await assert.rejects(env.store.openObject(rec), { code: 'CRYPTO_AUTH_FAILED' });
    // A range that avoids the corrupt chunk still reads.
    const tail = await readAll(await env.store.openObject(rec, { range: { start: 2 * C, end: 2 * C + 9 } }));
    assert.ok(tail.equals(data.subarray(2 * C, 2 * C + 10)));
  });

  it('should error the stream with CRYPTO_AUTH_FAILED at a corrupt later chunk, after only correct bytes', async () => {
    const big = randomBytes(64 * C);
    const rec = await env.store.putObject('b', 't2', bodyOf(big), opts());
    await flip(blobPath(rec.segments[0]!.blobId), 40 * (C + 16) + 5); // inside chunk 40, past the first 1 MiB read
    const stream = await env.store.openObject(rec);
    const got: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of stream) got.push(c as Buffer);
      })(),
      { code: 'CRYPTO_AUTH_FAILED' },
    );
    const prefix = Buffer.concat(got);
    assert.ok(prefix.length > 0 && prefix.length <= 40 * C, String(prefix.length));
    assert.ok(prefix.equals(big.subarray(0, prefix.length)), 'only authenticated bytes');
  });

  it('should detect a tag flip in the last chunk, and a truncated blob file before any byte', async () => {
    const rec = await env.store.putObject('b', 't3', bodyOf(data), opts());
    const p = blobPath(rec.segments[0]!.blobId);
    await flip(p, rec.segments[0]!.encSize - 1);
    await assert.rejects(async () => readAll(await env.store.openObject(rec)), { code: 'CRYPTO_AUTH_FAILED' });
    await assert.rejects(env.store.openObject(rec, { range: { start: data.length - 1, end: data.length - 1 } }), {
      code: 'CRYPTO_AUTH_FAILED',
    });
    const rec2 = await env.store.putObject('b', 't4', bodyOf(data), opts());
    const p2 = blobPath(rec2.segments[0]!.blobId);
    const fh = await fsOpen(p2, 'r+');
    await fh.truncate(rec2.segments[0]!.encSize - 20);
    await fh.close();
    await assert.rejects(env.store.openObject(rec2), { code: 'BLOB_CORRUPT' });
  });

  it('should report a missing blob file as BLOB_CORRUPT', async () => {
    const rec = await env.store.putObject('b', 't5', bodyOf(data), opts());
    await rm(blobPath(rec.segments[0]!.blobId));
    await assert.rejects(env.store.openObject(rec), { code: 'BLOB_CORRUPT' });
  });

  it('should refuse a record replayed onto another object id', async () => {
    const rec = await env.store.putObject('b', 't6', bodyOf(data), opts());
    await assert.rejects(env.store.openObject({ ...rec, id: 'another-id' }), { code: 'BLOB_CORRUPT' });
  });
});

describe('failed writes leave nothing', () => {
  const env = withEnv();

  it('should leave no record and no file when the body errors mid-way', async () => {
    let n = 0;
    const body = new Readable({
      read() {
        if (n++ < 40) this.push(randomBytes(C));
        else this.destroy(new Error('socket reset'));
      },
    });
    await assert.rejects(env.store.putObject('b', 'half', body, opts()), /socket reset/);
    assert.equal(await env.store.getObject('b', 'half'), undefined);
    assert.deepEqual(await blobFiles(env.dir), []);
    assert.deepEqual(await tmpFiles(env.dir), []);
  });

  it('should leave nothing when beforeCommit throws or maxSize is passed', async () => {
    await assert.rejects(
      env.store.putObject(
        'b',
        'x',
        bodyOf(randomBytes(3 * C)),
        opts({
          beforeCommit: () => {
            throw new Error('bad digest');
          },
        }),
      ),
      /bad digest/,
    );
    await assert.rejects(env.store.putObject('b', 'x', bodyOf(randomBytes(3 * C)), opts({ maxSize: C })), {
      code: 'BLOB_TOO_LARGE',
    });
    assert.deepEqual(await blobFiles(env.dir), []);
    assert.deepEqual(await tmpFiles(env.dir), []);
  });

  it('should leave nothing when a precondition fails at commit', async () => {
    await env.store.putObject('b', 'exists', bodyOf(Buffer.from('1')), opts());
    const before = await blobFiles(env.dir);
    await assert.rejects(env.store.putObject('b', 'exists', bodyOf(randomBytes(C)), opts({ ifNoneMatch: true })), {
      code: 'BLOB_PRECONDITION_FAILED',
    });
    assert.deepEqual(await blobFiles(env.dir), before);
    await env.store.deleteObject('b', 'exists');
  });

  it("should not destroy the caller's body on failure", async () => {
    const body = bodyOf(randomBytes(3 * C));
    await assert.rejects(env.store.putObject('b', 'x', body, opts({ maxSize: 10 })), { code: 'BLOB_TOO_LARGE' });
    assert.equal(body.destroyed, false);
    body.destroy();
  });
});

describe('short writes', () => {
  it('should fail with BLOB_NO_SPACE and leave nothing when a write writes 0 bytes', async () => {
    let calls = 0;
    const write: FileWriteFn = async (fh, buf, off, len, pos) => {
      if (++calls >= 2) return { bytesWritten: 0 }; // disk full, no error raised
      return fh.write(buf, off, len, pos);
    };
    const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-short-'));
    const keyRing = MasterKeyRing.fromKey(randomBytes(32));
    const store = await BlobStore.open({ dir, keyRing, testing: { write } });
    try {
      await store.createBucket('b', 'u1');
      await assert.rejects(store.putObject('b', 'k', bodyOf(randomBytes(3 * 1024 * 1024)), opts()), {
        code: 'BLOB_NO_SPACE',
      });
      assert.equal(await store.getObject('b', 'k'), undefined);
      assert.deepEqual(await blobFiles(dir), []);
      assert.deepEqual(await tmpFiles(dir), []);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should complete writes that come back short but make progress', async () => {
    const write: FileWriteFn = (fh, buf, off, len, pos) => fh.write(buf, off, Math.max(1, Math.floor(len / 3)), pos);
    const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-short-'));
    const store = await BlobStore.open({ dir, keyRing: MasterKeyRing.fromKey(randomBytes(32)), testing: { write } });
    try {
      await store.createBucket('b', 'u1');
      const data = randomBytes(2 * 1024 * 1024 + 3);
      const rec = await store.putObject('b', 'k', bodyOf(data), opts());
      assert.ok((await readAll(await store.openObject(rec))).equals(data));
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should fail with BLOB_NO_SPACE when a write throws ENOSPC', async () => {
    const write: FileWriteFn = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    };
    const dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-short-'));
    const store = await BlobStore.open({
      dir,
      keyRing: MasterKeyRing.fromKey(randomBytes(32)),
      testing: { write },
      inlineMax: 0,
    });
    try {
      await store.createBucket('b', 'u1');
      await assert.rejects(
        store.putObject('b', 'k', bodyOf(randomBytes(10)), opts()),
        (err: { code?: string; cause?: { code?: string } }) => {
          assert.equal(err.code, 'BLOB_NO_SPACE');
          assert.equal(err.cause?.code, 'ENOSPC');
          return true;
        },
      );
      assert.deepEqual(await blobFiles(dir), []);
      assert.deepEqual(await tmpFiles(dir), []);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('blob lifetime', () => {
  const env = withEnv({ inlineMax: 0 }); // file lifetime; inline objects: see 'inline objects';

  it('should remove the old blob file after an overwrite commits, and on delete', async () => {
    const one = await env.store.putObject('b', 'k', bodyOf(randomBytes(1000)), opts());
    const two = await env.store.putObject('b', 'k', bodyOf(randomBytes(1000)), opts());
    await eventually(async () => {
      // unlink runs after the commit
      const files = (await blobFiles(env.dir)).map((f) => path.basename(f));
      assert.ok(!files.includes(one.segments[0]!.blobId));
      assert.ok(files.includes(two.segments[0]!.blobId));
    });
    await env.store.deleteObject('b', 'k');
    await eventually(async () => assert.deepEqual(await blobFiles(env.dir), []));
  });

  it('should keep a shared blob until its last reference goes', async () => {
    const src = await env.store.putObject('b', 'src', bodyOf(randomBytes(1000)), opts());
    const copy = await env.store.copyObject(src, 'b', 'copy', {
      owner: 'u1',
      metadata: { userMeta: {} },
      encryption: { scheme: 'SSE-S3' },
    });
    assert.equal(copy.segments[0]!.blobId, src.segments[0]!.blobId);
    await env.store.deleteObject('b', 'src');
    await new Promise((r) => setTimeout(r, 20)); // a wrongly freed file would be gone by now
    assert.equal((await blobFiles(env.dir)).length, 1);
    await env.store.deleteObject('b', 'copy');
    await eventually(async () => assert.equal((await blobFiles(env.dir)).length, 0));
  });

  it('should let an open reader finish after the object is deleted', async () => {
    const data = randomBytes(8 * C);
    const rec = await env.store.putObject('b', 'reading', bodyOf(data), opts());
    const stream = await env.store.openObject(rec);
    await env.store.deleteObject('b', 'reading');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await blobFiles(env.dir)).length, 1, 'kept while a reader has it open');
    assert.ok((await readAll(stream)).equals(data));
    await eventually(async () => assert.deepEqual(await blobFiles(env.dir), []));
  });

  it('should answer BLOB_NO_SUCH_KEY when the object went away between getObject and openObject', async () => {
    const rec = await env.store.putObject('b', 'vanish', bodyOf(randomBytes(100)), opts());
    await env.store.deleteObject('b', 'vanish');
    await eventually(async () => assert.deepEqual(await blobFiles(env.dir), []));
    await assert.rejects(env.store.openObject(rec), { code: 'BLOB_NO_SUCH_KEY' });
  });

  it('should not sweep a blob that is being written', async () => {
    const body = new Readable({ read() {} });
    const put = env.store.putObject('b', 'slow', body, opts());
    body.push(randomBytes(3 * C));
    await new Promise((r) => setTimeout(r, 20));
    const swept = await env.store.sweep();
    assert.equal(swept.tmpFiles, 0);
    body.push(null);
    const rec = await put;
    assert.equal((await env.store.sweep()).blobFiles, 0);
    assert.equal((await readAll(await env.store.openObject(rec))).length, 3 * C);
  });
});
