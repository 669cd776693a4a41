/**
 * Fault suite, property tests: random sequences of put, overwrite, copy, delete, multipart (create, upload part,
 * complete, abort) and restart (close and reopen on the same directory) against a BlobStore and its
 * MultipartStore on a real LevelDB and real files, checked after every step against a plain in-memory model:
 * the listing, each object's bytes, size and ETag, and the open uploads. ETags come from the model's own MD5s
 * (S3's rules: MD5 of the bytes; MD5 of the parts' binary MD5s, dash, part count, for a multipart object).
 *
 * fast-check prints the seed and the shrunk sequence of a failure; `COFFER_MODEL_SEED=N` replays a run.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { BlobStore, type ObjectRecord } from '@coffer/blob-store';
import { bodyOf, readAll } from '@coffer/blob-store/testing';
import { MasterKeyRing } from '@coffer/crypto';

import { MultipartStore } from '../../src/index.ts';

const BUCKET = 'b';
const OWNER = 'u1';
const MIN_PART = 5 * 1024 * 1024;
/** Few keys, so that puts overwrite, copies land on existing objects and deletes find something. */
const KEYS = ['a', 'a/b', 'b', 'k\u00e9y', 'z'];

const md5 = (b: Buffer) => createHash('md5').update(b).digest();

/** Bytes of a given size, cheap to make (a 5 MiB part must not cost a 5 MiB random draw). */
function bytes({ size, seed }: { size: number; seed: number }): Buffer {
  const block = createHash('sha256').update(String(seed)).digest();
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += block.length) block.copy(out, i);
  if (size > 0) out[size - 1] = seed & 0xff;
  return out;
}

interface ModelObject {
  data: Buffer;
  etag: string;
  /** Set for an object made by CompleteMultipartUpload (its ETag survives a copy, as S3's does). */
  multipart: boolean;
}

interface ModelUpload {
  id: string;
  key: string;
  parts: Map<number, Buffer>;
}

interface Model {
  objects: Map<string, ModelObject>;
  uploads: ModelUpload[];
}

interface Real {
  dir: string;
  keyRing: MasterKeyRing;
  store: BlobStore;
  mp: MultipartStore;
}

// Synced writes are not what this test is about (restarts are clean closes); leaving them out keeps it fast.
// Small chunks, so that objects of a few KiB already span several chunks.
const open = (r: Pick<Real, 'dir' | 'keyRing'>) =>
  BlobStore.open({ dir: r.dir, keyRing: r.keyRing, sync: false, chunkSize: 4096 });

const putOptions = { owner: OWNER, metadata: { userMeta: {} }, encryption: { scheme: 'SSE-S3' as const } };

/** UTF-8 binary order, the order of S3's listings. */
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function readObject(store: BlobStore, rec: ObjectRecord): Promise<Buffer> {
  return (await store.readInline(rec)) ?? readAll(await store.openObject(rec));
}

/** The store equals the model: listing, bytes, sizes and ETags of every object, and the open uploads. */
async function assertEqual(m: Model, r: Real): Promise<void> {
  const listed = await r.store.listObjects(BUCKET, { maxKeys: 1000 });
  assert.equal(listed.isTruncated, false);
  assert.deepEqual(
    listed.objects.map((o) => o.key),
    [...m.objects.keys()].sort(byUtf8),
    'listing',
  );
  for (const rec of listed.objects) {
    const want = m.objects.get(rec.key)!;
    assert.equal(rec.etag, want.etag, `ETag of ${rec.key}`);
    assert.equal(rec.size, want.data.length, `size of ${rec.key}`);
    const got = await r.store.getObject(BUCKET, rec.key);
    assert.equal(got?.etag, want.etag, `ETag of ${rec.key} from getObject`);
    assert.ok((await readObject(r.store, got!)).equals(want.data), `bytes of ${rec.key}`);
  }
  const uploads = await r.mp.listUploads(BUCKET, { maxUploads: 1000 });
  assert.deepEqual(uploads.uploads.map((u) => u.uploadId).sort(), m.uploads.map((u) => u.id).sort(), 'open uploads');
}

type Cmd = fc.AsyncCommand<Model, Real>;

