/**
 * Where an object ends (issue 10 point 5): a record or a blob file that lies about the length is an error on read
 * and in scrub, never fewer (or more) bytes than were written.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { MasterKeyRing, TAG_LENGTH, encryptedSize, secureRandom } from '@coffer/crypto';

import { BlobStore, type ObjectRecord, type PutOptions, type Segment } from '../src/index.ts';
import { bodyOf, makeCustomerKey, readAll } from '../src/testing.ts';

const C = 4096; // a small chunk size, so that objects of a few chunks stay small
const STRIDE = C + TAG_LENGTH;
const opts = (extra: Partial<PutOptions> = {}): PutOptions => ({
  owner: 'u1',
  metadata: { userMeta: {} },
  encryption: { scheme: 'SSE-S3' },
  ...extra,
});
const hasCode = (code: string) => (e: unknown) => (e as { code?: string }).code === code;

let dir: string;
let store: BlobStore;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'coffer-blob-trunc-'));
  const keyRing = await MasterKeyRing.open({ dir: path.join(dir, 'keys') });
  store = await BlobStore.open({ dir, keyRing, chunkSize: C, inlineMax: 2 * C });
  await store.createBucket('b', 'u1');
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const blobPath = (id: string) => path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id);

/** Replaces the committed record of `rec` (same blobs, so the refcounts do not move). */
async function rewrite(rec: ObjectRecord): Promise<void> {
  await store.transaction((tx) => tx.putObject(rec));
}

/** A segment that claims `plainSize` bytes, with the stored size that goes with it. */
function claim(seg: Segment, plainSize: number): Segment {
  return { ...seg, plainSize, encSize: encryptedSize(plainSize, seg.chunkSize) };
}

/** The scrub failures of `key` as [key, code]. */
async function scrubbed(key: string): Promise<string[][]> {
  const r = await store.scrub();
  return r.failures.filter((f) => f.key === key).map((f) => [f.key, f.code]);
}

async function put(key: string, data: Buffer, extra: Partial<PutOptions> = {}): Promise<ObjectRecord> {
  return store.putObject('b', key, bodyOf(data), opts(extra));
}

describe('a record that lies about the size', () => {
  it('should refuse a size one byte short or long before any byte, and scrub should report it', async () => {
    for (const [key, n] of [
      ['file', 5 * C + 100],
      ['inline', 1000],
    ] as const) {
      const data = randomBytes(n);
      const rec = await put(key, data);
      assert.equal(rec.segments[0]!.inline, key === 'inline' ? true : undefined);
      for (const size of [n - 1, n + 1]) {
        const lie = { ...rec, size };
        await rewrite(lie);
        await assert.rejects(store.openObject(lie), hasCode('BLOB_CORRUPT'), `${key} ${size}`);
        await assert.rejects(store.openObject(lie, { range: { start: 0, end: 9 } }), hasCode('BLOB_CORRUPT'));
        if (key === 'inline') await assert.rejects(store.readInline(lie), hasCode('BLOB_CORRUPT'));
        assert.deepEqual(await scrubbed(key), [[key, 'BLOB_CORRUPT']]);
        await assert.rejects(store.copyObject(lie, 'b', `${key}-copy`, opts()), hasCode('BLOB_CORRUPT'));
        assert.equal(await store.getObject('b', `${key}-copy`), undefined);
      }
      await rewrite(rec);
      assert.deepEqual(await readAll(await store.openObject(rec)), data);
      assert.deepEqual(await scrubbed(key), []);
    }
  });

  it('should refuse a segment whose size is cut by whole chunks while its file is whole, before any byte', async () => {
    const data = randomBytes(4 * C + 10);
    const rec = await put('seg-short', data);
    const seg = rec.segments[0]!;
    const lie = { ...rec, size: 2 * C, segments: [claim(seg, 2 * C)] };
    await rewrite(lie);
    await assert.rejects(store.openObject(lie), hasCode('BLOB_CORRUPT'));
    // A range inside the chunks the record still claims: the file's size gives the record away.
    await assert.rejects(store.openObject(lie, { range: { start: 0, end: 99 } }), hasCode('BLOB_CORRUPT'));
    assert.deepEqual(await scrubbed('seg-short'), [['seg-short', 'BLOB_CORRUPT']]);
    await rewrite(rec);
  });

  it('should refuse a record whose stored size does not go with its plaintext size', async () => {
    const rec = await put('encsize', randomBytes(3 * C));
    const lie = { ...rec, segments: [{ ...rec.segments[0]!, encSize: rec.segments[0]!.encSize - TAG_LENGTH }] };
    await rewrite(lie);
    await assert.rejects(store.openObject(lie), hasCode('BLOB_CORRUPT'));
    assert.deepEqual(await scrubbed('encsize'), [['encsize', 'BLOB_CORRUPT']]);
    await rewrite(rec);
  });
});

