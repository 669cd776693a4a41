/**
 * The garbage list and its sweep (released blob files kept until their not-before time), the full compare of
 * blob files against the metadata (`gc`), and the options that drive them; on a real LevelDB and real files.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';

import { MasterKeyRing } from '@coffer/crypto';

import { BlobStore, type BlobStoreOptions, type PutOptions } from '../src/index.ts';
import { bodyOf, readAll } from '../src/testing.ts';

const PUT: PutOptions = { owner: 'u1', metadata: { userMeta: {} }, encryption: { scheme: 'SSE-S3' } };
const DELAY = 60_000;

let root: string;
let keyRing: MasterKeyRing;
const open: BlobStore[] = [];

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'coffer-blob-garbage-'));
  keyRing = await MasterKeyRing.open({ dir: path.join(root, 'keys') });
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A store on a fresh data directory (or `dir`), with a bucket `b` when fresh. */
async function openStore(extra: Partial<BlobStoreOptions> = {}, dir?: string): Promise<BlobStore> {
  const d = dir ?? (await mkdtemp(path.join(root, 'd-')));
  const store = await BlobStore.open({ dir: d, keyRing, inlineMax: 0, ...extra });
  open.push(store);
  if (dir === undefined) await store.createBucket('b', 'u1');
  return store;
}

const blobPath = (store: BlobStore, id: string) => path.join(store.dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id);
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Puts `key` and returns its blob id and body. */
async function put(store: BlobStore, key: string, size = 100_000): Promise<{ blobId: string; body: Buffer }> {
  const body = randomBytes(size);
  const rec = await store.putObject('b', key, bodyOf(body), PUT);
  return { blobId: rec.segments[0]!.blobId, body };
}

describe('the garbage list (garbageDelayMs)', () => {
  it('should keep the file of an overwritten object until its time, then collect it', async () => {
    const store = await openStore({ garbageDelayMs: DELAY });
    const old = await put(store, 'k');
    const rec = await store.getObject('b', 'k');
    await put(store, 'k');
    assert.ok(await exists(blobPath(store, old.blobId)), 'the replaced file stays for readers');
    // A reader that got the old record before the overwrite reads it whole.
    assert.ok((await readAll(await store.openObject(rec!))).equals(old.body));

    assert.deepEqual(await store.collectGarbage(), { removed: 0, pending: 1 });
    assert.ok(await exists(blobPath(store, old.blobId)), 'not due yet');
    assert.deepEqual(await store.collectGarbage({ now: Date.now() + DELAY + 1000 }), { removed: 1, pending: 0 });
    assert.equal(await exists(blobPath(store, old.blobId)), false);
    assert.deepEqual(await store.collectGarbage({ now: Date.now() + DELAY + 1000 }), { removed: 0, pending: 0 });
  });

  it('should put the file of a deleted object on the list too', async () => {
    const store = await openStore({ garbageDelayMs: DELAY });
    const { blobId } = await put(store, 'gone');
    assert.deepEqual(await store.deleteObject('b', 'gone'), { deleteMarker: false });
    assert.ok(await exists(blobPath(store, blobId)));
    assert.deepEqual(await store.collectGarbage({ now: Date.now() + DELAY + 1000 }), { removed: 1, pending: 0 });
    assert.equal(await exists(blobPath(store, blobId)), false);
  });

  it("should keep every version's file while the version lives, and list it when the version is deleted", async () => {
    const store = await openStore({ garbageDelayMs: DELAY });
    await store.updateBucket('b', { versioning: 'Enabled' });
    const first = await put(store, 'v');
    const second = await put(store, 'v');
    const marker = await store.deleteObject('b', 'v');
    assert.equal(marker?.deleteMarker, true);
    // Overwritten and hidden by a marker, both versions still refer to their files: nothing was released.
    assert.deepEqual(await store.collectGarbage({ now: Date.now() + DELAY + 1000 }), { removed: 0, pending: 0 });
    const versions = (await store.listObjectVersions('b', { maxKeys: 10 })).versions;
    const idOf = (blobId: string) =>
      versions.find((e) => !e.rec.deleteMarker && e.rec.segments[0]!.blobId === blobId)!.rec.versionId;
    const gone = await store.deleteObject('b', 'v', { versionId: idOf(first.blobId) });
    assert.deepEqual(gone, { versionId: idOf(first.blobId), deleteMarker: false });
    assert.ok(await exists(blobPath(store, first.blobId)), "the deleted version's file stays for readers");
    assert.deepEqual(await store.collectGarbage(), { removed: 0, pending: 1 });
    assert.deepEqual(await store.collectGarbage({ now: Date.now() + DELAY + 1000 }), { removed: 1, pending: 0 });
    assert.equal(await exists(blobPath(store, first.blobId)), false);
    assert.ok(await exists(blobPath(store, second.blobId)), 'the other version keeps its file');
  });

  it('should not let the orphan sweep take a file on the list, at open or later', async () => {
    const store = await openStore({ garbageDelayMs: DELAY });
    const { blobId } = await put(store, 'k');
    await put(store, 'k');
    assert.deepEqual(await store.sweep(), { tmpFiles: 0, blobFiles: 0 });
    const dir = store.dir;
    await store.close();
    const again = await openStore({ garbageDelayMs: DELAY }, dir);
    assert.ok(await exists(blobPath(again, blobId)), 'the sweep at open left it');
    assert.deepEqual(await again.collectGarbage(), { removed: 0, pending: 1 });
  });

  it('should free a replaced file at once with no delay (one node: the default)', async () => {
    const store = await openStore();
    const { blobId } = await put(store, 'k');
    await put(store, 'k');
    // The unlink follows the commit; the sweep waits for the store's own operations, then finds nothing.
    await store.sweep();
    assert.equal(await exists(blobPath(store, blobId)), false);
    assert.deepEqual(await store.collectGarbage(), { removed: 0, pending: 0 });
  });
});

