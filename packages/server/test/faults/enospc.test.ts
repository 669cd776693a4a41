/**
 * Fault suite, ENOSPC family: the data directory on a real, small tmpfs that the test mounts (as root; CI runs as
 * root) and fills. A full disk must never cost an acknowledged write (every 2xx PUT reads back byte-exact after a
 * SIGTERM and a restart, every 2xx DELETE stays deleted, no ghosts, `coffer scrub` passes); new data is refused with
 * 507 XCofferStorageFull before the disk is full, while deletes and aborts still free space; and a log on the full
 * file system holds up no request and no shutdown. Last, a disk that does not answer (a frozen, loop-mounted ext4):
 * a commit waits a bounded time (BLOB_UNAVAILABLE), and the store takes commits again once the write lands.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open, readdir, rm, statfs, truncate, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BlobStore } from '@coffer/blob-store';
import { MasterKeyRing } from '@coffer/crypto';
import { makeTempDir, runCli, runProcess, startServer, type RunningServer } from '../helpers/server.ts';
import { assertS3Error, objectPath, signedSend, type HttpResult } from '../helpers/http.ts';
import { md5b64, patternBytes, sleep } from '../helpers/assert.ts';

const MiB = 1024 * 1024;
const BUCKET = 'full-disk';
const FULL_MESSAGE =
  'Storage backend has reached its minimum free space threshold. Please delete a few objects to proceed.';

/** Mounts a tmpfs of `size` (e.g. `32m`) on a fresh directory; throws with mount's output if it cannot. */
async function mountTmpfs(size: string): Promise<string> {
  const dir = await makeTempDir('coffer-enospc-');
  const options = `size=${size},mode=0700`;
  const r = await runProcess('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { timeoutMs: 10_000 });
  if (r.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`mount -t tmpfs failed (the ENOSPC tests need root): ${r.stderr}`);
  }
  return dir;
}

/** Unmounts (lazily, so a process still holding a file cannot keep it) and removes the mount point. */
async function unmount(dir: string | undefined): Promise<void> {
  if (!dir) return;
  await runProcess('umount', ['-l', dir], { timeoutMs: 10_000 });
  await rm(dir, { recursive: true, force: true });
}