describe('a blob file that lies about the size', () => {
  it('should refuse a file cut by whole chunks before any byte, also for a range it still holds', async () => {
    const data = randomBytes(4 * C + 10);
    const rec = await put('cut', data);
    const file = blobPath(rec.segments[0]!.blobId);
    await truncate(file, 2 * STRIDE);
    await assert.rejects(store.openObject(rec), hasCode('BLOB_CORRUPT'));
    await assert.rejects(store.openObject(rec, { range: { start: 0, end: 99 } }), hasCode('BLOB_CORRUPT'));
    assert.deepEqual(await scrubbed('cut'), [['cut', 'BLOB_CORRUPT']]);
  });

  it('should fail at the final chunk when the record and the file are both cut by whole chunks', async () => {
    const data = randomBytes(4 * C + 10);
    const rec = await put('both', data);
    const seg = rec.segments[0]!;
    await truncate(blobPath(seg.blobId), 3 * STRIDE);
    const lie = { ...rec, size: 3 * C, segments: [claim(seg, 3 * C)] };
    await rewrite(lie);
    // Chunk 2 was sealed as not final: read where the record says the object ends, it fails to authenticate, so
    // the stream ends in an error and never with 3·C bytes.
    const stream = await store.openObject(lie);
    await assert.rejects(readAll(stream), hasCode('CRYPTO_AUTH_FAILED'));
    // A range that ends before the final chunk reads only bytes that were written there (see crypto format.ts).
    const early = await store.openObject(lie, { range: { start: 10, end: C + 9 } });
    assert.deepEqual(await readAll(early), data.subarray(10, C + 10));
    assert.deepEqual(await scrubbed('both'), [['both', 'CRYPTO_AUTH_FAILED']]);
    // Cut to one chunk, the first chunk read is the one wrongly final: the open fails before any byte.
    await truncate(blobPath(seg.blobId), STRIDE);
    const one = { ...rec, size: C, segments: [claim(seg, C)] };
    await rewrite(one);
    await assert.rejects(store.openObject(one), hasCode('CRYPTO_AUTH_FAILED'));
    await store.deleteObject('b', 'both');
  });
});