describe('gc (the full compare)', () => {
  it('should delete an unreferenced file, count listed and young ones, and report a missing one', async () => {
    const store = await openStore({ garbageDelayMs: DELAY, sweepAtOpen: false });
    const live = await put(store, 'live');
    const lost = await put(store, 'lost');
    const old = await put(store, 'over');
    await put(store, 'over'); // `old` goes on the garbage list
    const orphan = randomBytes(16).toString('hex');
    await mkdir(path.dirname(blobPath(store, orphan)), { recursive: true });
    await writeFile(blobPath(store, orphan), randomBytes(500));
    await rm(blobPath(store, lost.blobId));

    const dry = await store.gc({ dryRun: true });
    assert.deepEqual(dry.removed, [orphan]);
    assert.equal(dry.removedBytes, 500);
    assert.equal(dry.garbage, 1);
    assert.equal(dry.referenced, 3); // live, lost, the new `over`
    assert.deepEqual(dry.missing, [{ blobId: lost.blobId, objects: [{ bucket: 'b', key: 'lost' }] }]);
    assert.ok(await exists(blobPath(store, orphan)), 'a dry run deletes nothing');

    const young = await store.gc({ dryRun: true, graceMs: 3_600_000 });
    assert.deepEqual(young.removed, []);
    assert.equal(young.young, 1);

    const real = await store.gc();
    assert.deepEqual(real.removed, [orphan]);
    assert.equal(await exists(blobPath(store, orphan)), false);
    assert.ok(await exists(blobPath(store, live.blobId)));
    assert.ok(await exists(blobPath(store, old.blobId)), 'the garbage sweep, not gc, deletes listed files');
  });
});

describe('sweepAtOpen', () => {
  it('should leave an unreferenced file at open when false, and sweep it by default', async () => {
    const store = await openStore();
    const dir = store.dir;
    const orphan = randomBytes(16).toString('hex');
    await mkdir(path.dirname(blobPath(store, orphan)), { recursive: true });
    await writeFile(blobPath(store, orphan), 'x');
    await store.close();
    await (await openStore({ sweepAtOpen: false }, dir)).close();
    assert.ok(await exists(blobPath(store, orphan)));
    await openStore({}, dir);
    assert.equal(await exists(blobPath(store, orphan)), false);
  });
});

describe('options', () => {
  for (const [name, value, error] of [
    ['garbageDelayMs', -1, RangeError],
    ['garbageDelayMs', 8 * 86_400_000, RangeError],
    ['garbageDelayMs', 1.5, TypeError],
    ['sweepGraceMs', 8 * 86_400_000, RangeError],
    ['sweepAtOpen', 'no', TypeError],
  ] as const) {
    it(`should refuse ${name}: ${value}`, async () => {
      await assert.rejects(
        BlobStore.open({ dir: path.join(root, 'never'), keyRing, [name]: value } as BlobStoreOptions),
        (err: Error) => err instanceof error && err.message.startsWith(`options.${name} must`),
      );
    });
  }
});
