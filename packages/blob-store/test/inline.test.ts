import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { Level } from 'level';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore, type BlobStoreOptions, type ObjectRecord, type PutOptions } from '../src/index.ts';
import { bodyOf, eventually, filesUnder, readAll } from '../src/testing.ts';

const opts = (extra: Partial<PutOptions> = {}): PutOptions => ({
  owner: 'u1',
  metadata: { userMeta: {} },
  encryption: { scheme: 'SSE-S3' },
  ...extra,
});
const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');

interface Env {
  dir: string;
  keyRing: MasterKeyRing;
  store: BlobStore;
  /** Closes the store, runs `fn` on the raw LevelDB (sublevel keys `!d!ID`, `!r!ID`), and opens the store again. */
  raw<T>(fn: (db: Level<string, Buffer>) => Promise<T>): Promise<T>;
  /** Inline data entries and refcount entries in the database. */
  counts(): Promise<{ d: number; r: number }>;
}

function withEnv(extra: Partial<BlobStoreOptions> = {}): Env {
  const env = {} as Env;
  before(async () => {
    env.dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-inline-'));
    env.keyRing = await MasterKeyRing.open({ dir: path.join(env.dir, 'keys') });
    env.store = await BlobStore.open({ dir: env.dir, keyRing: env.keyRing, ...extra });
    env.raw = async (fn) => {
      await env.store.close();
      const db = new Level<string, Buffer>(path.join(env.dir, 'meta'), {
        keyEncoding: 'utf8',
        valueEncoding: 'buffer',
      });
      try {
        return await fn(db);
      } finally {
        await db.close();
        env.store = await BlobStore.open({ dir: env.dir, keyRing: env.keyRing, ...extra });
      }
    };
    env.counts = () =>
      env.raw(async (db) => {
        let d = 0;
        let r = 0;
        for await (const k of db.keys({ gte: '!d!', lt: '!d"' })) if (k) d++;
        for await (const k of db.keys({ gte: '!r!', lt: '!r"' })) if (k) r++;
        return { d, r };
      });
    await env.store.createBucket('b', 'u1');
  });
  after(async () => {
    await env.store.close();
    await rm(env.dir, { recursive: true, force: true });
  });
  return env;
}

const blobFiles = (env: Env) => filesUnder(path.join(env.dir, 'blobs'));