describe('an object made of parts', () => {
  /** Two parts (3 chunks + 5 bytes, then 2 chunks + 7), assembled as multipart completion does. */
  async function twoParts(key: string): Promise<{ rec: ObjectRecord; data: Buffer }> {
    const id = 'obj-' + randomBytes(8).toString('hex');
    const { dek, enc } = store.newDataKey(id, { scheme: 'SSE-S3' }, C);
    const bodies = [randomBytes(3 * C + 5), randomBytes(2 * C + 7)];
    const segments: Segment[] = [];
    for (const [i, b] of bodies.entries()) {
      const info = `S3E1/part/${i + 1}`;
      const w = await store.writeSegment(bodyOf(b), { dek, salt: secureRandom(16), info, chunkSize: C });
      segments.push(w.segment);
    }
    dek.fill(0);
    const rec: ObjectRecord = {
      v: 1,
      bucket: 'b',
      key,
      id,
      size: bodies[0]!.length + bodies[1]!.length,
      etag: 'x-2',
      lastModified: new Date().toISOString(),
      owner: 'u1',
      userMeta: {},
      enc,
      segments,
      parts: bodies.map((b, i) => ({ partNumber: i + 1, size: b.length, etag: 'x' })),
    };
    await rewrite(rec);
    return { rec, data: Buffer.concat(bodies) };
  }

  it('should read whole, and refuse a part file cut by whole chunks when the read reaches it', async () => {
    const { rec, data } = await twoParts('mp-cut');
    assert.deepEqual(await readAll(await store.openObject(rec)), data);
    assert.deepEqual(await scrubbed('mp-cut'), []);
    await truncate(blobPath(rec.segments[1]!.blobId), STRIDE);
    // The first part is whole: the second part's file size is checked when the read gets to it.
    const stream = await store.openObject(rec);
    await assert.rejects(readAll(stream), hasCode('BLOB_CORRUPT'));
    const inSecond = { start: 3 * C + 5, end: 3 * C + 5 };
    await assert.rejects(store.openObject(rec, { range: inSecond }), hasCode('BLOB_CORRUPT'));
    assert.deepEqual(await scrubbed('mp-cut'), [['mp-cut', 'BLOB_CORRUPT']]);
  });

  it('should refuse a record that drops or cuts a part but not the parts list, before any byte', async () => {
    const { rec } = await twoParts('mp-rec');
    const dropped = { ...rec, size: rec.segments[0]!.plainSize, segments: [rec.segments[0]!] };
    const cut = {
      ...rec,
      size: rec.size - C,
      segments: [rec.segments[0]!, claim(rec.segments[1]!, rec.segments[1]!.plainSize - C)],
    };
    for (const lie of [dropped, cut, { ...rec, size: rec.size - 1 }]) {
      await assert.rejects(store.openObject(lie), hasCode('BLOB_CORRUPT'));
    }
    await rewrite(cut); // (committing `dropped` would free the second part's file: the refcounts follow records)
    assert.deepEqual(await scrubbed('mp-rec'), [['mp-rec', 'BLOB_CORRUPT']]);
    await rewrite(rec);
  });

  it("should fail at the part's final chunk when a part and its file are both cut by whole chunks", async () => {
    const { rec, data } = await twoParts('mp-both');
    const [first, second] = rec.segments as [Segment, Segment];
    await truncate(blobPath(first.blobId), 2 * STRIDE);
    const lie = {
      ...rec,
      size: rec.size - C - 5,
      segments: [claim(first, 2 * C), second],
      parts: [{ ...rec.parts![0]!, size: 2 * C }, rec.parts![1]!],
    };
    await rewrite(lie);
    const stream = await store.openObject(lie);
    await assert.rejects(readAll(stream), hasCode('CRYPTO_AUTH_FAILED'));
    const early = await store.openObject(lie, { range: { start: 0, end: C - 1 } });
    assert.deepEqual(await readAll(early), data.subarray(0, C));
    assert.deepEqual(await scrubbed('mp-both'), [['mp-both', 'CRYPTO_AUTH_FAILED']]);
    await store.deleteObject('b', 'mp-both');
  });
});

describe('SSE-C objects in scrub', () => {
  it('should report a record that lies about the size without the key', async () => {
    const rec = await put('ssec', randomBytes(3 * C), { encryption: { scheme: 'SSE-C', customer: makeCustomerKey() } });
    await rewrite({ ...rec, size: rec.size - 1 });
    assert.deepEqual(await scrubbed('ssec'), [['ssec', 'BLOB_CORRUPT']]);
    await rewrite(rec);
    assert.deepEqual(await scrubbed('ssec'), []);
  });
});