/** Fills the file system holding `path` with a file there, in 4 KiB pages, until ENOSPC; returns its size. */
async function fill(path: string): Promise<number> {
  const fh = await open(path, 'a');
  const page = Buffer.alloc(4096, 0x5a);
  const big = Buffer.alloc(MiB, 0x5a);
  let size = 0;
  try {
    for (const buf of [big, page]) {
      for (;;) {
        try {
          const { bytesWritten } = await fh.write(buf);
          size += bytesWritten;
          if (bytesWritten < buf.length) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    await fh.close();
  }
  return size;
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

const put = (s: RunningServer, key: string, body: Buffer, headers: Record<string, string> = {}) =>
  signedSend(s, { method: 'PUT', path: objectPath(BUCKET, key), body, headers });
const del = (s: RunningServer, key: string) => signedSend(s, { method: 'DELETE', path: objectPath(BUCKET, key) });
const get = (s: RunningServer, key: string) => signedSend(s, { method: 'GET', path: objectPath(BUCKET, key) });

/** Every key of the bucket (ListObjectsV2, all pages). */
async function listKeys(s: RunningServer): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  for (;;) {
    const query: Record<string, string> = { 'list-type': '2', ...(token ? { 'continuation-token': token } : {}) };
    const r = await signedSend(s, { method: 'GET', path: `/${BUCKET}`, query });
    assert.equal(r.status, 200, r.text);
    for (const m of r.text.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(m[1]!);
    token = /<NextContinuationToken>([^<]*)</.exec(r.text)?.[1];
    if (!token) return keys;
  }
}

/** A full disk answers 507 (the reserve, or ENOSPC) or 503 (writes stopped until the database is reopened). */
function assertRefused(r: HttpResult, what: string): void {
  const ctx = `${what}: expected 507 or 503, got ${r.status}: ${r.text.slice(0, 300)}`;
  assert.ok(r.status === 507 || r.status === 503, ctx);
  assertS3Error(r, r.status, r.status === 507 ? 'XCofferStorageFull' : 'ServiceUnavailable');
}

describe('ENOSPC with no reserve: the disk really fills, under the blob files and under LevelDB', () => {
  let mnt: string | undefined;
  let server: RunningServer | undefined;
  let dataDir: string;
  const args = ['--min-free-space', '0'];

  before(async () => {
    mnt = await mountTmpfs('32m');
    dataDir = join(mnt, 'data');
    await mkdir(dataDir);
    server = await startServer({ dataDir, args });
    assert.equal((await signedSend(server, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
  });
  after(async () => {
    await server?.stop();
    await unmount(mnt);
  });

  it('should fail a blob write that hits ENOSPC with 507, leaving no object, temp file or blob file', async () => {
    const blobsBefore = await blobFiles(dataDir);
    const filler = join(mnt!, 'filler');
    const size = await fill(filler);
    assert.equal(await freeBytes(mnt!), 0);
    // 256 pages free, and a body 100 bytes short of them: it passes the (zero) reserve, but its chunk file, 1 MiB
    // plus the chunks' tags, does not fit.
    await truncate(filler, size - MiB);
    try {
      const r = await put(server!, 'no-room', patternBytes(MiB - 100, 'no-room'));
      assert.equal(assertS3Error(r, 507, 'XCofferStorageFull')['Message'], FULL_MESSAGE);
      assert.equal((await get(server!, 'no-room')).status, 404);
      assert.deepEqual(await readdir(join(dataDir, 'tmp')), []);
      assert.deepEqual(await blobFiles(dataDir), blobsBefore);
    } finally {
      await rm(filler);
    }
  });

  it('should keep every 2xx PUT and DELETE across a SIGTERM and restart, with no ghosts, and scrub clean', async () => {
    /** Acknowledged state: key → body of its last 2xx PUT; keys whose last 2xx was a DELETE. */
    const live = new Map<string, Buffer>();
    const deleted = new Set<string>();
    /** Keys with a write whose answer was an error: either version may be there after the restart, never a mix. */
    const unsure = new Map<string, Buffer | null>();
    const doPut = async (key: string, body: Buffer): Promise<HttpResult> => {
      const r = await put(server!, key, body);
      if (r.status === 200) {
        live.set(key, body);
        deleted.delete(key);
        unsure.delete(key);
      } else {
        unsure.set(key, body);
      }
      return r;
    };
    const doDelete = async (key: string): Promise<HttpResult> => {
      const r = await del(server!, key);
      if (r.status === 204) {
        live.delete(key);
        deleted.add(key);
        unsure.delete(key);
      } else {
        unsure.set(key, null);
      }
      return r;
    };
    // The blob write that found the disk full above has the server refuse new data until its next free-space sample.
    let ready: HttpResult | undefined;
    for (let i = 0; i < 30 && ready?.status !== 200; i++) {
      if (i > 0) await sleep(100);
      ready = await doPut('ready', Buffer.from('ready'));
    }
    assert.equal(ready!.status, 200, ready!.text);
    // Objects kept in LevelDB (up to 64 KiB) and in blob files.
    const sizes = [1, 2000, 30_000, 60_000];
    for (let i = 0; i < 60; i++) {
      assert.equal((await doPut(`before-${i}`, patternBytes(sizes[i % 4]!, `b${i}`))).status, 200);
    }
    for (let i = 0; i < 8; i++) {
      assert.equal((await doPut(`file-${i}`, patternBytes(100_000 * (i + 1), `file${i}`))).status, 200);
    }

    // Another program fills the disk to the last page. Deletes pass the reserve, and deletes of objects in LevelDB free
    // no disk space: they go on committing until LevelDB's log needs a new page.
    const filler = join(mnt!, 'filler');
    await fill(filler);
    let failed: HttpResult | undefined;
    let next = 0;
    while (next < 50 && !failed) {
      const d = await doDelete(`before-${next++}`);
      if (d.status !== 204) failed = d;
    }
    assert.ok(failed, 'a delete found the disk full under LevelDB');
    assertRefused(failed, `DELETE before-${next - 1} when LevelDB found the disk full`);
    // What follows is refused (not taken, and lost at the next restart) until the database is reopened.
    for (let i = 0; i < 6; i++) {
      assertRefused(await doDelete(`before-${next++}`), 'DELETE after the failed commit');
      assertRefused(await doPut(`full-${i}`, patternBytes(i % 2 ? 1 : 1500, `f${i}`)), 'PUT after the failed commit');
    }
    // Reads and listings go on.
    const g = await get(server!, 'before-59');
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(live.get('before-59')!));
    assert.ok((await listKeys(server!)).includes('before-59'));

    // Space comes back: writes are taken again once the store has reopened its database.
    await rm(filler);
    let probe: HttpResult | undefined;
    for (let i = 0; i < 100 && probe?.status !== 200; i++) {
      if (i > 0) await sleep(100);
      probe = await doPut('probe', patternBytes(10, 'probe'));
    }
    assert.equal(probe!.status, 200, probe!.text);
    for (let i = next; i < next + 4; i++) assert.equal((await doDelete(`before-${i}`)).status, 204);
    for (let i = 0; i < 4; i++) assert.equal((await doDelete(`file-${i}`)).status, 204);
    for (let i = 0; i < 12; i++) {
      assert.equal((await doPut(`after-${i}`, patternBytes(i % 2 ? 300_000 : 3000, `a${i}`))).status, 200);
    }
    for (let i = 0; i < 4; i++) assert.equal((await doDelete(`after-${i}`)).status, 204);

    const exit = await server!.stop({ killAfterMs: 20_000 });
    assert.deepEqual(exit, { code: 0, signal: null });

    server = await startServer({ dataDir, args });
    for (const [key, body] of live) {
      const r = await get(server!, key);
      assert.equal(r.status, 200, `acknowledged ${key} after the restart: ${r.text.slice(0, 200)}`);
      assert.ok(r.body.equals(body), `${key} reads back byte-exact`);
    }
    for (const key of deleted) {
      const head = await signedSend(server!, { method: 'HEAD', path: objectPath(BUCKET, key) });
      assert.equal(head.status, 404, `${key} stays deleted`);
    }
    for (const [key, body] of unsure) {
      const r = await get(server!, key);
      if (r.status === 404) continue;
      assert.equal(r.status, 200, `${key} (a write that failed) is there whole or not at all: ${r.text.slice(0, 200)}`);
      const versions = [live.get(key), body].filter((b): b is Buffer => b instanceof Buffer);
      assert.ok(
        versions.some((v) => r.body.equals(v)),
        `${key} reads back as one whole version`,
      );
    }
    // Listed = readable: no ghost of a delete, nothing that is not there.
    const listed = await listKeys(server!);
    for (const key of listed) assert.ok(live.has(key) || unsure.has(key), `${key} is listed, never acknowledged`);
    for (const key of live.keys()) assert.ok(listed.includes(key), `${key} is listed`);
    for (const key of deleted) assert.ok(!listed.includes(key), `${key} (deleted) is not listed`);

    assert.deepEqual(await server!.stop(), { code: 0, signal: null });
    server = undefined;
    const scrub = await runCli(['scrub', '--data', dataDir]);
    assert.equal(scrub.code, 0, scrub.stdout + scrub.stderr);
    assert.match(scrub.stdout, / 0 failures$/m);
  });
});

describe('ENOSPC: the free-space reserve', () => {
  let mnt: string | undefined;
  let server: RunningServer | undefined;
  let metricsUrl: string;
  const reserve = 12 * MiB;

  before(async () => {
    mnt = await mountTmpfs('32m');
    const dataDir = join(mnt, 'data');
    await mkdir(dataDir);
    server = await startServer({ dataDir, args: ['--min-free-space', '12MiB', '--metrics-listen', '127.0.0.1:0'] });
    metricsUrl = /coffer metrics on (http:\/\/\S+)/.exec(server.stdout())![1]!;
    assert.equal((await signedSend(server, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
  });
  after(async () => {
    await server?.stop();
    await unmount(mnt);
  });

  const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

  it('should answer 507 XCofferStorageFull before the disk is full, free space on DELETE and abort', async () => {
    const s = server!;
    // An upload begun while there was room, with a part: aborting it frees space.
    const init = await signedSend(s, { method: 'POST', path: objectPath(BUCKET, 'mp'), query: { uploads: '' } });
    assert.equal(init.status, 200, init.text);
    const uploadId = /<UploadId>([^<]+)</.exec(init.text)![1]!;
    const part = await signedSend(s, {
      method: 'PUT',
      path: objectPath(BUCKET, 'mp'),
      query: { partNumber: '1', uploadId },
      body: patternBytes(3 * MiB, 'part'),
    });
    assert.equal(part.status, 200, part.text);

    const stored: string[] = [];
    let full: HttpResult | undefined;
    for (let i = 0; i < 40; i++) {
      const r = await put(s, `big-${i}`, patternBytes(2 * MiB, `big${i}`));
      if (r.status !== 200) {
        full = r;
        break;
      }
      stored.push(`big-${i}`);
    }
    assert.ok(full, 'the reserve was reached');
    const e = assertS3Error(full, 507, 'XCofferStorageFull');
    assert.equal(e['Message'], FULL_MESSAGE);
    // Refused before 100 %: the reserve (less at most one body of the sampling delay) is still free.
    assert.ok((await freeBytes(mnt!)) >= reserve - 2 * MiB, 'refused while the reserve was still free');

    // Another program takes the disk below the reserve: all new data is refused, a 1-byte PUT (once the free-space
    // sample is renewed), a copy, a new multipart upload and a part too.
    const free0 = await freeBytes(mnt!);
    await writeFile(join(mnt!, 'filler'), Buffer.alloc(free0 - reserve / 2));
    let tiny: HttpResult | undefined;
    for (let i = 0; i < 30 && tiny?.status !== 507; i++) {
      if (i > 0) await sleep(100);
      tiny = await put(s, 'tiny', Buffer.from('x'));
    }
    assertS3Error(tiny!, 507, 'XCofferStorageFull');
    const copy = await put(s, 'copy', Buffer.alloc(0), { 'x-amz-copy-source': `/${BUCKET}/${stored[0]}` });
    assertS3Error(copy, 507, 'XCofferStorageFull');
    const create = await signedSend(s, { method: 'POST', path: objectPath(BUCKET, 'mp2'), query: { uploads: '' } });
    assertS3Error(create, 507, 'XCofferStorageFull');
    assertS3Error(
      await signedSend(s, {
        method: 'PUT',
        path: objectPath(BUCKET, 'mp'),
        query: { partNumber: '2', uploadId },
        body: patternBytes(MiB, 'part2'),
      }),
      507,
      'XCofferStorageFull',
    );
    // Reads go on.
    const g = await get(s, stored[1]!);
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(patternBytes(2 * MiB, 'big1')));

    const scraped = await (await fetch(metricsUrl)).text();
    assert.equal(metric(scraped, 'coffer_data_total_bytes'), 32 * MiB);
    assert.equal(metric(scraped, 'coffer_data_min_free_bytes'), reserve);
    const free = metric(scraped, 'coffer_data_free_bytes');
    assert.ok(free > 0 && free < reserve, `free bytes reported: ${free}`);
    assert.ok(metric(scraped, 'coffer_requests_refused_for_space_total') >= 5, 'refused requests are counted');

    // Space is freed through S3 while below the reserve: DELETE, DeleteObjects, AbortMultipartUpload.
    const before = await freeBytes(mnt!);
    assert.equal((await del(s, stored[0]!)).status, 204);
    const objects = [stored[1], stored[2]].map((k) => `<Object><Key>${k}</Key></Object>`);
    const xml = Buffer.from(`<Delete>${objects.join('')}</Delete>`);
    const multi = await signedSend(s, {
      method: 'POST',
      path: `/${BUCKET}`,
      query: { delete: '' },
      body: xml,
      headers: { 'content-md5': md5b64(xml) },
    });
    assert.equal(multi.status, 200, multi.text);
    assert.equal([...multi.text.matchAll(/<Deleted>/g)].length, 2, multi.text);
    const abort = await signedSend(s, { method: 'DELETE', path: objectPath(BUCKET, 'mp'), query: { uploadId } });
    assert.equal(abort.status, 204, abort.text);
    assert.equal((await get(s, stored[1]!)).status, 404);
    // The blob files go once their deletes commit (9 MiB: three objects and the part).
    let after = before;
    for (let i = 0; i < 50 && after - before < 9 * MiB; i++) {
      await sleep(100);
      after = await freeBytes(mnt!);
    }
    assert.ok(after - before >= 9 * MiB, `deletes freed ${after - before} bytes`);

    // With room again, new data is taken (once the free-space sample is renewed).
    let again: HttpResult | undefined;
    for (let i = 0; i < 30 && again?.status !== 200; i++) {
      if (i > 0) await sleep(100);
      again = await put(s, 'again', patternBytes(MiB, 'again'));
    }
    assert.equal(again!.status, 200, again!.text);
  });
});

/** Blob file names under DATA/blobs. */
async function blobFiles(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else out.push(e.name);
    }
  };
  await walk(join(dataDir, 'blobs'));
  return out.sort();
}

describe('ENOSPC: the log on the full file system', () => {
  let mnt: string | undefined;
  let server: RunningServer | undefined;

  before(async () => {
    mnt = await mountTmpfs('24m');
  });
  after(async () => {
    await server?.stop();
    await unmount(mnt);
  });

  it('should keep answering (GET / too) and stop on SIGTERM while its log cannot be written', async () => {
    const dataDir = join(mnt!, 'data');
    await mkdir(dataDir);
    const log = await open(join(mnt!, 'coffer.log'), 'a');
    try {
      const args = ['--min-free-space', '0', '--metrics-listen', '127.0.0.1:0'];
      server = await startServer({ dataDir, args, stderrFd: log.fd });
    } finally {
      await log.close(); // the child has its own descriptor
    }
    const s = server;
    const metricsUrl = /coffer metrics on (http:\/\/\S+)/.exec(s.stdout())![1]!;
    assert.equal((await signedSend(s, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
    const body = patternBytes(200_000, 'kept');
    assert.equal((await put(s, 'kept', body)).status, 200);

    await fill(join(mnt!, 'filler'));
    // Every request writes a log line that cannot be written (once the log file's last page is full).
    for (let i = 0; i < 60; i++) {
      const list = await signedSend(s, { method: 'GET', path: '/', timeoutMs: 10_000 });
      assert.equal(list.status, 200, list.text);
      assert.match(list.text, new RegExp(`<Name>${BUCKET}</Name>`));
    }
    assert.equal((await fetch(`${s.url}/`)).status, 403);
    const g = await get(s, 'kept');
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(body));
    assertRefused(await put(s, 'more', patternBytes(300_000, 'more')), 'PUT on a full disk');
    const scraped = await (await fetch(metricsUrl)).text();
    const dropped = Number(/^coffer_log_lines_dropped_total (\d+)$/m.exec(scraped)?.[1]);
    assert.ok(dropped >= 30, `dropped log lines are counted: ${dropped}`);

    assert.deepEqual(await s.stop({ killAfterMs: 25_000 }), { code: 0, signal: null });
    server = undefined;
  });
});

/** Makes and loop-mounts a small ext4 file system (it can be frozen, a tmpfs cannot); returns the mount point. */
async function mountExt4(sizeMiB: number): Promise<{ mnt: string; image: string }> {
  const dir = await makeTempDir('coffer-stuck-');
  const image = join(dir, 'fs.img');
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  await writeFile(image, '');
  await truncate(image, sizeMiB * MiB);
  for (const [cmd, args] of [
    ['mkfs.ext4', ['-q', '-F', image]],
    ['mount', ['-o', 'loop', image, mnt]],
  ] as const) {
    const r = await runProcess(cmd, [...args], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`${cmd} failed (the fault tests need root): ${r.stderr}`);
  }
  return { mnt, image };
}

describe('a stuck disk: a commit waits a bounded time', () => {
  let fs: { mnt: string; image: string } | undefined;
  let store: BlobStore | undefined;
  const thaw = () => runProcess('fsfreeze', ['-u', fs!.mnt], { timeoutMs: 10_000 });

  before(async () => {
    fs = await mountExt4(32);
  });
  after(async () => {
    if (!fs) return;
    await thaw();
    await store?.close();
    await runProcess('umount', ['-l', fs.mnt], { timeoutMs: 10_000 });
    await rm(join(fs.mnt, '..'), { recursive: true, force: true });
  });

  // A build without the bound waits until the thaw in `after`: the timeout makes that a failure, not a hang.
  it('should fail a commit stuck on a frozen file system, then recover', { timeout: 30_000 }, async () => {
    const dir = join(fs!.mnt, 'data');
    store = await BlobStore.open({ dir, keyRing: MasterKeyRing.fromKey(randomBytes(32)), commitTimeoutMs: 1000 });
    await store.putRecord('t', 'before', { n: 0 });
    // Every write to the file system now blocks in the kernel until it is thawed, LevelDB's log write too.
    const frozen = await runProcess('fsfreeze', ['-f', fs!.mnt], { timeoutMs: 10_000 });
    assert.equal(frozen.code, 0, frozen.stderr);
    try {
      await assert.rejects(store.putRecord('t', 'stuck', { n: 1 }), { code: 'BLOB_UNAVAILABLE' });
      assert.equal(store.recovering, true);
      // No more commits are taken while that one is in doubt; reads go on.
      await assert.rejects(store.putRecord('t', 'next', { n: 2 }), { code: 'BLOB_UNAVAILABLE' });
      assert.deepEqual(await store.getRecord('t', 'before'), { n: 0 });
    } finally {
      assert.equal((await thaw()).code, 0);
    }
    // The stuck write lands after all: the store takes commits again, without a reopen.
    for (let i = 0; i < 100 && store.recovering; i++) await sleep(50);
    assert.equal(store.recovering, false);
    assert.deepEqual(await store.getRecord('t', 'stuck'), { n: 1 });
    await store.putRecord('t', 'after', { n: 3 });
    assert.deepEqual(await store.getRecord('t', 'after'), { n: 3 });
  });
});