describe('inline objects', () => {
  const env = withEnv({ inlineMax: 4096, chunkSize: 1024 });

  it('should keep a body of at most inlineMax bytes in LevelDB, with no blob file, and read it back', async () => {
    for (const size of [0, 1, 1023, 1024, 1025, 4096]) {
      const data = randomBytes(size);
      const rec = await env.store.putObject('b', `s${size}`, bodyOf(data), opts());
      assert.equal(rec.segments.length, 1);
      assert.equal(rec.segments[0]!.inline, true);
      assert.equal(rec.etag, md5hex(data));
      assert.ok((await readAll(await env.store.openObject(rec))).equals(data));
    }
    assert.deepEqual(await blobFiles(env), []);
  });

  it('should store a body of inlineMax + 1 bytes as a file, whole (the bytes read first are not lost)', async () => {
    const data = randomBytes(4097);
    // Pieces smaller than the limit, so that the switch to a file happens mid-body.
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < data.length; i += 1000) yield data.subarray(i, i + 1000);
      })(),
      { objectMode: false },
    );
    const rec = await env.store.putObject('b', 'big', body, opts());
    assert.equal(rec.segments[0]!.inline, undefined);
    assert.equal(rec.etag, md5hex(data));
    assert.equal((await blobFiles(env)).length, 1);
    assert.ok((await readAll(await env.store.openObject(rec))).equals(data));
    await env.store.deleteObject('b', 'big');
  });

  it('should go straight to a file when sizeHint passes inlineMax', async () => {
    const rec = await env.store.putObject('b', 'hinted', bodyOf(randomBytes(100)), opts({ sizeHint: 5000 }));
    assert.equal(rec.segments[0]!.inline, undefined);
    await env.store.deleteObject('b', 'hinted');
  });

  it('should read every range of a multi-chunk inline object exactly', async () => {
    const data = randomBytes(3 * 1024 + 100);
    const rec = await env.store.putObject('b', 'ranges', bodyOf(data), opts());
    for (const [start, end] of [
      [0, 0],
      [0, 1023],
      [1023, 1024],
      [1024, 2047],
      [5, 3000],
      [3 * 1024, data.length - 1],
      [data.length - 1, data.length - 1],
    ] as const) {
      const got = await readAll(await env.store.openObject(rec, { range: { start, end } }));
      assert.ok(got.equals(data.subarray(start, end + 1)), `${start}-${end}`);
    }
  });

  it('should answer readInline with the plaintext (or a range) of an inline object, and undefined for a file', async () => {
    const data = randomBytes(3000);
    const rec = await env.store.putObject('b', 'ri', bodyOf(data), opts());
    assert.ok((await env.store.readInline(rec))!.equals(data));
    assert.ok(
      (await env.store.readInline(rec, { range: { start: 1000, end: 2500 } }))!.equals(data.subarray(1000, 2501)),
    );
    const empty = await env.store.putObject('b', 'ri0', bodyOf(Buffer.alloc(0)), opts());
    assert.equal((await env.store.readInline(empty))!.length, 0);
    const file = await env.store.putObject('b', 'rif', bodyOf(randomBytes(5000)), opts());
    assert.equal(await env.store.readInline(file), undefined);
    await env.store.deleteObject('b', 'rif');
    await env.store.deleteObject('b', 'ri');
    await assert.rejects(env.store.readInline(rec), { code: 'BLOB_NO_SUCH_KEY' });
  });

  it('should share inline data between copies and remove it with the last reference', async () => {
    const base = await env.counts();
    const data = randomBytes(2000);
    const src = await env.store.putObject('b', 'csrc', bodyOf(data), opts());
    const copy = await env.store.copyObject(src, 'b', 'ccopy', {
      owner: 'u1',
      metadata: { userMeta: {} },
      encryption: { scheme: 'SSE-S3' },
    });
    assert.equal(copy.segments[0]!.blobId, src.segments[0]!.blobId);
    assert.equal(copy.segments[0]!.inline, true);
    assert.deepEqual(await env.counts(), { d: base.d + 1, r: base.r + 1 });
    await env.store.deleteObject('b', 'csrc');
    const c = (await env.store.getObject('b', 'ccopy'))!;
    assert.ok((await readAll(await env.store.openObject(c))).equals(data));
    await env.store.deleteObject('b', 'ccopy');
    assert.deepEqual(await env.counts(), base);
  });

  it("should drop the replaced object's inline data on overwrite", async () => {
    const base = await env.counts();
    await env.store.putObject('b', 'ow', bodyOf(randomBytes(10)), opts());
    const two = await env.store.putObject('b', 'ow', bodyOf(randomBytes(20)), opts());
    assert.deepEqual(await env.counts(), { d: base.d + 1, r: base.r + 1 });
    const cur = (await env.store.getObject('b', 'ow'))!;
    assert.equal(cur.id, two.id);
    await env.store.deleteObject('b', 'ow');
    assert.deepEqual(await env.counts(), base);
  });

  it('should keep nothing when beforeCommit throws, maxSize is passed, a precondition fails or the body errors', async () => {
    const base = await env.counts();
    await assert.rejects(
      env.store.putObject(
        'b',
        'x',
        bodyOf(randomBytes(100)),
        opts({
          beforeCommit: () => {
            throw new Error('bad digest');
          },
        }),
      ),
      /bad digest/,
    );
    await assert.rejects(env.store.putObject('b', 'x', bodyOf(randomBytes(100)), opts({ maxSize: 50 })), {
      code: 'BLOB_TOO_LARGE',
    });
    await env.store.putObject('b', 'exists', bodyOf(randomBytes(100)), opts());
    await assert.rejects(env.store.putObject('b', 'exists', bodyOf(randomBytes(100)), opts({ ifNoneMatch: true })), {
      code: 'BLOB_PRECONDITION_FAILED',
    });
    const body = new Readable({
      read() {
        this.destroy(new Error('socket reset'));
      },
    });
    await assert.rejects(env.store.putObject('b', 'x', body, opts()), /socket reset/);
    await env.store.deleteObject('b', 'exists');
    assert.equal(await env.store.getObject('b', 'x'), undefined);
    assert.deepEqual(await env.counts(), base);
  });

  it('should answer BLOB_NO_SUCH_KEY when the object went away between getObject and openObject', async () => {
    const rec = await env.store.putObject('b', 'vanish', bodyOf(randomBytes(100)), opts());
    await env.store.deleteObject('b', 'vanish');
    await assert.rejects(env.store.openObject(rec), { code: 'BLOB_NO_SUCH_KEY' });
  });

  it('should detect a flipped byte and a missing entry, in openObject and in scrub', async () => {
    const data = randomBytes(2500);
    const rec = await env.store.putObject('b', 'tamper', bodyOf(data), opts());
    const id = rec.segments[0]!.blobId;
    await env.raw(async (db) => {
      const v = Buffer.from((await db.get(`!d!${id}`))!);
      v[1500]! ^= 1; // chunk 1 of 3
      await db.put(`!d!${id}`, v);
    });
    await assert.rejects(async () => readAll(await env.store.openObject(rec)), { code: 'CRYPTO_AUTH_FAILED' });
    await assert.rejects(env.store.openObject(rec, { range: { start: 1100, end: 1100 } }), {
      code: 'CRYPTO_AUTH_FAILED',
    });
    // Ranges that avoid the corrupt chunk still read.
    assert.ok(
      (await readAll(await env.store.openObject(rec, { range: { start: 0, end: 999 } }))).equals(
        data.subarray(0, 1000),
      ),
    );
    assert.deepEqual(
      (await env.store.scrub()).failures.map((f) => [f.key, f.code]),
      [['tamper', 'CRYPTO_AUTH_FAILED']],
    );
    await env.raw((db) => db.del(`!d!${id}`));
    await assert.rejects(env.store.openObject(rec), { code: 'BLOB_CORRUPT' });
    assert.deepEqual(
      (await env.store.scrub()).failures.map((f) => [f.key, f.code]),
      [['tamper', 'BLOB_CORRUPT']],
    );
    await env.store.deleteObject('b', 'tamper');
  });

  it('should survive close and open, and be left alone by the sweep', async () => {
    const data = randomBytes(3000);
    await env.store.putObject('b', 'persist', bodyOf(data), opts({ encryption: { scheme: 'SSE-S3' } }));
    await env.raw(async () => undefined);
    assert.deepEqual(await env.store.sweep(), { tmpFiles: 0, blobFiles: 0 });
    const rec = (await env.store.getObject('b', 'persist'))!;
    assert.ok((await readAll(await env.store.openObject(rec))).equals(data));
  });
});