/** Runs `step` on the store, then compares the whole store with the model. */
/** How often each step ran, and how the completions went: shown, so that a run that tests little is seen. */
const ran = new Map<string, number>();
const count = (what: string) => ran.set(what, (ran.get(what) ?? 0) + 1);

abstract class Step implements Cmd {
  abstract check(m: Readonly<Model>): boolean;
  abstract step(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
  async run(m: Model, r: Real): Promise<void> {
    count(this.constructor.name);
    await this.step(m, r);
    await assertEqual(m, r);
  }
}

class Put extends Step {
  constructor(
    readonly key: string,
    readonly body: { size: number; seed: number },
  ) {
    super();
  }
  check = () => true;
  async step(m: Model, r: Real) {
    const data = bytes(this.body);
    const rec = await r.store.putObject(BUCKET, this.key, bodyOf(data), putOptions);
    const etag = md5(data).toString('hex');
    assert.equal(rec.etag, etag);
    m.objects.set(this.key, { data, etag, multipart: false });
  }
  toString = () => `put(${this.key}, ${this.body.size})`;
}

class Copy extends Step {
  constructor(
    readonly from: number,
    readonly key: string,
  ) {
    super();
  }
  check = (m: Readonly<Model>) => m.objects.size > 0;
  async step(m: Model, r: Real) {
    const srcKey = [...m.objects.keys()].sort(byUtf8)[this.from % m.objects.size]!;
    const src = m.objects.get(srcKey)!;
    const rec = await r.store.copyObject((await r.store.getObject(BUCKET, srcKey))!, BUCKET, this.key, putOptions);
    const etag = src.multipart ? src.etag : md5(src.data).toString('hex');
    assert.equal(rec.etag, etag);
    m.objects.set(this.key, { ...src, etag });
  }
  toString = () => `copy(#${this.from}, ${this.key})`;
}

class Delete extends Step {
  constructor(readonly key: string) {
    super();
  }
  check = () => true;
  async step(m: Model, r: Real) {
    // An unversioned bucket: a delete removes the object, and says so unless there was none.
    assert.equal((await r.store.deleteObject(BUCKET, this.key)) !== undefined, m.objects.delete(this.key));
  }
  toString = () => `delete(${this.key})`;
}

class Create extends Step {
  constructor(readonly key: string) {
    super();
  }
  check = () => true;
  async step(m: Model, r: Real) {
    const up = await r.mp.create(BUCKET, this.key, putOptions);
    m.uploads.push({ id: up.uploadId, key: this.key, parts: new Map() });
  }
  toString = () => `create(${this.key})`;
}

/** The upload an index names (modulo the open ones). */
const uploadAt = (m: Readonly<Model>, i: number) => m.uploads[i % m.uploads.length]!;

class UploadPart extends Step {
  constructor(
    readonly upload: number,
    readonly partNumber: number,
    readonly body: { size: number; seed: number },
  ) {
    super();
  }
  check = (m: Readonly<Model>) => m.uploads.length > 0;
  async step(m: Model, r: Real) {
    const u = uploadAt(m, this.upload);
    const data = bytes(this.body);
    const part = await r.mp.uploadPart(await r.mp.getUpload(BUCKET, u.key, u.id), this.partNumber, bodyOf(data));
    assert.equal(part.etag, md5(data).toString('hex'));
    u.parts.set(this.partNumber, data);
  }
  toString = () => `uploadPart(#${this.upload}, ${this.partNumber}, ${this.body.size})`;
}

class Complete extends Step {
  /** `pick`: a bit mask over the uploaded part numbers (in order) of the parts to list; -1 lists them all. */
  constructor(
    readonly upload: number,
    readonly pick: number,
  ) {
    super();
  }
  check = (m: Readonly<Model>) => m.uploads.length > 0;
  async step(m: Model, r: Real) {
    const u = uploadAt(m, this.upload);
    const numbers = [...u.parts.keys()].sort((a, b) => a - b).filter((_, i) => (this.pick >> i) & 1);
    const requested = numbers.map((n) => ({ partNumber: n, etag: md5(u.parts.get(n)!).toString('hex') }));
    const parts = numbers.map((n) => u.parts.get(n)!);
    // S3's rules: at least one part, and every part but the last at least 5 MiB.
    const refusal =
      parts.length === 0
        ? 'MP_NO_PARTS'
        : parts.slice(0, -1).some((p) => p.length < MIN_PART)
          ? 'MP_ENTITY_TOO_SMALL'
          : undefined;
    const done = r.mp.complete(BUCKET, u.key, u.id, requested);
    if (refusal) {
      await assert.rejects(done, (e: { code?: string }) => e.code === refusal);
      count(refusal);
      return;
    }
    const rec = await done;
    count(`completed with ${parts.length > 1 ? 'several parts' : 'one part'}`);
    const etag = `${md5(Buffer.concat(parts.map(md5))).toString('hex')}-${parts.length}`;
    assert.equal(rec.etag, etag);
    m.objects.set(u.key, { data: Buffer.concat(parts), etag, multipart: true });
    m.uploads.splice(m.uploads.indexOf(u), 1);
  }
  toString = () => `complete(#${this.upload}, ${this.pick.toString(2)})`;
}

class Abort extends Step {
  constructor(readonly upload: number) {
    super();
  }
  check = (m: Readonly<Model>) => m.uploads.length > 0;
  async step(m: Model, r: Real) {
    const u = uploadAt(m, this.upload);
    await r.mp.abort(BUCKET, u.key, u.id);
    m.uploads.splice(m.uploads.indexOf(u), 1);
  }
  toString = () => `abort(#${this.upload})`;
}

class Restart extends Step {
  check = () => true;
  async step(_: Model, r: Real) {
    await r.mp.stop();
    await r.store.close();
    r.store = await open(r);
    r.mp = new MultipartStore(r.store);
  }
  toString = () => 'restart';
}

const key = fc.constantFrom(...KEYS);
/** Mostly small bodies (stored inline), some past the 64 KiB inline limit (stored in files, several chunks). */
const body = fc.record({
  size: fc.oneof(
    { weight: 6, arbitrary: fc.nat(3000) },
    { weight: 1, arbitrary: fc.constantFrom(65536, 65537, 100_000) },
  ),
  seed: fc.nat(),
});
/** Parts: mostly small; sometimes exactly the 5 MiB minimum, so that multi-part completions can succeed. */
const partBody = fc.record({
  size: fc.oneof({ weight: 2, arbitrary: fc.nat(3000) }, { weight: 1, arbitrary: fc.constant(MIN_PART) }),
  seed: fc.nat(),
});

const uploadPart = fc
  .tuple(fc.nat(), fc.integer({ min: 1, max: 4 }), partBody)
  .map(([u, n, b]) => new UploadPart(u, n, b));
const complete = fc.tuple(fc.nat(), fc.oneof(fc.constant(-1), fc.nat(15))).map(([u, pick]) => new Complete(u, pick));
/** Multipart steps are drawn more often: an upload needs several of them before it completes. */
const commands = [
  fc.tuple(key, body).map(([k, b]) => new Put(k, b)),
  fc.tuple(fc.nat(), key).map(([i, k]) => new Copy(i, k)),
  key.map((k) => new Delete(k)),
  key.map((k) => new Create(k)),
  uploadPart,
  uploadPart,
  uploadPart,
  complete,
  complete,
  fc.nat().map((u) => new Abort(u)),
  fc.constant(new Restart()),
];

describe('BlobStore and MultipartStore against an in-memory model', () => {
  const title = 'should equal the model after every step of random put/copy/delete/multipart/restart sequences';
  it(title, { timeout: 120_000 }, async (t) => {
    const seed = process.env.COFFER_MODEL_SEED === undefined ? undefined : Number(process.env.COFFER_MODEL_SEED);
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30, size: 'max' }), async (cmds) => {
        const dir = await mkdtemp(path.join(tmpdir(), 'coffer-model-'));
        const keyRing = MasterKeyRing.fromKey(randomBytes(32));
        const store = await open({ dir, keyRing });
        const real: Real = { dir, keyRing, store, mp: new MultipartStore(store) };
        try {
          await real.store.createBucket(BUCKET, OWNER);
          await fc.asyncModelRun(() => ({ model: { objects: new Map(), uploads: [] }, real }), cmds);
        } finally {
          await real.mp.stop();
          await real.store.close();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 50, seed, verbose: true },
    );
    t.diagnostic([...ran].map(([k, n]) => `${k} ×${n}`).join(', '));
  });
});
