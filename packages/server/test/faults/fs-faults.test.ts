/**
 * I/O faults through the S3 API: the server runs in this process on a store whose N-th file-system call (or
 * metadata batch) fails, for every N of a PUT (new and overwrite), a multipart Complete and a DELETE, and every kind
 * of fault. The answer is a success or an S3 error document (500 InternalError, or 507), never a hang, and never
 * the fault's own text; after the server is closed and the store reopened the object is the old one or the new
 * one, byte-exact, with no orphaned file and scrub clean.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pino from 'pino';
import type { ObjectStore } from '@coffer/blob-store';
import { FaultInjector, assertRecovered, faultPlan, type FaultKind } from '@coffer/blob-store/testing';
import { MasterKeyRing } from '@coffer/crypto';
import { MultipartStore } from '@coffer/multipart';

import { CofferServer } from '../../src/server.ts';
import { patternBytes } from '../helpers/assert.ts';
import { assertS3Error, objectPath, signedSend, type HttpResult } from '../helpers/http.ts';

const BUCKET = 'faults';
const MiB = 1024 * 1024;
const creds = { accessKey: 'AKFSFAULTS000001', secretKey: 'fs-faults-secret-key-000000000000000000' };

type Client = { url: string; accessKey: string; secretKey: string };

/** One operation under test: what exists before, the request, and the body the key holds after it. */
interface Case {
  name: string;
  old: Buffer | null;
  /** Requests made before the fault is armed (e.g. the parts of an upload); returns the request under test. */
  prepare(c: Client): Promise<() => Promise<HttpResult>>;
  new: Buffer | null;
  /** Writes a new blob file (a batch that landed but was reported failed keeps it: packages/blob-store/test/faults/fs-faults.test.ts). */
  newFile?: boolean;
}

const old = patternBytes(300_000, 'old');
const fresh = patternBytes(700_000, 'new');
const mp = patternBytes(5 * MiB + 1000, 'mp');
const send = (c: Client, method: string, body?: Buffer, query?: Record<string, string>) =>
  signedSend(c, { method, path: objectPath(BUCKET, 'k'), body, query });

const putFresh = async (c: Client) => () => send(c, 'PUT', fresh);
const CASES: readonly Case[] = [
  { name: 'PUT of a new object', old: null, prepare: putFresh, new: fresh, newFile: true },
  { name: 'PUT overwrite', old, prepare: putFresh, new: fresh, newFile: true },
  { name: 'DELETE', old, prepare: async (c) => () => send(c, 'DELETE'), new: null },
  {
    name: 'multipart Complete over an object',
    old,
    async prepare(c) {
      const uploadId = /<UploadId>([^<]+)</.exec((await send(c, 'POST', undefined, { uploads: '' })).text)![1]!;
      const parts: string[] = [];
      for (const [n, part] of [
        [1, mp.subarray(0, 5 * MiB)],
        [2, mp.subarray(5 * MiB)],
      ] as const) {
        const r = await send(c, 'PUT', part, { partNumber: String(n), uploadId });
        assert.equal(r.status, 200, r.text);
        parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>${r.headers.etag}</ETag></Part>`);
      }
      const xml = Buffer.from(`<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`);
      return () => send(c, 'POST', xml, { uploadId });
    },
    new: mp,
  },
];

/** The blobs of the parts of uploads still in progress: not orphans (their upload holds them, as in S3). */
async function openUploadParts(store: ObjectStore): Promise<string[]> {
  const multipart = new MultipartStore(store);
  const { uploads } = await multipart.listUploads(BUCKET, { maxUploads: 1000 });
  const out: string[] = [];
  for (const u of uploads) {
    const upload = await multipart.getUpload(BUCKET, u.key, u.uploadId);
    out.push(...(await multipart.listParts(upload, { maxParts: 1000 })).parts.map((p) => p.segment.blobId));
  }
  return out;
}

/** A 2xx, or an S3 error document for a storage failure that says nothing of the fault itself. */
function assertAnswer(r: HttpResult, context: string): boolean {
  const failed = r.status >= 300 || r.text.includes('<Error>');
  if (!failed) return true;
  if (r.status === 507) assert.match(r.text, /<Code>[A-Za-z]+<\/Code>/, context);
  else assertS3Error(r, 500, 'InternalError');
  assert.doesNotMatch(r.text, /injected|EIO|ENOSPC|\/tmp\//, `${context}: no internal detail`);
  return false;
}

describe('I/O faults in the N-th file-system call, through the S3 API', { timeout: 300_000 }, () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'coffer-server-faults-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  let runs = 0;
  async function attempt(c: Case, n: number, kind: FaultKind): Promise<Pick<FaultInjector, 'calls' | 'hit'>> {
    const dataDir = join(root, String(++runs));
    const faults = new FaultInjector();
    const server = await CofferServer.start({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      region: 'us-east-1',
      masterKey: { kind: 'data-dir' },
      root: creds,
      cryptoThreads: 0,
      shutdownTimeoutMs: 5_000,
      logger: pino({ level: 'silent' }),
      testing: faults.hooks,
    });
    let answer: HttpResult;
    try {
      const client = { url: `http://127.0.0.1:${server.address.port}`, ...creds };
      assert.equal((await signedSend(client, { method: 'PUT', path: `/${BUCKET}` })).status, 200);
      if (c.old) assert.equal((await send(client, 'PUT', c.old)).status, 200);
      const request = await c.prepare(client);
      faults.arm(n, kind);
      answer = await request();
      faults.disarm();
    } finally {
      await server.close();
    }
    const { calls, hit } = faults;
    const context = `${c.name}, ${kind} at call ${n} (${hit ?? 'none'}) of ${calls.join(',')}`;
    const ok = assertAnswer(answer, context);
    assert.equal(!ok, faults.fatal, `${context}: fails if and only if it must: ${answer.status} ${answer.text}`);
    const allowed = ok ? [c.new] : hit === 'batch' && kind === 'EIO-after' ? [c.old, c.new] : [c.old];
    const keyRing = await MasterKeyRing.open({ dir: join(dataDir, 'keys') });
    const expected = [{ bucket: BUCKET, key: 'k', allowed }];
    await assertRecovered(dataDir, keyRing, expected, { context, keep: openUploadParts });
    await rm(dataDir, { recursive: true, force: true });
    return { calls, hit };
  }

  for (const c of CASES) {
    it(`should answer 2xx or an S3 error, and keep the old or the new object, in a faulty ${c.name}`, async (t) => {
      const { calls } = await attempt(c, Number.MAX_SAFE_INTEGER, 'EIO');
      assert.ok(calls.includes('batch'), calls.join(','));
      let tried = 0;
      for (const { n, kind, call } of faultPlan(calls)) {
        assert.equal((await attempt(c, n, kind)).hit, call);
        tried++;
      }
      assert.equal((await attempt(c, calls.length + 1, 'EIO')).hit, undefined);
      t.diagnostic(`${calls.length} calls (${calls.join(',')}), ${tried} faults`);
    });
  }
});
