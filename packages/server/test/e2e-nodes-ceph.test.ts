/**
 * Several nodes on one PostgreSQL database with their chunks on one Ceph radosgw (`coffer serve --meta …
 * --chunks s3://BUCKET/PREFIX`), each node with a data directory of its own: the checks of helpers/nodes-suite.ts,
 * then radosgw stopped in the middle of a PUT (503 ServiceUnavailable, no object, no reference) and started again
 * (the same nodes serve again, no restart of Coffer).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { it } from 'node:test';

import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';

import { CEPH_REGION, startCeph, type RunningCeph } from '../../../tools/test-services/ceph.ts';
import { bodyBytes, md5hex, patternBytes, rejectsS3, sleep } from './helpers/assert.ts';
import { metaBlobIds } from './helpers/blobs.ts';
import { describeNodes } from './helpers/nodes-suite.ts';

const BACKEND = 'coffer-nodes';
const PREFIX = 'chunks';
const MiB = 1024 * 1024;

let ceph: RunningCeph;
let raw: S3Client;

/** The blob id a backend object is named after (`PREFIX/xx/yy/ID`), or undefined for anything else. */
const blobIdOf = (key: string) => /\/([0-9a-f]{32})$/.exec(key)?.[1];

describeNodes(
  'several nodes on one PostgreSQL with their chunks on Ceph (coffer serve --meta --chunks s3://…)',
  {
    start: async () => {
      ceph = await startCeph();
      raw = new S3Client({
        endpoint: ceph.endpoint,
        region: CEPH_REGION,
        credentials: { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey },
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      await raw.send(new CreateBucketCommand({ Bucket: BACKEND }));
    },
    stop: async () => {
      raw?.destroy();
      await ceph?.stop();
    },
    sharedDataDir: () => undefined,
    args: () => ['--chunks', `s3://${BACKEND}/${PREFIX}`, '--chunks-endpoint', ceph.endpoint],
    env: () => ({ COFFER_CHUNKS_ACCESS_KEY: ceph.accessKey, COFFER_CHUNKS_SECRET_KEY: ceph.secretKey }),
    blobIds: async () => {
      const ids: string[] = [];
      for await (const page of paginateListObjectsV2({ client: raw }, { Bucket: BACKEND, Prefix: `${PREFIX}/` })) {
        for (const o of page.Contents ?? []) {
          const id = blobIdOf(o.Key!);
          assert.ok(id, `a backend object named after a blob id, got ${o.Key}`);
          ids.push(id);
        }
      }
      return ids;
    },
    leftovers: async () => {
      const r = await raw.send(new ListMultipartUploadsCommand({ Bucket: BACKEND, Prefix: `${PREFIX}/` }));
      return r.Uploads?.length ?? 0;
    },
  },
  ({ clients, bucket, metaUrl }) => {
    it('should answer 503 to a PUT whose radosgw stops mid-body, commit nothing, and serve again once it is back', async () => {
      const before = await metaBlobIds(metaUrl());
      // The body arrives in two halves; radosgw is stopped between them, so the node is mid-write when it goes.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const body = patternBytes(16 * MiB, 'rgw-down');
      const halves = async function* () {
        yield body.subarray(0, 4 * MiB);
        await gate;
        yield body.subarray(4 * MiB);
      };
      const put = clients[0]!.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'rgw/down',
          Body: Readable.from(halves()),
          ContentLength: body.length,
        }),
      );
      await sleep(300);
      await ceph.stopRgw();
      try {
        release();
        await rejectsS3(put, 503, 'ServiceUnavailable');
        await rejectsS3(clients[1]!.send(new HeadObjectCommand({ Bucket: bucket, Key: 'rgw/down' })), 404);
        assert.deepEqual((await metaBlobIds(metaUrl())).live, before.live, 'no reference was committed');
      } finally {
        await ceph.startRgw();
      }
      // The same nodes, with the connections they had: service resumes.
      const again = patternBytes(3 * MiB, 'rgw-back');
      await clients[0]!.send(new PutObjectCommand({ Bucket: bucket, Key: 'rgw/back', Body: again }));
      const got = await bodyBytes(
        (await clients[2]!.send(new GetObjectCommand({ Bucket: bucket, Key: 'rgw/back' }))).Body,
      );
      assert.equal(md5hex(got), md5hex(again));
    });
  },
);
