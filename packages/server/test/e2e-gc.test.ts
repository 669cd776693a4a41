/**
 * `coffer gc` on a real data directory (LevelDB, chunk files): a full compare of the chunk files against the
 * metadata. Files nothing refers to are deleted (listed only with --dry-run; kept while younger than --grace);
 * files that records refer to but that are gone are reported with their objects, and the exit code is 2.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { patternBytes } from './helpers/assert.ts';
import { blobFiles, blobPath } from './helpers/blobs.ts';
import { objectPath, signedSend } from './helpers/http.ts';
import { makeTempDir, runCli, startServer, type RunningServer } from './helpers/server.ts';

const BUCKET = 'gc-bucket';

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('coffer gc', () => {
  let dataDir: string;
  let creds: { accessKey: string; secretKey: string };
  /** The blob id of each file-backed object. */
  const blobOf = new Map<string, string>();
  const bodies = new Map<string, Buffer>();
  let uploadId: string;
  let partBlob: string;

  /** Runs the server on the data directory for `fn`, then stops it (gc works on a stopped data directory). */
  async function withServer<T>(fn: (s: RunningServer) => Promise<T>): Promise<T> {
    const s = await startServer({ dataDir, ...creds });
    try {
      return await fn(s);
    } finally {
      await s.stop();
    }
  }

  /** The one blob file a step added. */
  async function newBlob(step: () => Promise<void>): Promise<string> {
    const before = new Set(await blobFiles(dataDir));
    await step();
    const added = (await blobFiles(dataDir)).filter((id) => !before.has(id));
    assert.equal(added.length, 1, `one new blob file, got ${added.join(', ')}`);
    return added[0]!;
  }

  before(async () => {
    dataDir = await makeTempDir('coffer-gc-');
    creds = { accessKey: 'AKGCTEST0000000001', secretKey: randomBytes(30).toString('base64url') };
    await withServer(async (s) => {
      assert.equal((await signedSend(s, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
      for (const key of ['big/one', 'big/two', 'small']) {
        const body = patternBytes(key === 'small' ? 100 : 300_000, key);
        bodies.set(key, body);
        const put = async () => {
          const r = await signedSend(s, { method: 'PUT', path: objectPath(BUCKET, key), body });
          assert.equal(r.status, 200, r.text);
        };
        if (key === 'small')
          await put(); // inline: in the metadata, no file
        else blobOf.set(key, await newBlob(put));
      }
      const init = await signedSend(s, { method: 'POST', path: objectPath(BUCKET, 'mp'), query: { uploads: '' } });
      uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)![1]!;
      partBlob = await newBlob(async () => {
        const r = await signedSend(s, {
          method: 'PUT',
          path: objectPath(BUCKET, 'mp'),
          query: { partNumber: '1', uploadId },
          body: patternBytes(200_000, 'part'),
        });
        assert.equal(r.status, 200, r.text);
      });
    });
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const gc = (...args: string[]) => runCli(['gc', '--data', dataDir, ...args]);

  it('should find nothing to do in a consistent data directory and exit 0', async () => {
    const files = await blobFiles(dataDir);
    const r = await gc();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^3 blobs \(\d+ bytes\): 3 referenced, 0 on the garbage list, 0 younger than the grace, 0 unreferenced deleted \(0 bytes\), 0 released blobs deleted, 0 temp files deleted; 0 missing$/m,
    );
    assert.deepEqual(await blobFiles(dataDir), files);
    // Progress on stderr: plain lines when it is not a terminal (a bar of the listing against what to expect).
    assert.match(r.stderr, /^gc: listing data \[[^\]\n]*\] 3\/3$/m);
  });

  it('should list an unreferenced chunk file and delete nothing with --dry-run', async () => {
    const orphan = randomBytes(16).toString('hex');
    await mkdir(dirname(blobPath(dataDir, orphan)), { recursive: true });
    await writeFile(blobPath(dataDir, orphan), randomBytes(1000));
    const r = await gc('--dry-run');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(
      r.stdout.split('\n').filter((l) => l.startsWith('WOULD DELETE')),
      [`WOULD DELETE\t${orphan}`],
    );
    assert.match(r.stdout, /1 unreferenced would be deleted \(1000 bytes\); 0 missing$/m);
    assert.ok(await exists(blobPath(dataDir, orphan)), 'a dry run deletes nothing');

    const young = await gc('--dry-run', '--grace', '3600');
    assert.equal(young.code, 0, young.stdout + young.stderr);
    assert.match(young.stdout, /1 younger than the grace, 0 unreferenced would be deleted/);

    const real = await gc();
    assert.equal(real.code, 0, real.stdout + real.stderr);
    assert.deepEqual(
      real.stdout.split('\n').filter((l) => l.startsWith('DELETED')),
      [`DELETED\t${orphan}`],
    );
    assert.equal(await exists(blobPath(dataDir, orphan)), false);
    assert.deepEqual(await blobFiles(dataDir), [...blobOf.values(), partBlob].sort());
  });

  it('should keep every object and upload part readable', async () => {
    await withServer(async (s) => {
      for (const [key, body] of bodies) {
        const r = await signedSend(s, { method: 'GET', path: objectPath(BUCKET, key) });
        assert.equal(r.status, 200, key);
        assert.ok(r.body.equals(body), key);
      }
      const parts = await signedSend(s, { method: 'GET', path: objectPath(BUCKET, 'mp'), query: { uploadId } });
      assert.equal(parts.status, 200, parts.text);
      assert.match(parts.text, /<PartNumber>1<\/PartNumber>/);
    });
  });

  it('should report a missing chunk file with the object that uses it and exit 2', async () => {
    const lost = blobOf.get('big/two')!;
    await rm(blobPath(dataDir, lost));
    for (const args of [['--dry-run'], []]) {
      const r = await gc(...args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.deepEqual(
        r.stdout.split('\n').filter((l) => l.startsWith('MISSING')),
        [`MISSING\t${lost}\t${BUCKET}/big/two`],
      );
      assert.match(r.stdout, /^2 blobs \(\d+ bytes\): 2 referenced, .*; 1 missing$/m);
    }
    assert.deepEqual(await blobFiles(dataDir), [blobOf.get('big/one')!, partBlob].sort(), 'nothing else deleted');
  });

  it('should report a missing part file as an upload part', async () => {
    await rm(blobPath(dataDir, partBlob));
    const r = await gc('--dry-run');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stdout.includes(`MISSING\t${partBlob}\t(a multipart upload part)\n`), r.stdout);
  });
});
