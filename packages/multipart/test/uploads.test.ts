import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { BlobStore, type Transaction } from '@coffer/blob-store';
import { bodyOf, eventually, makeCustomerKey, readAll } from '@coffer/blob-store/testing';
import { MasterKeyRing } from '@coffer/crypto';

import {
  MULTIPART_NAMESPACES,
  type MultipartError,
  MultipartStore,
  multipartEtag,
  type PartRecord,
  type UploadRecord,
} from '../src/index.ts';

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const meta = { userMeta: { a: '1' }, contentType: 'text/plain' };

/** Blob files on disk. */
async function blobFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const root = path.join(dir, 'blobs');
  for (const xx of await readdir(root))
    for (const yy of await readdir(path.join(root, xx))) out.push(...(await readdir(path.join(root, xx, yy))));
  return out.sort();
}

const settle = () => new Promise((r) => setTimeout(r, 50));

/** A part body that sends a few bytes, then holds its end until `release()`: a part still uploading during a race. */
function heldBody(): { body: Readable; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  async function* bytes() {
    yield Buffer.from('late');
    await gate;
  }
  return { body: Readable.from(bytes()), release };
}

describe('MultipartStore', () => {
  let dir: string;
  let store: BlobStore;
  let clock = Date.now();
  let mp: MultipartStore;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coffer-mp-'));
    store = await BlobStore.open({ dir, keyRing: MasterKeyRing.fromKey(randomBytes(32)), sync: false });
    mp = new MultipartStore(store, { maxUploadAgeMs: 60_000, now: () => clock });
    await store.createBucket('b', 'u1');
  });
  after(async () => {
    await mp.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clock = Date.now();
  });

  const create = (
    key = 'k',
    encryption: Parameters<MultipartStore['create']>[2]['encryption'] = { scheme: 'SSE-S3' },
  ) => mp.create('b', key, { owner: 'u1', metadata: meta, encryption });

  describe('options', () => {
    it('should refuse a non-positive maxUploadAgeMs with a RangeError naming it', () => {
      assert.throws(() => new MultipartStore(store, { maxUploadAgeMs: 0 }), /options\.maxUploadAgeMs/);
    });
  });

  describe('complete', () => {
    it('should assemble the parts without copying them, with the multipart ETag and parts list', async () => {
      const up = await create();
      const p1 = randomBytes(5 * MiB);
      const p2 = randomBytes(1234);
      const a = await mp.uploadPart(up, 1, bodyOf(p1));
      const b = await mp.uploadPart(up, 2, bodyOf(p2));
      const before = await blobFiles(dir);
      const rec = await mp.complete('b', 'k', up.uploadId, [
        { partNumber: 1, etag: `"${a.etag}"` },
        { partNumber: 2, etag: b.etag },
      ]);
      assert.equal(rec.etag, multipartEtag([md5(p1), md5(p2)]));
      assert.deepEqual(rec.parts, [
        { partNumber: 1, size: p1.length, etag: md5(p1) },
        { partNumber: 2, size: p2.length, etag: md5(p2) },
      ]);
      assert.deepEqual(
        rec.segments.map((s) => s.blobId),
        [a.segment.blobId, b.segment.blobId],
      );
      assert.deepEqual(await blobFiles(dir), before, 'no file written or removed');
      assert.equal(rec.contentType, 'text/plain');
      const data = await readAll(await store.openObject(rec, { range: { start: p1.length - 10, end: p1.length + 9 } }));
      assert.deepEqual(data, Buffer.concat([p1.subarray(-10), p2.subarray(0, 10)]));
      await assert.rejects(
        mp.complete('b', 'k', up.uploadId, [{ partNumber: 1, etag: a.etag }]),
        (e: MultipartError) => e.code === 'MP_NO_SUCH_UPLOAD',
      );
      await store.deleteObject('b', 'k');
    });

    it('should free the files of parts the list leaves out', async () => {
      const up = await create();
      const a = await mp.uploadPart(up, 1, bodyOf(Buffer.from('one')));
      const b = await mp.uploadPart(up, 2, bodyOf(Buffer.from('two')));
      await mp.complete('b', 'k', up.uploadId, [{ partNumber: 2, etag: b.etag }]);
      await eventually(async () => {
        const files = await blobFiles(dir);
        assert.ok(!files.includes(a.segment.blobId));
        assert.ok(files.includes(b.segment.blobId));
      });
      await store.deleteObject('b', 'k');
    });

    it('should make one object of two racing completes, and answer both with it', async () => {
      const up = await create();
      const a = await mp.uploadPart(up, 1, bodyOf(Buffer.from('x')));
      const [one, two] = await Promise.all([
        mp.complete('b', 'k', up.uploadId, [{ partNumber: 1, etag: a.etag }]),
        mp.complete('b', 'k', up.uploadId, [{ partNumber: 1, etag: `"${a.etag}"` }]),
      ]);
      assert.deepEqual(two, one);
      assert.deepEqual(await store.getObject('b', 'k'), one);
      await store.deleteObject('b', 'k');
    });

    it('should answer a retried complete with the object it made, while that object is current and the list the same', async () => {
      const up = await create();
      const a = await mp.uploadPart(up, 1, bodyOf(randomBytes(5 * MiB)));
      const b = await mp.uploadPart(up, 2, bodyOf(Buffer.from('tail')));
      const list = [
        { partNumber: 1, etag: a.etag },
        { partNumber: 2, etag: b.etag },
      ];
      const made = await mp.complete('b', 'k', up.uploadId, list);
      assert.deepEqual(await mp.complete('b', 'k', up.uploadId, list), made);
      const noSuchUpload = (e: MultipartError) => e.code === 'MP_NO_SUCH_UPLOAD' && e.details.UploadId === up.uploadId;
      await assert.rejects(mp.complete('b', 'k', up.uploadId, list.slice(0, 1)), noSuchUpload);
      await assert.rejects(
        mp.complete('b', 'k', up.uploadId, [list[0]!, { partNumber: 2, etag: a.etag }]),
        noSuchUpload,
      );
      await assert.rejects(mp.complete('b', 'other', up.uploadId, list), noSuchUpload);
      await store.putObject('b', 'k', bodyOf(Buffer.from('overwritten')), {
        owner: 'u1',
        metadata: meta,
        encryption: { scheme: 'SSE-S3' },
      });
      await assert.rejects(mp.complete('b', 'k', up.uploadId, list), noSuchUpload, 'the object it made is gone');
      await store.deleteObject('b', 'k');
    });

    it('should refuse a part that finishes after the upload completed, and remove its file', async () => {
      const up = await create();
      const a = await mp.uploadPart(up, 1, bodyOf(Buffer.from('x')));
      const files = await blobFiles(dir);
      const { body: slow, release } = heldBody();
      const late = mp.uploadPart(up, 2, slow);
      await mp.complete('b', 'k', up.uploadId, [{ partNumber: 1, etag: a.etag }]);
      release();
      await assert.rejects(late, (e: MultipartError) => e.code === 'MP_NO_SUCH_UPLOAD');
      await eventually(async () => assert.deepEqual(await blobFiles(dir), files));
      await store.deleteObject('b', 'k');
    });
  });

  describe('uploadPart', () => {
    it('should replace a part uploaded again, with a fresh salt, and free the old file', async () => {
      const up = await create();
      const a = await mp.uploadPart(up, 1, bodyOf(Buffer.from('first')));
      const b = await mp.uploadPart(up, 1, bodyOf(Buffer.from('first')));
      assert.notEqual(a.segment.salt, b.segment.salt);
      assert.equal(a.etag, b.etag);
      await eventually(async () => {
        const files = await blobFiles(dir);
        assert.ok(!files.includes(a.segment.blobId) && files.includes(b.segment.blobId));
      });
      const { parts } = await mp.listParts(up, { maxParts: 1000 });
      assert.deepEqual(
        parts.map((p) => p.segment.blobId),
        [b.segment.blobId],
      );
      await mp.abort('b', 'k', up.uploadId);
    });

    it("should check an SSE-C upload's key before reading the body", async () => {
      const key = makeCustomerKey();
      const up = await create('c', { scheme: 'SSE-C', customer: key });
      await assert.rejects(
        mp.uploadPart(up, 1, bodyOf(Buffer.from('x'))),
        (e: MultipartError) => e.code === 'MP_SSEC_REQUIRED',
      );
      await assert.rejects(
        mp.uploadPart(up, 1, bodyOf(Buffer.from('x')), { customer: makeCustomerKey() }),
        (e: MultipartError) => e.code === 'MP_SSEC_KEY_MISMATCH',
      );
      const p = await mp.uploadPart(up, 1, bodyOf(Buffer.from('secret')), { customer: key });
      assert.notEqual(p.etag, md5(Buffer.from('secret')), 'an SSE-C part ETag is not the MD5');
      const rec = await mp.complete('b', 'c', up.uploadId, [{ partNumber: 1, etag: p.etag }]);
      assert.equal((await readAll(await store.openObject(rec, { customer: key }))).toString(), 'secret');
      const s3 = await create('s');
      await assert.rejects(
        mp.uploadPart(s3, 1, bodyOf(Buffer.from('x')), { customer: key }),
        (e: MultipartError) => e.code === 'MP_SSEC_NOT_APPLICABLE',
      );
      await mp.abort('b', 's', s3.uploadId);
      await store.deleteObject('b', 'c');
    });
  });

  describe('abort', () => {
    it("should remove the upload and free its parts' files", async () => {
      const files = await blobFiles(dir);
      const up = await create();
      await mp.uploadPart(up, 1, bodyOf(randomBytes(100_000)));
      await mp.uploadPart(up, 2, bodyOf(randomBytes(100)));
      await mp.abort('b', 'k', up.uploadId);
      await eventually(async () => assert.deepEqual(await blobFiles(dir), files));
      await assert.rejects(mp.getUpload('b', 'k', up.uploadId), (e: MultipartError) => e.code === 'MP_NO_SUCH_UPLOAD');
    });
  });

  describe('listUploads', () => {
    it('should page by key and upload id, with common prefixes', async () => {
      const made: UploadRecord[] = [];
      for (const k of ['a/1', 'a/2', 'b', 'b', 'c']) {
        clock += 1000;
        made.push(await create(k));
      }
      const all = await mp.listUploads('b', { maxUploads: 1000 });
      assert.deepEqual(
        all.uploads.map((u) => u.key),
        ['a/1', 'a/2', 'b', 'b', 'c'],
      );
      const page1 = await mp.listUploads('b', { maxUploads: 3 });
      assert.equal(page1.isTruncated, true);
      assert.equal(page1.nextKeyMarker, 'b');
      assert.equal(page1.nextUploadIdMarker, made[2].uploadId);
      const page2 = await mp.listUploads('b', {
        maxUploads: 3,
        keyMarker: page1.nextKeyMarker,
        uploadIdMarker: page1.nextUploadIdMarker,
      });
      assert.deepEqual(
        page2.uploads.map((u) => u.uploadId),
        [made[3].uploadId, made[4].uploadId],
      );
      assert.equal(page2.isTruncated, false);
      const grouped = await mp.listUploads('b', { maxUploads: 1000, delimiter: '/' });
      assert.deepEqual(grouped.commonPrefixes, ['a/']);
      assert.deepEqual(
        grouped.uploads.map((u) => u.key),
        ['b', 'b', 'c'],
      );
      await assert.rejects(
        mp.listUploads('b', { maxUploads: 10, keyMarker: 'a', uploadIdMarker: 'nope' }),
        (e: MultipartError) => e.code === 'MP_INVALID_UPLOAD_ID_MARKER',
      );
      for (const u of made) await mp.abort('b', u.key, u.uploadId);
    });
  });

  describe('sweep', () => {
    it('should abort uploads older than maxUploadAgeMs and keep younger ones', async () => {
      const files = await blobFiles(dir);
      clock = Date.now() - 120_000;
      const old = await create('old');
      await mp.uploadPart(old, 1, bodyOf(randomBytes(1000)));
      clock = Date.now();
      const young = await create('young');
      assert.deepEqual(await mp.sweep(), { aborted: 1, orphanParts: 0 });
      await eventually(async () => assert.deepEqual(await blobFiles(dir), files));
      await assert.rejects(
        mp.getUpload('b', 'old', old.uploadId),
        (e: MultipartError) => e.code === 'MP_NO_SUCH_UPLOAD',
      );
      await mp.getUpload('b', 'young', young.uploadId);
      await mp.abort('b', 'young', young.uploadId);
    });

    it('should forget a completed upload as old as an upload it would abort', async () => {
      clock = Date.now() - 120_000;
      const up = await create('done');
      const p = await mp.uploadPart(up, 1, bodyOf(Buffer.from('done')));
      const list = [{ partNumber: 1, etag: p.etag }];
      await mp.complete('b', 'done', up.uploadId, list);
      const kept = async () =>
        (await store.listRecords<{ uploadId: string }>(MULTIPART_NAMESPACES.completed)).filter(
          (c) => c.uploadId === up.uploadId,
        ).length;
      assert.equal(await kept(), 1);
      clock = Date.now();
      await mp.sweep();
      assert.equal(await kept(), 0);
      await assert.rejects(
        mp.complete('b', 'done', up.uploadId, list),
        (e: MultipartError) => e.code === 'MP_NO_SUCH_UPLOAD',
      );
      await store.deleteObject('b', 'done');
    });
  });

  describe('removeBucketUploads', () => {
    const cascadeOf = (bucket: string) => ({ cascade: (tx: Transaction) => mp.removeBucketUploads(tx, bucket) });
    const partsOf = (uploadId: string) => store.listRecords(MULTIPART_NAMESPACES.parts, { prefix: uploadId });
    const createIn = (bucket: string, key: string) =>
      mp.create(bucket, key, { owner: 'u1', metadata: meta, encryption: { scheme: 'SSE-S3' } });
    const uploadsIn = async (bucket: string) => (await mp.listUploads(bucket, { maxUploads: 10 })).uploads;
    const notEmpty = (e: { code: string }) => e.code === 'BLOB_BUCKET_NOT_EMPTY';

    it("should delete a bucket with only uploads left, aborting them and freeing their parts' files", async () => {
      await store.createBucket('only-uploads', 'u1');
      const files = await blobFiles(dir);
      const a = await createIn('only-uploads', 'a');
      const b = await createIn('only-uploads', 'b/c');
      await mp.uploadPart(a, 1, bodyOf(randomBytes(100_000)));
      await mp.uploadPart(a, 2, bodyOf(randomBytes(10)));
      const bp = await mp.uploadPart(b, 1, bodyOf(Buffer.from('b')));
      const done = await createIn('only-uploads', 'done');
      const dp = await mp.uploadPart(done, 1, bodyOf(Buffer.from('done')));
      await mp.complete('only-uploads', 'done', done.uploadId, [{ partNumber: 1, etag: dp.etag }]);
      await assert.rejects(store.deleteBucket('only-uploads', cascadeOf('only-uploads')), notEmpty);
      assert.equal((await uploadsIn('only-uploads')).length, 2, 'an object keeps them all');
      await store.deleteObject('only-uploads', 'done');
      await store.deleteBucket('only-uploads', cascadeOf('only-uploads'));
      assert.equal(await store.getBucket('only-uploads'), undefined);
      assert.deepEqual([...(await partsOf(a.uploadId)), ...(await partsOf(b.uploadId))], []);
      const records = await store.listRecords<{ bucket: string }>(MULTIPART_NAMESPACES.completed);
      assert.deepEqual(
        records.filter((r) => r.bucket === 'only-uploads'),
        [],
        'its completions are forgotten',
      );
      await eventually(async () => assert.deepEqual(await blobFiles(dir), files));
      assert.ok(!(await blobFiles(dir)).includes(bp.segment.blobId));
      await store.createBucket('only-uploads', 'u1');
      assert.deepEqual(await uploadsIn('only-uploads'), [], 'a new bucket of that name has none');
      await store.deleteBucket('only-uploads');
    });

    it('should leave no part record or file when parts race the delete', async () => {
      const files = await blobFiles(dir);
      for (let run = 0; run < 20; run++) {
        const bucket = `race-${run}`;
        await store.createBucket(bucket, 'u1');
        const up = await createIn(bucket, 'k');
        await mp.uploadPart(up, 1, bodyOf(randomBytes(1000)));
        const [part, del] = await Promise.allSettled([
          mp.uploadPart(up, 2, bodyOf(randomBytes(70_000))),
          (async () => {
            for (let i = 0; i < run % 4; i++) await settle(); // the delete lands before, during or after the commit
            await store.deleteBucket(bucket, cascadeOf(bucket));
          })(),
        ]);
        if (del.status === 'fulfilled') {
          assert.equal(await store.getBucket(bucket), undefined);
          assert.deepEqual(await partsOf(up.uploadId), [], `run ${run}: no part outlives its upload`);
          if (part.status === 'rejected') assert.equal(part.reason.code, 'MP_NO_SUCH_UPLOAD');
        } else {
          assert.equal(del.reason.code, 'BLOB_BUCKET_NOT_EMPTY', String(del.reason));
          assert.equal(part.status, 'fulfilled');
          await mp.abort(bucket, 'k', up.uploadId);
          await store.deleteBucket(bucket, cascadeOf(bucket));
        }
        await eventually(async () =>
          assert.deepEqual(await blobFiles(dir), files, `run ${run}: every file referenced or gone`),
        );
      }
    });

    it('should refuse a part that finishes after the bucket was deleted, and remove its file', async () => {
      await store.createBucket('late-part', 'u1');
      const files = await blobFiles(dir);
      const up = await createIn('late-part', 'k');
      const { body: slow, release } = heldBody();
      const late = mp.uploadPart(up, 1, slow);
      await store.deleteBucket('late-part', cascadeOf('late-part'));
      release();
      await assert.rejects(late, (e: MultipartError) => e.code === 'MP_NO_SUCH_UPLOAD');
      await eventually(async () => assert.deepEqual(await blobFiles(dir), files));
      assert.deepEqual(await partsOf(up.uploadId), []);
    });
  });

  describe('races', () => {
    /**
     * No part record outlives its upload, and the blob files on disk are exactly those that a record refers to (the
     * store's sweep first removes any file nothing refers to, so a file left is one a reference keeps).
     */
    const assertNoLeak = async (): Promise<void> => {
      const uploads = await store.listRecords<UploadRecord>(MULTIPART_NAMESPACES.uploads);
      const live = new Set(uploads.map((u) => u.uploadId));
      const parts = await store.listRecords<PartRecord>(MULTIPART_NAMESPACES.parts);
      const orphans = parts.filter((p) => !live.has(p.uploadId)).map((p) => `${p.uploadId}/${p.partNumber}`);
      assert.deepEqual(orphans, [], 'orphan part records');
      await store.sweep();
      const objects = (await store.listObjects('b', { maxKeys: 1000 })).objects;
      const segments = [...parts.map((p) => p.segment), ...objects.flatMap((o) => o.segments)].filter((g) => !g.inline);
      assert.deepEqual(await blobFiles(dir), segments.map((g) => g.blobId).sort());
    };

    /**
     * Runs UploadPart(2) against `other`, which starts `ticks` microtasks after the part's body is stored: its
     * commit lands before the part's, in the same batch after it, or in the next one (while the part's batch is
     * still being written). Either may fail with MP_NO_SUCH_UPLOAD.
     */
    const race = async (up: UploadRecord, ticks: number, other: () => Promise<unknown>): Promise<void> => {
      let rival: Promise<unknown> | undefined;
      const part = mp.uploadPart(up, 2, bodyOf(randomBytes(64)), {
        beforeCommit: () => {
          rival = (async () => {
            for (let i = 0; i < ticks; i++) await Promise.resolve();
            return other();
          })();
        },
      });
      const rivalDone = (async () => {
        await part.catch(() => undefined);
        return rival;
      })();
      const results = await Promise.allSettled([part, rivalDone]);
      for (const r of results) {
        if (r.status === 'rejected') assert.equal((r.reason as { code?: string }).code, 'MP_NO_SUCH_UPLOAD');
      }
    };

    it('should leave no orphan part when UploadPart races AbortMultipartUpload (50 runs)', async () => {
      for (let run = 0; run < 50; run++) {
        const up = await create(`race-abort-${run}`);
        await mp.uploadPart(up, 1, bodyOf(randomBytes(64)));
        await race(up, run % 10, () => mp.abort('b', up.key, up.uploadId));
        await assertNoLeak();
      }
    });

    it('should leave no orphan part when UploadPart races CompleteMultipartUpload (50 runs)', async () => {
      for (let run = 0; run < 50; run++) {
        const up = await create(`race-complete-${run}`);
        const one = await mp.uploadPart(up, 1, bodyOf(randomBytes(64)));
        await race(up, run % 10, () => mp.complete('b', up.key, up.uploadId, [{ partNumber: 1, etag: one.etag }]));
        await assertNoLeak();
        await store.deleteObject('b', up.key);
      }
      await assertNoLeak();
    });

    it('should remove in its sweep a part record whose upload record is gone', async () => {
      const up = await create('orphaned');
      const part = await mp.uploadPart(up, 1, bodyOf(randomBytes(1000)));
      // What a crash or an older version could leave: the upload record gone, its part and reference kept.
      await store.transaction((tx) => tx.deleteRecord(MULTIPART_NAMESPACES.uploads, `b\x00orphaned\x00${up.uploadId}`));
      const young = await create('young');
      const kept = await mp.uploadPart(young, 1, bodyOf(randomBytes(10)));
      assert.ok((await blobFiles(dir)).includes(part.segment.blobId));
      assert.deepEqual(await mp.sweep(), { aborted: 0, orphanParts: 1 });
      const left = await store.listRecords<PartRecord>(MULTIPART_NAMESPACES.parts);
      assert.deepEqual(
        left.map((p) => p.segment.blobId),
        [kept.segment.blobId],
      );
      await assertNoLeak();
      assert.equal((await blobFiles(dir)).includes(part.segment.blobId), false);
      assert.deepEqual(await mp.sweep(), { aborted: 0, orphanParts: 0 });
      await mp.abort('b', 'young', young.uploadId);
    });
  });

  describe('hasUploads', () => {
    it('should keep DeleteBucket from deleting a bucket with uploads', async () => {
      const up = await create();
      await assert.rejects(
        store.deleteBucket('b', { inUse: (tx) => MultipartStore.hasUploads(tx, 'b') }),
        (e: { code: string }) => e.code === 'BLOB_BUCKET_NOT_EMPTY',
      );
      await mp.abort('b', 'k', up.uploadId);
    });
  });
});