describe('group commit', () => {
  const env = withEnv();

  it('should commit many concurrent small puts, each readable and counted once', async () => {
    const base = await env.counts();
    const data = Array.from({ length: 64 }, (_, i) => randomBytes(100 + i));
    const recs = await Promise.all(data.map((d, i) => env.store.putObject('b', `many-${i}`, bodyOf(d), opts())));
    for (const [i, rec] of recs.entries()) {
      assert.ok((await readAll(await env.store.openObject(rec))).equals(data[i]!));
    }
    assert.deepEqual(await env.counts(), { d: base.d + 64, r: base.r + 64 });
    await Promise.all(recs.map((r) => env.store.deleteObject('b', r.key)));
    assert.deepEqual(await env.counts(), base);
  });

  it('should keep exactly one object and one data entry when concurrent puts replace the same key', async () => {
    const base = await env.counts();
    const recs = await Promise.all(
      Array.from({ length: 24 }, () => env.store.putObject('b', 'same', bodyOf(randomBytes(500)), opts())),
    );
    const cur = (await env.store.getObject('b', 'same'))!;
    assert.ok(recs.some((r) => r.id === cur.id));
    assert.deepEqual(await env.counts(), { d: base.d + 1, r: base.r + 1 });
    // The same with blob files.
    await Promise.all(
      Array.from({ length: 8 }, () => env.store.putObject('b', 'same-file', bodyOf(randomBytes(70_000)), opts())),
    );
    await eventually(async () => assert.equal((await filesUnder(path.join(env.dir, 'blobs'))).length, 1));
    await env.store.deleteObject('b', 'same');
    await env.store.deleteObject('b', 'same-file');
    assert.deepEqual(await env.counts(), base);
    await eventually(async () => assert.deepEqual(await filesUnder(path.join(env.dir, 'blobs')), []));
  });

  it('should keep counts exact over rounds of overwrites, copies and deletes of the same keys', async () => {
    // Later rounds read the records and counts that earlier groups wrote (the committer keeps them, not only LevelDB).
    const base = await env.counts();
    const copyOpts = { owner: 'u1', metadata: { userMeta: {} }, encryption: { scheme: 'SSE-S3' as const } };
    const read = async (key: string) => readAll(await env.store.openObject((await env.store.getObject('b', key))!));
    let c: Buffer | undefined;
    for (let round = 0; round < 20; round++) {
      const a1 = randomBytes(300 + round);
      const a2 = randomBytes(200 + round);
      const other = randomBytes(400 + round);
      const [ra] = await Promise.all([
        env.store.putObject('b', 'cc-a', bodyOf(a1), opts()),
        env.store.putObject('b', 'cc-b', bodyOf(other), opts()),
      ]);
      await env.store.copyObject(ra, 'b', 'cc-c', copyOpts); // shares a1's blob
      await env.store.putObject('b', 'cc-a', bodyOf(a2), opts()); // a1's blob lives on in cc-c
      c = a1;
      if (round % 3 === 2) {
        await env.store.deleteObject('b', 'cc-c');
        c = undefined;
      }
      assert.ok((await read('cc-a')).equals(a2));
      assert.ok((await read('cc-b')).equals(other));
      if (c) assert.ok((await read('cc-c')).equals(c));
      else assert.equal(await env.store.getObject('b', 'cc-c'), undefined);
    }
    const live = c ? 3 : 2;
    assert.deepEqual(await env.counts(), { d: base.d + live, r: base.r + live });
    await Promise.all(['cc-a', 'cc-b', 'cc-c'].map((k) => env.store.deleteObject('b', k)));
    assert.deepEqual(await env.counts(), base);
  });

  it('should let exactly one of many concurrent ifNoneMatch puts win, and not fail the others of its group', async () => {
    for (let round = 0; round < 3; round++) {
      const key = `race-${round}`;
      const racers = Array.from({ length: 12 }, () =>
        env.store.putObject('b', key, bodyOf(randomBytes(300)), opts({ ifNoneMatch: true })),
      );
      const bystanders = Array.from({ length: 4 }, (_, i) =>
        env.store.putObject('b', `by-${round}-${i}`, bodyOf(randomBytes(300)), opts()),
      );
      const results = await Promise.allSettled(racers);
      const won = results.filter((r): r is PromiseFulfilledResult<ObjectRecord> => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results)
        if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'BLOB_PRECONDITION_FAILED');
      assert.equal((await env.store.getObject('b', key))?.id, won[0]!.value.id);
      assert.equal((await Promise.all(bystanders)).length, 4);
    }
  });

  it('should evaluate ifMatch against the writes of earlier members of the same group', async () => {
    const first = await env.store.putObject('b', 'chain', bodyOf(Buffer.from('v1')), opts());
    // Both are checked against v1's ETag; whichever commits second sees the other's ETag and fails.
    const results = await Promise.allSettled([
      env.store.putObject('b', 'chain', bodyOf(Buffer.from('v2a')), opts({ ifMatch: first.etag })),
      env.store.putObject('b', 'chain', bodyOf(Buffer.from('v2b')), opts({ ifMatch: first.etag })),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  });

  it('should reject a transaction that throws and commit the others queued with it', async () => {
    const results = await Promise.allSettled([
      env.store.transaction(async (tx) => {
        tx.putRecord('t', 'a', { n: 1 });
      }),
      env.store.transaction(async (tx) => {
        tx.putRecord('t', 'b', { n: 2 });
        throw new Error('no');
      }),
      env.store.transaction(async (tx) => {
        assert.deepEqual(await tx.getRecord('t', 'a'), { n: 1 }); // an earlier member's write is visible
        assert.equal(await tx.getRecord('t', 'b'), undefined); // a failed member's is not
        tx.putRecord('t', 'c', { n: 3 });
      }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(await env.store.listRecords('t'), [{ n: 1 }, { n: 3 }]);
  });
});
