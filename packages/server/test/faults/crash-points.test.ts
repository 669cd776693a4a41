/**
 * kill -9 at named points of the commit protocol. The server runs with COFFER_TEST_CRASH_AT=POINT, which makes it
 * SIGKILL itself when it reaches POINT: after a blob file is fsync'd and renamed (`blob-stored`), just before a
 * metadata batch (`batch-before`), just after it and before any answer (`batch-after`). After each crash `coffer
 * scrub` exits 0; every acknowledged object is there byte-exact; the interrupted PUT, DELETE or multipart Complete is
 * wholly undone (before its batch) or wholly done (after it); no blob file is orphaned.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { ObjectStore } from '@coffer/blob-store';
import { MultipartStore } from '@coffer/multipart';

import { patternBytes } from '../helpers/assert.ts';
import { objectPath, signedSend, type HttpResult } from '../helpers/http.ts';
import type { RunningServer } from '../helpers/server.ts';
import { CrashRig } from './crash-rig.ts';

const MiB = 1024 * 1024;

describe('kill -9 at named points of the commit protocol', { timeout: 300_000 }, () => {
  let rig: CrashRig;
  let complete: (s: RunningServer) => Promise<HttpResult>;
  let uploadId: string;
  const mpBody = patternBytes(5 * MiB + 777, 'mp');

  before(async () => {
    rig = await CrashRig.create();
    await rig.withServer(async (s) => {
      await rig.put(s, 'inline', patternBytes(1000, 'inline'));
      await rig.put(s, 'file', patternBytes(300_000, 'file'));
      await rig.put(s, 'gone', patternBytes(200_000, 'gone'));
      // One upload, completed by the tests below: first cut before its batch, then after it.
      const init = await signedSend(s, { method: 'POST', path: objectPath(rig.bucket, 'mp'), query: { uploads: '' } });
      uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)![1]!;
      const parts: string[] = [];
      for (const [n, part] of [
        [1, mpBody.subarray(0, 5 * MiB)],
        [2, mpBody.subarray(5 * MiB)],
      ] as const) {
        const query = { partNumber: String(n), uploadId };
        const r = await signedSend(s, { method: 'PUT', path: objectPath(rig.bucket, 'mp'), query, body: part });
        assert.equal(r.status, 200, r.text);
        parts.push(`<Part><PartNumber>${n}</PartNumber><ETag>${r.headers.etag}</ETag></Part>`);
      }
      const xml = Buffer.from(`<CompleteMultipartUpload>${parts.join('')}</CompleteMultipartUpload>`);
      complete = (srv) =>
        signedSend(srv, { method: 'POST', path: objectPath(rig.bucket, 'mp'), query: { uploadId }, body: xml });
    });
  });
  after(() => rig?.dispose());

  const put = (key: string, body: Buffer) => (s: RunningServer) =>
    signedSend(s, { method: 'PUT', path: objectPath(rig.bucket, key), body });
  const del = (key: string) => (s: RunningServer) =>
    signedSend(s, { method: 'DELETE', path: objectPath(rig.bucket, key) });

  /** The part blobs of the upload while it is not completed (as in S3, its parts stay until it is). */
  const parts = async (store: ObjectStore): Promise<string[]> => {
    const mp = new MultipartStore(store);
    const upload = await mp.getUpload(rig.bucket, 'mp', uploadId);
    return (await mp.listParts(upload, { maxParts: 100 })).parts.map((p) => p.segment.blobId);
  };

  it('should keep the old object when a PUT overwrite is killed after its blob file is stored', async () => {
    await rig.crashAt('blob-stored', put('file', patternBytes(400_000, 'file-blob-stored')));
    await rig.recovered('PUT at blob-stored', parts);
  });

  for (const point of ['batch-before', 'batch-after']) {
    const landed = point === 'batch-after';
    const outcome = landed ? 'wholly done' : 'wholly undone';

    it(`should leave a PUT overwrite killed at ${point} ${outcome}`, async () => {
      const body = patternBytes(400_000, `file-${point}`);
      await rig.crashAt(point, put('file', body));
      if (landed) rig.acked.set('file', body);
      await rig.recovered(`PUT at ${point}`, parts);
    });

    it(`should leave a DELETE killed at ${point} ${outcome}`, async () => {
      await rig.crashAt(point, del('gone'));
      if (landed) rig.acked.delete('gone');
      await rig.recovered(`DELETE at ${point}`, parts);
    });

    it(`should leave a multipart Complete killed at ${point} ${outcome}`, async () => {
      await rig.crashAt(point, complete);
      if (landed) rig.acked.set('mp', mpBody);
      await rig.recovered(`Complete at ${point}`, landed ? undefined : parts);
    });
  }
});
