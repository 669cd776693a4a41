/**
 * A crash at any moment: the server process is killed with SIGKILL at a random moment in the middle of concurrent
 * PUTs (inline and file-backed), overwrites, deletes and multipart uploads, five times, each followed by `coffer scrub`
 * (exit 0, no failure) and a restart on the same data directory. Every acknowledged write must be there, byte-exact;
 * every write that was in flight is either wholly there or absent; listings show exactly the readable objects; the
 * restart leaves no temp file and no unreferenced blob file; and `coffer scrub` finds every object intact. (SIGKILL
 * loses no page cache, so this shows atomicity and recovery, not what fsync buys against a power cut.)
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, runCli, type RunningServer } from './helpers/server.ts';
import { objectPath, signedSend, type HttpResult } from './helpers/http.ts';
import { patternBytes, sleep } from './helpers/assert.ts';

const BUCKET = 'crash-bucket';
const MiB = 1024 * 1024;
/** Crashes, each at a random moment under load. */
const ROUNDS = 5;
/** Sizes on both sides of the store's inline limit (64 KiB): empty, inline, file-backed. */
const SIZES = [0, 1000, 4096, 100_000, 1_500_000];

/** What the client knows of one key: the versions whose writes were acknowledged or were in flight at the crash. */
interface KeyState {
  /** Body of the last acknowledged write, or null when the last acknowledged operation was a delete / none. */
  acked: Buffer | null;
  /** Bodies (or null for a delete) sent after `acked` whose answer never came. */
  inFlight: (Buffer | null)[];
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('a crash at any moment (SIGKILL under load, then restart)', () => {
  let server: RunningServer;
  const keys = new Map<string, KeyState>();

  before(async () => {
    server = await startServer();
    const r = await signedSend(server, { method: 'PUT', path: `/${BUCKET}` });
    assert.equal(r.status, 200, r.text);
  });
  after(async () => {
    await server?.stop({ removeDir: true });
  });

  const state = (key: string): KeyState => {
    let s = keys.get(key);
    if (!s) {
      s = { acked: null, inFlight: [] };
      keys.set(key, s);
    }
    return s;
  };

  /** Runs one write; records it as in flight until its answer, then as acknowledged (2xx) or as never applied. */
  async function write(key: string, body: Buffer | null, send: () => Promise<HttpResult>): Promise<boolean> {
    const s = state(key);
    s.inFlight.push(body);
    let r: HttpResult;
    try {
      r = await send();
    } catch {
      return false; // the connection died with the server: stays "in flight"
    }
    s.inFlight.splice(s.inFlight.indexOf(body), 1);
    assert.ok(r.status >= 200 && r.status < 300, `${key}: ${r.status} ${r.text.slice(0, 300)}`);
    s.acked = body;
    return true;
  }

  const put = (key: string, body: Buffer) =>
    write(key, body, () => signedSend(server, { method: 'PUT', path: objectPath(BUCKET, key), body }));
  const del = (key: string) =>
    write(key, null, () => signedSend(server, { method: 'DELETE', path: objectPath(BUCKET, key) }));

  /** A two-part multipart upload (5 MiB + a tail); only the Complete is tracked as the write. */
  async function multipart(key: string, body: Buffer): Promise<boolean> {
    try {
      const init = await signedSend(server, { method: 'POST', path: objectPath(BUCKET, key), query: { uploads: '' } });
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)?.[1];
      assert.ok(uploadId, init.text);
      const etags: string[] = [];
      for (const [n, part] of [
        [1, body.subarray(0, 5 * MiB)],
        [2, body.subarray(5 * MiB)],
      ] as const) {
        const r = await signedSend(server, {
          method: 'PUT',
          path: objectPath(BUCKET, key),
          query: { partNumber: String(n), uploadId },
          body: part,
        });
        assert.equal(r.status, 200, r.text);
        etags.push(String(r.headers.etag));
      }
      const xml = Buffer.from(
        `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
      );
      return await write(key, body, async () => {
        const r = await signedSend(server, {
          method: 'POST',
          path: objectPath(BUCKET, key),
          query: { uploadId },
          body: xml,
        });
        // A Complete can fail inside a 200 (S3's rule); count only a real result as acknowledged.
        if (!r.text.includes('<CompleteMultipartUploadResult')) return { ...r, status: 500 };
        return r;
      });
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      return false;
    }
  }

  /** Load from several workers until the server dies; `round` keeps keys and bodies distinct between rounds. */
  function load(round: number): Promise<unknown> {
    let alive = true;
    const worker = async (fn: (i: number) => Promise<boolean>) => {
      for (let i = 0; alive; i++) if (!(await fn(i))) alive = false;
    };
    return Promise.all([
      // New keys of every size.
      ...[0, 1, 2].map((w) =>
        worker((i) => {
          const size = SIZES[(i + w) % SIZES.length]!;
          const key = `new/${round}-${w}-${i}`;
          return put(key, patternBytes(size, key));
        }),
      ),
      // One key overwritten again and again, alternating inline and file-backed bodies.
      worker((i) => put('hot', patternBytes(i % 2 ? 4096 : 300_000, `hot-${round}-${i}`))),
      // Put then delete.
      worker(async (i) => {
        const key = `gone/${round}-${i}`;
        return (await put(key, patternBytes(i % 2 ? 2000 : 200_000, key))) && del(key);
      }),
      // Multipart uploads.
      worker((i) => {
        const key = `mp/${round}-${i}`;
        return multipart(key, patternBytes(5 * MiB + 1000 + i, key));
      }),
    ]);
  }

  /** Checks every key against what the client knows, and the listing against the readable keys. */
  async function verify(): Promise<void> {
    const present = new Map<string, number>();
    for (const [key, s] of keys) {
      const r = await signedSend(server, { method: 'GET', path: objectPath(BUCKET, key) });
      const allowed = [s.acked, ...s.inFlight];
      if (r.status === 404) {
        assert.ok(allowed.includes(null), `${key}: acknowledged but missing after the crash`);
        continue;
      }
      assert.equal(r.status, 200, `${key}: ${r.status} ${r.text.slice(0, 200)}`);
      const match = allowed.find((b) => b?.equals(r.body));
      assert.ok(match, `${key}: ${r.body.length} bytes that no acknowledged or in-flight write sent`);
      if (!String(r.headers.etag).includes('-')) assert.equal(r.headers.etag, `"${md5(r.body)}"`, key);
      present.set(key, r.body.length);
      // Nothing in flight any more: from now on the read value is the known one.
      s.acked = match;
      s.inFlight = [];
    }
    for (const s of keys.values())
      if (s.inFlight.length > 0) {
        s.acked = null;
        s.inFlight = [];
      }
    const listed = new Map<string, number>();
    let token: string | undefined;
    do {
      const r = await signedSend(server, {
        method: 'GET',
        path: `/${BUCKET}`,
        query: { 'list-type': '2', ...(token ? { 'continuation-token': token } : {}) },
      });
      assert.equal(r.status, 200, r.text);
      for (const m of r.text.matchAll(/<Contents><Key>([^<]+)<\/Key>[\s\S]*?<Size>(\d+)<\/Size>/g))
        listed.set(m[1]!, Number(m[2]));
      token = /<NextContinuationToken>([^<]+)</.exec(r.text)?.[1];
    } while (token);
    assert.deepEqual([...listed].sort(), [...present].sort());
  }

  /** Kills the server under load, scrubs, restarts it; returns how many writes were acknowledged and how many cut. */
  async function crashAndRestart(round: number): Promise<{ acked: number; cut: number }> {
    const running = load(round);
    await sleep(700 + Math.floor(Math.random() * 900));
    process.kill(server.pid, 'SIGKILL');
    assert.equal((await server.exited).signal, 'SIGKILL');
    await running;
    const scrub = await runCli(['scrub', '--data', server.dataDir], { timeoutMs: 120_000 });
    assert.equal(scrub.code, 0, `scrub after crash ${round}: ${scrub.stdout}${scrub.stderr}`);
    assert.match(scrub.stdout, /, 0 failures$/m);
    const all = [...keys.values()];
    const counts = {
      acked: all.filter((s) => s.acked !== null).length,
      cut: all.reduce((n, s) => n + s.inFlight.length, 0),
    };
    server = await startServer({ dataDir: server.dataDir, accessKey: server.accessKey, secretKey: server.secretKey });
    assert.deepEqual(await readdir(join(server.dataDir, 'tmp')), [], 'the restart swept every temp file');
    return counts;
  }

  it(`should keep every acknowledged write and no partial one across ${ROUNDS} crashes`, async (t) => {
    for (let round = 1; round <= ROUNDS; round++) {
      const { acked, cut } = await crashAndRestart(round);
      t.diagnostic(`crash ${round}: ${acked} keys written, ${cut} writes cut by the kill`);
      assert.ok(acked >= 5, `only ${acked} writes were acknowledged before the crash`);
      await verify();
    }
  });

  it('should scrub clean, and leave no blob file behind once every object is deleted', async () => {
    const present = [...keys].filter(([, s]) => s.acked !== null).map(([k]) => k);
    await server.stop();
    const scrub = await runCli(['scrub', '--data', server.dataDir], { timeoutMs: 120_000 });
    assert.equal(scrub.code, 0, scrub.stderr);
    assert.match(scrub.stdout, new RegExp(`^${present.length} objects, \\d+ bytes checked.*, 0 failures$`, 'm'));

    server = await startServer({ dataDir: server.dataDir, accessKey: server.accessKey, secretKey: server.secretKey });
    for (const key of present) {
      const r = await signedSend(server, { method: 'DELETE', path: objectPath(BUCKET, key) });
      assert.equal(r.status, 204, r.text);
    }
    // Uploads cut short by the crashes are still listed (their parts are kept until aborted, as in S3).
    const uploads = await signedSend(server, { method: 'GET', path: `/${BUCKET}`, query: { uploads: '' } });
    assert.equal(uploads.status, 200, uploads.text);
    for (const [upload] of uploads.text.matchAll(/<Upload>[\s\S]*?<\/Upload>/g)) {
      const key = /<Key>([^<]+)<\/Key>/.exec(upload)![1]!;
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(upload)![1]!;
      const r = await signedSend(server, { method: 'DELETE', path: objectPath(BUCKET, key), query: { uploadId } });
      assert.equal(r.status, 204, r.text);
    }
    await server.stop();
    // Restarting sweeps what a crash left unreferenced; nothing may remain once no record refers to any blob.
    server = await startServer({ dataDir: server.dataDir, accessKey: server.accessKey, secretKey: server.secretKey });
    const files = (await readdir(join(server.dataDir, 'blobs'), { recursive: true, withFileTypes: true })).filter((e) =>
      e.isFile(),
    );
    assert.deepEqual(
      files.map((f) => f.name),
      [],
    );
  });
});
