/**
 * kill -9 during maintenance: in the middle of the sweep of orphaned files (`COFFER_TEST_CRASH_AT=sweep-unlink:N`,
 * the sweep about to remove its N-th file), and in the middle of `coffer keys rotate` (killed after the first batch
 * of re-wrapped data keys was written, or after the new key was added but before the rotation was recorded). After
 * each: `coffer scrub` exits 0, every object is there byte-exact, no orphaned file is left, and a rotation that was
 * cut short is finished by the next `keys rotate`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { patternBytes } from '../helpers/assert.ts';
import { objectPath, signedSend } from '../helpers/http.ts';
import { CrashRig } from './crash-rig.ts';

/** More SSE-S3 objects than one re-wrap batch (100), so that a rotation can be cut between batches. */
const OBJECTS = 130;

describe('kill -9 during the sweep and during keys rotate', { timeout: 300_000 }, () => {
  let rig: CrashRig;

  before(async () => {
    rig = await CrashRig.create();
    await rig.withServer(async (s) => {
      for (let i = 0; i < OBJECTS; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, j) => {
            const key = `o/${String(i + j).padStart(3, '0')}`;
            return rig.put(s, key, patternBytes((i + j) % 3 === 0 ? 150_000 : 500 + i + j, key));
          }),
        );
      }
    });
  });
  after(() => rig?.dispose());

  const keyIds = async (): Promise<{ ids: string[]; active: string }> => {
    const ring = await rig.keyRing();
    return { ids: ring.ids(), active: ring.activeId };
  };

  it('should finish a sweep that was killed while removing orphaned files', async () => {
    // Orphans: the blob file of a PUT killed before its commit, a stray temp file, a blob-named file no record has.
    await rig.crashAt('blob-stored', (s) =>
      signedSend(s, {
        method: 'PUT',
        path: objectPath(rig.bucket, 'never'),
        body: patternBytes(100_000, 'never'),
      }),
    );
    await writeFile(join(rig.dataDir, 'tmp', 'ab'.repeat(16)), 'a write cut short');
    await mkdir(join(rig.dataDir, 'blobs', 'cd', 'cd'), { recursive: true });
    await writeFile(join(rig.dataDir, 'blobs', 'cd', 'cd', 'cd'.repeat(16)), 'no record refers to this');
    const blobFiles = async () =>
      (await readdir(join(rig.dataDir, 'blobs'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
        .length;
    const before = await blobFiles();

    // The sweep removes the temp file first, then is killed before its first blob file.
    const cut = await rig.cli(['scrub'], 'sweep-unlink:2');
    assert.equal(cut.signal, 'SIGKILL', `${cut.code} ${cut.stdout}${cut.stderr}`);
    assert.deepEqual(await readdir(join(rig.dataDir, 'tmp')), []);
    assert.equal(await blobFiles(), before, 'both orphaned blob files are still there');

    await rig.recovered('after the cut sweep');
  });

  it('should keep every object readable when keys rotate is killed between re-wrap batches, and resume', async () => {
    const first = await keyIds();
    // Batches 1 and 2 add the key to the ring in the metadata and make it active, batch 3 records the rotation,
    // batch 4 re-wraps the first 100 data keys: killed right after it is written.
    const cut = await rig.cli(['keys', 'rotate'], 'batch-after:4');
    assert.equal(cut.signal, 'SIGKILL', `${cut.code} ${cut.stdout}${cut.stderr}`);
    const cutRing = await keyIds();
    assert.equal(cutRing.ids.length, first.ids.length + 1);
    assert.notEqual(cutRing.active, first.active);
    await rig.recovered('rotation killed between batches');

    const resumed = await rig.cli(['keys', 'rotate']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const [total, rest] = [rig.acked.size, rig.acked.size - 100];
    assert.match(
      resumed.stdout,
      new RegExp(`^resumed rotation to ${cutRing.active}: ${rest} data keys re-wrapped, ${total} objects`, 'm'),
    );
    assert.deepEqual(await keyIds(), cutRing);
    await rig.check('rotation resumed');
  });

  it('should keep every object readable when keys rotate is killed after adding its key, not recorded', async () => {
    const first = await keyIds();
    // Batches 1 and 2 add the key and make it active; killed before batch 3 records the rotation.
    const cut = await rig.cli(['keys', 'rotate'], 'batch-before:3');
    assert.equal(cut.signal, 'SIGKILL', `${cut.code} ${cut.stdout}${cut.stderr}`);
    await rig.recovered('rotation killed before its record');
    // Nothing recorded: the next run starts a rotation of its own, to a newer key, and re-wraps everything.
    const again = await rig.cli(['keys', 'rotate']);
    assert.equal(again.code, 0, again.stderr);
    const ring = await keyIds();
    assert.equal(ring.ids.length, first.ids.length + 2);
    assert.match(again.stdout, new RegExp(`^rotated to ${ring.active}: ${rig.acked.size} data keys re-wrapped`, 'm'));
    await rig.check('rotation after the cut one');
  });
});
