/**
 * Multipart uploads end to end: the real clients' own multipart paths (aws CLI, s3cmd, boto3, @aws-sdk/lib-storage)
 * byte-exact with files over 50 MiB, every completion error with its exact status and code, UploadPartCopy,
 * listings, abort and clean-up, and SSE-C multipart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { eventually } from '@coffer/blob-store/testing';
import { startServer, type RunningServer } from './helpers/server.ts';
import { Clients, describeRun, hasBoto3, hasProgram } from './helpers/clients.ts';
import { assertS3Error, objectPath, signedSend, type HttpResult } from './helpers/http.ts';
import { bodyBytes, crc32b64, rejectsS3 } from './helpers/assert.ts';
import { deterministicStream, hashFile, hashStream, writeDeterministicFile } from './helpers/multipart-data.ts';

const MiB = 1024 * 1024;
const BIG = 52 * MiB + 12_345;
const md5hex = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const mpEtag = (parts: Buffer[]) =>
  `${md5hex(Buffer.concat(parts.map((p) => Buffer.from(md5hex(p), 'hex'))))}-${parts.length}`;

describe('multipart uploads (e2e)', () => {
  let server: RunningServer;
  let clients: Clients;
  let s3: S3Client;
  let bigFile: string;
  let bigMd5: string;
  const bucket = 'mp-e2e';

  before(async () => {
    server = await startServer();
    clients = await Clients.create(server);
    s3 = clients.sdk();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    bigFile = join(clients.dir, 'big.bin');
    bigMd5 = await writeDeterministicFile(bigFile, BIG, 'big');
  });
  after(async () => {
    s3?.destroy();
    await clients?.cleanup();
    await server?.stop({ removeDir: true });
  });

  /** GET of a whole object, hashed as it streams. */
  async function getHash(key: string, extra: Record<string, unknown> = {}) {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
    return { ...(await hashStream(r.Body as AsyncIterable<Uint8Array>)), etag: r.ETag };
  }

  /** Raw signed request to the server. */
  function raw(
    method: string,
    key: string | undefined,
    query: Record<string, string>,
    body?: Buffer,
    headers: Record<string, string> = {},
  ): Promise<HttpResult> {
    return signedSend(server, { method, path: objectPath(bucket, key), query, body, headers });
  }

  async function createUpload(key: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...extra }));
    return r.UploadId!;
  }

  async function putPart(
    key: string,
    uploadId: string,
    n: number,
    body: Buffer,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const r = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ...extra }),
    );
    return r.ETag!;
  }

  function completeXml(parts: { n: number; etag: string; extra?: string }[], ns = true): Buffer {
    const xmlns = ns ? ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' : '';
    return Buffer.from(
      `<CompleteMultipartUpload${xmlns}>${parts.map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag}</ETag>${p.extra ?? ''}</Part>`).join('')}</CompleteMultipartUpload>`,
    );
  }

  describe('real clients, byte-exact, 52 MiB', () => {
    it('should round-trip @aws-sdk/lib-storage Upload (5 MiB parts, 4 at a time), with ?partNumber and a range across parts', async () => {
      const sent = createHash('md5');
      const upload = new Upload({
        client: s3,
        partSize: 5 * MiB,
        queueSize: 4,
        params: {
          Bucket: bucket,
          Key: 'sdk/big.bin',
          Body: deterministicStream(BIG, 'big', (b) => sent.update(b)),
          ContentType: 'application/x-test',
          Metadata: { origin: 'lib-storage' },
        },
      });
      const done = await upload.done();
      assert.equal(sent.digest('hex'), bigMd5);
      assert.match(done.ETag!, /^"[0-9a-f]{32}-11"$/);
      const got = await getHash('sdk/big.bin');
      assert.deepEqual({ md5: got.md5, size: got.size }, { md5: bigMd5, size: BIG });
      assert.equal(got.etag, done.ETag);

      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sdk/big.bin', PartNumber: 3 }));
      assert.equal(head.PartsCount, 11);
      assert.equal(head.ContentLength, 5 * MiB);
      assert.equal(head.ContentType, 'application/x-test');
      assert.equal(head.Metadata?.origin, 'lib-storage');
      assert.equal(head.ServerSideEncryption, 'AES256');
      const part = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'sdk/big.bin', PartNumber: 11 }));
      assert.equal(part.PartsCount, 11);
      assert.equal(part.ContentRange, `bytes ${10 * 5 * MiB}-${BIG - 1}/${BIG}`);
      const expectedLast = await hashStream(deterministicTail(BIG, 10 * 5 * MiB));
      assert.deepEqual(await hashStream(part.Body as AsyncIterable<Uint8Array>), expectedLast);

      const ranged = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: 'sdk/big.bin', Range: `bytes=${5 * MiB - 100}-${10 * MiB + 99}` }),
      );
      const bytes = await bodyBytes(ranged.Body);
      const file = await readFile(bigFile);
      assert.ok(bytes.equals(file.subarray(5 * MiB - 100, 10 * MiB + 100)), 'range across two part boundaries');
    });

    it('should round-trip the aws CLI `s3 cp` (8 MiB parts, sent concurrently)', {
      skip: !hasProgram('aws'),
    }, async () => {
      const cfg = await readFile(clients.awsConfigFile, 'utf8');
      await writeFile(
        clients.awsConfigFile,
        cfg.replace(
          's3 =\n',
          's3 =\n    multipart_chunksize = 8MB\n    multipart_threshold = 8MB\n    max_concurrent_requests = 4\n',
        ),
      );
      const up = await clients.aws(['s3', 'cp', bigFile, `s3://${bucket}/cli/big.bin`], { timeoutMs: 120_000 });
      assert.equal(up.code, 0, describeRun(up));
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cli/big.bin' }));
      assert.match(head.ETag!, /-7"$/);
      const out = join(clients.dir, 'cli-back.bin');
      const down = await clients.aws(['s3', 'cp', `s3://${bucket}/cli/big.bin`, out], { timeoutMs: 120_000 });
      assert.equal(down.code, 0, describeRun(down));
      assert.deepEqual(await hashFile(out), { md5: bigMd5, size: BIG });
    });

    it('should round-trip s3cmd (15 MiB parts, unquoted ETags in its Complete)', {
      skip: !hasProgram('s3cmd'),
    }, async () => {
      const up = await clients.s3cmd(['put', '--multipart-chunk-size-mb=15', bigFile, `s3://${bucket}/s3cmd/big.bin`], {
        timeoutMs: 120_000,
      });
      assert.equal(up.code, 0, describeRun(up));
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 's3cmd/big.bin' }));
      assert.match(head.ETag!, /-4"$/);
      const out = join(clients.dir, 's3cmd-back.bin');
      const down = await clients.s3cmd(['get', '--force', `s3://${bucket}/s3cmd/big.bin`, out], { timeoutMs: 120_000 });
      assert.equal(down.code, 0, describeRun(down));
      assert.deepEqual(await hashFile(out), { md5: bigMd5, size: BIG });
    });

    it('should round-trip boto3 upload_file / download_file', { skip: !hasBoto3() }, async () => {
      const out = join(clients.dir, 'boto3-back.bin');
      const r = await clients.boto3(
        `
from boto3.s3.transfer import TransferConfig
cfg = TransferConfig(multipart_threshold=8*1024*1024, multipart_chunksize=8*1024*1024, max_concurrency=4)
s3.upload_file(sys.argv[1] if len(sys.argv) > 1 else os.environ['SRC'], '${bucket}', 'boto3/big.bin', Config=cfg)
head = s3.head_object(Bucket='${bucket}', Key='boto3/big.bin')
assert head['ETag'].endswith('-7"'), head['ETag']
s3.download_file('${bucket}', 'boto3/big.bin', os.environ['DST'], Config=cfg)
print('ok')
`,
        { env: { SRC: bigFile, DST: out }, timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(await hashFile(out), { md5: bigMd5, size: BIG });
    });
  });

  it('should take a boto3 upload_file with a full-object CRC32 it computed (FULL_OBJECT) and report it', {
    skip: !hasBoto3(),
  }, async () => {
    const r = await clients.boto3(
      `
import zlib
from boto3.s3.transfer import TransferConfig
data = open(os.environ['SRC'], 'rb').read()
full = base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()
cfg = TransferConfig(multipart_threshold=8*1024*1024, multipart_chunksize=8*1024*1024, max_concurrency=4)
s3.upload_file(os.environ['SRC'], '${bucket}', 'boto3/full-crc.bin', Config=cfg, ExtraArgs={'ChecksumCRC32': full})
head = s3.head_object(Bucket='${bucket}', Key='boto3/full-crc.bin', ChecksumMode='ENABLED')
assert head['ETag'].endswith('-7"'), head['ETag']
assert head['ChecksumCRC32'] == full, (head.get('ChecksumCRC32'), full)
assert head['ChecksumType'] == 'FULL_OBJECT', head.get('ChecksumType')
print('ok')
`,
      { env: { SRC: bigFile }, timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /ok/);
  });

  describe('CompleteMultipartUpload', () => {
    const p1 = randomBytes(5 * MiB);
    const p2 = randomBytes(5 * MiB + 1);
    const small = Buffer.from('tiny part');

    it('should accept ETags quoted or not, with or without the namespace, and per-part checksums', async () => {
      for (const [i, [quoted, ns]] of [
        [true, true],
        [false, false],
        [false, true],
      ].entries()) {
        const key = `complete/ok-${i}`;
        const id = await createUpload(key);
        const e1 = await putPart(key, id, 1, p1);
        const e2 = await putPart(key, id, 2, small);
        const q = (e: string) => (quoted ? e : e.replace(/"/g, ''));
        const r = await raw(
          'POST',
          key,
          { uploadId: id },
          completeXml(
            [
              { n: 1, etag: q(e1) },
              { n: 2, etag: q(e2) },
            ],
            ns,
          ),
        );
        assert.equal(r.status, 200, r.text);
        assert.match(
          r.text,
          /<CompleteMultipartUploadResult xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><Location>/,
        );
        assert.ok(
          r.text.includes(`<ETag>&quot;${mpEtag([p1, small])}&quot;</ETag>`) ||
            r.text.includes(`<ETag>"${mpEtag([p1, small])}"</ETag>`),
          r.text,
        );
        assert.equal(r.headers['x-amz-server-side-encryption'], 'AES256');
        const got = await getHash(key);
        assert.equal(got.md5, md5hex(Buffer.concat([p1, small])));
      }
    });

    it('should verify per-part checksums against what the part stored (CRC32 upload)', async () => {
      const key = 'complete/crc';
      const id = await createUpload(key, { ChecksumAlgorithm: 'CRC32' });
      const a = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: 1,
          Body: p1,
          ChecksumAlgorithm: 'CRC32',
        }),
      );
      const b = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: 2,
          Body: small,
          ChecksumAlgorithm: 'CRC32',
        }),
      );
      assert.ok(a.ChecksumCRC32 && b.ChecksumCRC32);
      const bad = await raw(
        'POST',
        key,
        { uploadId: id },
        completeXml([
          { n: 1, etag: a.ETag!, extra: `<ChecksumCRC32>${b.ChecksumCRC32}</ChecksumCRC32>` },
          { n: 2, etag: b.ETag!, extra: `<ChecksumCRC32>${b.ChecksumCRC32}</ChecksumCRC32>` },
        ]),
      );
      const e = assertS3Error(bad, 400, 'BadDigest');
      assert.equal(e.Message, 'The crc32 you specified for part 1 did not match what we received.');
      const parts = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id }));
      assert.equal(parts.ChecksumAlgorithm, 'CRC32');
      assert.equal(parts.Parts?.[0]?.ChecksumCRC32, a.ChecksumCRC32);
      const ok = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: a.ETag, ChecksumCRC32: a.ChecksumCRC32 },
              { PartNumber: 2, ETag: b.ETag, ChecksumCRC32: b.ChecksumCRC32 },
            ],
          },
        }),
      );
      assert.match(ok.ChecksumCRC32!, /-2$/);
    });

    for (const alg of ['CRC32C', 'SHA256'] as const) {
      it(`should give the object the COMPOSITE ${alg} of its parts' checksums, and return it with ChecksumMode`, async () => {
        const key = `complete/composite-${alg}`;
        const id = await createUpload(key, { ChecksumAlgorithm: alg });
        const parts = [];
        for (const [i, body] of [p1, small].entries()) {
          const r = await s3.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId: id,
              PartNumber: i + 1,
              Body: body,
              ChecksumAlgorithm: alg,
            }),
          );
          const value = r[`Checksum${alg}`];
          assert.equal(value, checksumB64(alg, body)); // the SDK's value is the one computed here
          parts.push({ PartNumber: i + 1, ETag: r.ETag, [`Checksum${alg}`]: value });
        }
        const done = await s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: id,
            MultipartUpload: { Parts: parts },
          }),
        );
        const binaries = Buffer.concat(parts.map((p) => Buffer.from(p[`Checksum${alg}`] as string, 'base64')));
        const want = `${checksumB64(alg, binaries)}-2`;
        assert.equal(done[`Checksum${alg}`], want);
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
        assert.equal(head[`Checksum${alg}`], want);
        assert.equal(head.ChecksumType, 'COMPOSITE');
      });
    }

    it('should give a FULL_OBJECT CRC32 upload the CRC32 of the whole object, and check the one the Complete carries', async () => {
      const key = 'complete/full-crc32';
      const whole = Buffer.concat([p1, small]);
      const id = await createUpload(key, { ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' });
      const parts = [];
      for (const [i, body] of [p1, small].entries()) {
        const r = await s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: id,
            PartNumber: i + 1,
            Body: body,
            ChecksumAlgorithm: 'CRC32',
          }),
        );
        parts.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 });
      }
      const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id }));
      assert.equal(listed.ChecksumType, 'FULL_OBJECT');
      const wrong = await s3
        .send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: id,
            ChecksumCRC32: crc32b64(p1),
            ChecksumType: 'FULL_OBJECT',
            MultipartUpload: { Parts: parts },
          }),
        )
        .then(
          () => undefined,
          (e: { name: string; message: string }) => e,
        );
      assert.equal(wrong?.name, 'BadDigest');
      assert.equal(wrong?.message, 'The crc32 you specified did not match the calculated checksum.');
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          ChecksumCRC32: crc32b64(whole),
          ChecksumType: 'FULL_OBJECT',
          MultipartUpload: { Parts: parts },
        }),
      );
      assert.equal(done.ChecksumCRC32, crc32b64(whole));
      assert.equal(done.ChecksumType, 'FULL_OBJECT');
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(head.ChecksumCRC32, crc32b64(whole));
      assert.equal(head.ChecksumType, 'FULL_OBJECT');
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      assert.ok((await bodyBytes(got.Body)).equals(whole)); // the SDK validates the FULL_OBJECT CRC32 as it reads
    });

    it("should make CRC64NVME uploads FULL_OBJECT by default and compute the parts' CRCs when the client sends none", async () => {
      const key = 'complete/full-crc64';
      const whole = Buffer.concat([p1, small]);
      const created = await raw('POST', key, { uploads: '' }, undefined, { 'x-amz-checksum-algorithm': 'CRC64NVME' });
      assert.equal(created.status, 200, created.text);
      assert.equal(created.headers['x-amz-checksum-type'], 'FULL_OBJECT');
      const id = /<UploadId>([^<]+)</.exec(created.text)![1]!;
      const etags: string[] = [];
      for (const [i, body] of [p1, small].entries()) {
        const r = await raw('PUT', key, { partNumber: String(i + 1), uploadId: id }, body);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers['x-amz-checksum-crc64nvme'], checksumB64('CRC64NVME', body));
        etags.push(String(r.headers.etag));
      }
      const done = await raw('POST', key, { uploadId: id }, completeXml(etags.map((etag, i) => ({ n: i + 1, etag }))));
      assert.equal(done.status, 200, done.text);
      assert.ok(
        done.text.includes(
          `<ChecksumCRC64NVME>${checksumB64('CRC64NVME', whole)}</ChecksumCRC64NVME><ChecksumType>FULL_OBJECT</ChecksumType>`,
        ),
        done.text,
      );
    });

    it('should give copied parts their checksum too, so a FULL_OBJECT CRC32C covers them', async () => {
      const key = 'complete/full-copy';
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'complete/full-copy-src', Body: p1 }));
      const id = await createUpload(key, { ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT' });
      const a = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: 1,
          CopySource: `${bucket}/complete/full-copy-src`,
        }),
      );
      assert.equal(a.CopyPartResult?.ChecksumCRC32C, checksumB64('CRC32C', p1));
      const b = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: 2,
          Body: small,
          ChecksumAlgorithm: 'CRC32C',
        }),
      );
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: a.CopyPartResult!.ETag },
              { PartNumber: 2, ETag: b.ETag, ChecksumCRC32C: b.ChecksumCRC32C },
            ],
          },
        }),
      );
      assert.equal(done.ChecksumCRC32C, checksumB64('CRC32C', Buffer.concat([p1, small])));
      assert.equal(done.ChecksumType, 'FULL_OBJECT');
    });

    it('should refuse checksum types S3 does not support with the algorithm, with InvalidRequest', async () => {
      for (const [alg, type, message] of [
        ['SHA1', 'FULL_OBJECT', 'The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm.'],
        ['CRC64NVME', 'COMPOSITE', 'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.'],
        [
          undefined,
          'FULL_OBJECT',
          'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
        ],
      ] as const) {
        const headers: Record<string, string> = { 'x-amz-checksum-type': type };
        if (alg) headers['x-amz-checksum-algorithm'] = alg;
        const e = assertS3Error(
          await raw('POST', 'complete/bad-type', { uploads: '' }, undefined, headers),
          400,
          'InvalidRequest',
        );
        assert.equal(e.Message, message);
      }
    });

    it('should answer InvalidPart for an unknown part or a wrong ETag', async () => {
      const key = 'complete/invalid-part';
      const id = await createUpload(key);
      const e1 = await putPart(key, id, 1, small);
      let e = assertS3Error(
        await raw(
          'POST',
          key,
          { uploadId: id },
          completeXml([
            { n: 1, etag: e1 },
            { n: 2, etag: e1 },
          ]),
        ),
        400,
        'InvalidPart',
      );
      assert.equal(
        e.Message,
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      );
      assert.equal(e.UploadId, id);
      assert.equal(e.PartNumber, '2');
      e = assertS3Error(
        await raw('POST', key, { uploadId: id }, completeXml([{ n: 1, etag: `"${md5hex('other')}"` }])),
        400,
        'InvalidPart',
      );
      assert.equal(e.ETag, md5hex('other'));
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    });

    it('should answer InvalidPartOrder for parts out of order', async () => {
      const key = 'complete/order';
      const id = await createUpload(key);
      const e1 = await putPart(key, id, 1, p1);
      const e2 = await putPart(key, id, 2, small);
      const e = assertS3Error(
        await raw(
          'POST',
          key,
          { uploadId: id },
          completeXml([
            { n: 2, etag: e2 },
            { n: 1, etag: e1 },
          ]),
        ),
        400,
        'InvalidPartOrder',
      );
      assert.equal(e.Message, 'The list of parts was not in ascending order. Parts must be ordered by part number.');
      assert.equal(e.UploadId, id);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    });

    it('should answer EntityTooSmall for a part under 5 MiB that is not the last', async () => {
      const key = 'complete/small';
      const id = await createUpload(key);
      const e1 = await putPart(key, id, 1, small);
      const e2 = await putPart(key, id, 2, p2);
      const e = assertS3Error(
        await raw(
          'POST',
          key,
          { uploadId: id },
          completeXml([
            { n: 1, etag: e1 },
            { n: 2, etag: e2 },
          ]),
        ),
        400,
        'EntityTooSmall',
      );
      assert.equal(e.Message, 'Your proposed upload is smaller than the minimum allowed size');
      assert.equal(e.ProposedSize, String(small.length));
      assert.equal(e.MinSizeAllowed, '5242880');
      assert.equal(e.PartNumber, '1');
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    });

    it('should answer MalformedXML, an empty part list and a bad part number', async () => {
      const key = 'complete/xml';
      const id = await createUpload(key);
      const e1 = await putPart(key, id, 1, small);
      let e = assertS3Error(
        await raw(
          'POST',
          key,
          { uploadId: id },
          Buffer.from('<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>'),
        ),
        400,
        'MalformedXML',
      );
      assert.equal(
        e.Message,
        'The XML you provided was not well-formed or did not validate against our published schema',
      );
      e = assertS3Error(
        await raw('POST', key, { uploadId: id }, Buffer.from('<CompleteMultipartUpload></CompleteMultipartUpload>')),
        400,
        'InvalidRequest',
      );
      assert.equal(e.Message, 'You must specify at least one part');
      e = assertS3Error(
        await raw('POST', key, { uploadId: id }, completeXml([{ n: 10001, etag: e1 }])),
        400,
        'InvalidArgument',
      );
      assert.equal(e.Message, 'Part number must be an integer between 1 and 10000, inclusive');
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    });

    it('should answer NoSuchUpload for an unknown, aborted or completed upload, on every operation', async () => {
      const key = 'complete/nosuch';
      const id = await createUpload(key);
      const e1 = await putPart(key, id, 1, small);
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }] },
        }),
      );
      // Another part list than the one it completed with (the same one is a retry, answered as the first).
      const e = assertS3Error(
        await raw('POST', key, { uploadId: id }, completeXml([{ n: 2, etag: e1 }])),
        404,
        'NoSuchUpload',
      );
      assert.equal(
        e.Message,
        'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      );
      assert.equal(e.UploadId, id);
      assertS3Error(await raw('PUT', key, { uploadId: id, partNumber: '2' }, small), 404, 'NoSuchUpload');
      assertS3Error(await raw('GET', key, { uploadId: id }), 404, 'NoSuchUpload');
      assertS3Error(await raw('DELETE', key, { uploadId: id }), 404, 'NoSuchUpload');
      assertS3Error(await raw('PUT', 'other-key', { uploadId: id, partNumber: '1' }, small), 404, 'NoSuchUpload');
      assertS3Error(await raw('GET', key, { uploadId: 'garbage' }), 404, 'NoSuchUpload');
      assert.equal((await getHash(key)).md5, md5hex(small), 'the completed object is intact');
    });

    it('should leave one consistent object when completes race, and answer each with it', async () => {
      const key = 'complete/race';
      const id = await createUpload(key);
      const e1 = await putPart(key, id, 1, p1);
      const e2 = await putPart(key, id, 2, small);
      const body = completeXml([
        { n: 1, etag: e1 },
        { n: 2, etag: e2 },
      ]);
      const rs = await Promise.all([1, 2, 3].map(() => raw('POST', key, { uploadId: id }, body)));
      assert.deepEqual(
        rs.map((r) => r.status),
        [200, 200, 200],
        rs.map((r) => r.text).join('\n'),
      );
      assert.equal(new Set(rs.map((r) => /<ETag>(.*)<\/ETag>/.exec(r.text)?.[1])).size, 1, 'one ETag for all');
      const got = await getHash(key);
      assert.equal(got.md5, md5hex(Buffer.concat([p1, small])));
    });

    it('should answer InvalidArgument for part numbers outside 1..10000 on UploadPart', async () => {
      const key = 'complete/partnum';
      const id = await createUpload(key);
      for (const n of ['0', '10001', 'x']) {
        const e = assertS3Error(await raw('PUT', key, { uploadId: id, partNumber: n }, small), 400, 'InvalidArgument');
        assert.equal(e.Message, 'Part number must be an integer between 1 and 10000, inclusive');
        assert.equal(e.ArgumentName, 'partNumber');
      }
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    });
  });

  describe('UploadPartCopy', () => {
    it('should copy ranges of an object into parts, re-encrypted, honouring x-amz-copy-source-if-*', async () => {
      const src = randomBytes(6 * MiB + 10);
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy/src', Body: src }));
      const key = 'copy/dst';
      const id = await createUpload(key);
      const a = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: 1,
          CopySource: `${bucket}/copy/src`,
          CopySourceRange: `bytes=0-${5 * MiB}`,
          CopySourceIfMatch: put.ETag,
        }),
      );
      const b = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          PartNumber: 2,
          CopySource: `${bucket}/copy/src`,
        }),
      );
      assert.equal(a.CopyPartResult?.ETag, `"${md5hex(src.subarray(0, 5 * MiB + 1))}"`);
      await rejectsS3(
        s3.send(
          new UploadPartCopyCommand({
            Bucket: bucket,
            Key: key,
            UploadId: id,
            PartNumber: 3,
            CopySource: `${bucket}/copy/src`,
            CopySourceIfNoneMatch: put.ETag,
          }),
        ),
        412,
        'PreconditionFailed',
      );
      let e = assertS3Error(
        await raw('PUT', key, { uploadId: id, partNumber: '3' }, undefined, {
          'x-amz-copy-source': `/${bucket}/copy/src`,
          'x-amz-copy-source-range': 'bytes=5-',
        }),
        400,
        'InvalidArgument',
      );
      assert.match(e.Message!, /^The x-amz-copy-source-range value must be of the form bytes=first-last/);
      e = assertS3Error(
        await raw('PUT', key, { uploadId: id, partNumber: '3' }, undefined, {
          'x-amz-copy-source': `/${bucket}/copy/src`,
          'x-amz-copy-source-range': `bytes=0-${src.length}`,
        }),
        400,
        'InvalidArgument',
      );
      assert.equal(e.Message, `Range specified is not valid for source object of size: ${src.length}`);
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: id,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: a.CopyPartResult!.ETag },
              { PartNumber: 2, ETag: b.CopyPartResult!.ETag },
            ],
          },
        }),
      );
      const got = await getHash(key);
      assert.equal(got.md5, md5hex(Buffer.concat([src.subarray(0, 5 * MiB + 1), src])));
    });
  });

  describe('ListParts and ListMultipartUploads', () => {
    it('should page parts with part-number-marker and max-parts', async () => {
      const key = 'list/parts';
      const id = await createUpload(key);
      for (const n of [1, 2, 3, 5, 8]) await putPart(key, id, n, Buffer.from(`part ${n}`));
      const p1 = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id, MaxParts: 2 }));
      assert.deepEqual(
        p1.Parts?.map((p) => p.PartNumber),
        [1, 2],
      );
      assert.equal(p1.IsTruncated, true);
      assert.equal(p1.NextPartNumberMarker, '2');
      assert.equal(p1.Parts?.[0]?.ETag, `"${md5hex('part 1')}"`);
      assert.equal(p1.Parts?.[0]?.Size, 6);
      const p2 = await s3.send(
        new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: id, PartNumberMarker: p1.NextPartNumberMarker }),
      );
      assert.deepEqual(
        p2.Parts?.map((p) => p.PartNumber),
        [3, 5, 8],
      );
      assert.equal(p2.IsTruncated, false);
      assertS3Error(await raw('GET', key, { uploadId: id, 'max-parts': '-1' }), 400, 'InvalidArgument');
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
    });

    it('should list uploads with prefix, delimiter, key-marker, upload-id-marker and max-uploads', async () => {
      const ids: Record<string, string> = {};
      for (const k of ['lu/a/1', 'lu/a/2', 'lu/b', 'lu/c']) ids[k] = await createUpload(k);
      const second = await createUpload('lu/b');
      const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'lu/' }));
      assert.deepEqual(
        all.Uploads?.map((u) => u.Key),
        ['lu/a/1', 'lu/a/2', 'lu/b', 'lu/b', 'lu/c'],
      );
      assert.equal(all.Uploads?.[2]?.UploadId, ids['lu/b']);
      assert.equal(all.Uploads?.[3]?.UploadId, second);
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'lu/', MaxUploads: 3 }));
      assert.equal(page.IsTruncated, true);
      assert.equal(page.NextKeyMarker, 'lu/b');
      assert.equal(page.NextUploadIdMarker, ids['lu/b']);
      const rest = await s3.send(
        new ListMultipartUploadsCommand({
          Bucket: bucket,
          Prefix: 'lu/',
          KeyMarker: page.NextKeyMarker,
          UploadIdMarker: page.NextUploadIdMarker,
        }),
      );
      assert.deepEqual(
        rest.Uploads?.map((u) => u.UploadId),
        [second, ids['lu/c']],
      );
      const grouped = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'lu/', Delimiter: '/' }));
      assert.deepEqual(
        grouped.CommonPrefixes?.map((p) => p.Prefix),
        ['lu/a/'],
      );
      assert.deepEqual(
        grouped.Uploads?.map((u) => u.Key),
        ['lu/b', 'lu/b', 'lu/c'],
      );
      const e = assertS3Error(
        await raw('GET', undefined, { uploads: '', 'key-marker': 'lu/a', 'upload-id-marker': 'bogus' }),
        400,
        'InvalidArgument',
      );
      assert.equal(e.Message, 'Invalid uploadId marker');
      for (const [k, id] of [...Object.entries(ids), ['lu/b', second]])
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: k, UploadId: id }));
    });
  });

  describe('clean-up', () => {
    async function blobCount(): Promise<number> {
      let n = 0;
      const root = join(server.dataDir, 'blobs');
      for (const xx of await readdir(root))
        for (const yy of await readdir(join(root, xx))) n += (await readdir(join(root, xx, yy))).length;
      return n;
    }
    const settle = () => new Promise((r) => setTimeout(r, 100));

    it("should free the parts' files on abort and a replaced part's old file", async () => {
      await settle();
      const before = await blobCount();
      const key = 'cleanup/abort';
      const id = await createUpload(key);
      await putPart(key, id, 1, randomBytes(100_000));
      await putPart(key, id, 1, randomBytes(100_000));
      await putPart(key, id, 2, randomBytes(10));
      await eventually(async () => assert.equal(await blobCount(), before + 2, "the replaced part's file is gone"));
      const r = await raw('DELETE', key, { uploadId: id });
      assert.equal(r.status, 204);
      await eventually(async () => assert.equal(await blobCount(), before));
    });

    it("should delete a bucket with only uploads left, aborting them and freeing their parts' files", async () => {
      const b2 = 'mp-e2e-del';
      const before = await blobCount();
      await s3.send(new CreateBucketCommand({ Bucket: b2 }));
      const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: b2, Key: 'k' }));
      const Body = randomBytes(100_000);
      await s3.send(new UploadPartCommand({ Bucket: b2, Key: 'k', UploadId: up.UploadId, PartNumber: 1, Body }));
      const r = await signedSend(server, { method: 'DELETE', path: `/${b2}` });
      assert.equal(r.status, 204, r.text);
      await eventually(async () => assert.equal(await blobCount(), before));
      await s3.send(new CreateBucketCommand({ Bucket: b2 }));
      const query = { uploadId: up.UploadId! };
      assertS3Error(await signedSend(server, { method: 'GET', path: objectPath(b2, 'k'), query }), 404, 'NoSuchUpload');
      await s3.send(new DeleteBucketCommand({ Bucket: b2 }));
    });
  });

  describe('SSE-C multipart', () => {
    const key = randomBytes(32);
    const other = randomBytes(32);
    const ssec = (k: Buffer) => ({
      SSECustomerAlgorithm: 'AES256',
      SSECustomerKey: k.toString('base64'),
      SSECustomerKeyMD5: createHash('md5').update(k).digest('base64'),
    });
    const ssecHeaders = (k: Buffer) => ({
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': k.toString('base64'),
      'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(k).digest('base64'),
    });

    it('should round-trip with lib-storage and the same key on every part, and need the key for ?partNumber', async () => {
      const data = randomBytes(11 * MiB + 7);
      const upload = new Upload({
        client: s3,
        partSize: 5 * MiB,
        queueSize: 4,
        params: { Bucket: bucket, Key: 'ssec/obj', Body: data, ...ssec(key) },
      });
      const done = await upload.done();
      assert.match(done.ETag!, /-3"$/);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ssec/obj', ...ssec(key) }));
      assert.equal(got.SSECustomerKeyMD5, ssec(key).SSECustomerKeyMD5);
      assert.ok((await bodyBytes(got.Body)).equals(data));
      const part = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: 'ssec/obj', PartNumber: 2, ...ssec(key) }),
      );
      assert.ok((await bodyBytes(part.Body)).equals(data.subarray(5 * MiB, 10 * MiB)));
      await rejectsS3(
        s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ssec/obj', PartNumber: 2 })),
        400,
        'InvalidRequest',
      );
      await rejectsS3(
        s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'ssec/obj', PartNumber: 1, ...ssec(other) })),
        403,
      );
    });

    it("should check each part's key against the upload's (Part B rows 10–12) and accept SSE-C headers on Complete and ListParts", async () => {
      const k = 'ssec/rows';
      const create = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: k, ...ssec(key) }));
      assert.equal(create.SSECustomerKeyMD5, ssec(key).SSECustomerKeyMD5);
      assert.equal(create.ServerSideEncryption, undefined);
      const id = create.UploadId!;
      const body = Buffer.from('ssec part');
      let e = assertS3Error(await raw('PUT', k, { uploadId: id, partNumber: '1' }, body), 400, 'InvalidRequest');
      assert.equal(
        e.Message,
        'The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.',
      );
      e = assertS3Error(
        await raw('PUT', k, { uploadId: id, partNumber: '1' }, body, ssecHeaders(other)),
        403,
        'AccessDenied',
      );
      assert.equal(e.Message, 'The provided encryption parameters did not match the ones used originally.');
      e = assertS3Error(
        await raw('PUT', k, { uploadId: id, partNumber: '1' }, undefined, {
          'x-amz-copy-source': `/${bucket}/copy/src`,
        }),
        400,
        'InvalidRequest',
      );
      const ok = await raw('PUT', k, { uploadId: id, partNumber: '1' }, body, ssecHeaders(key));
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.headers['x-amz-server-side-encryption-customer-key-md5'], ssec(key).SSECustomerKeyMD5);
      assert.notEqual(ok.headers.etag, `"${md5hex(body)}"`, 'an SSE-C part ETag is not the MD5');
      const list = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: k, UploadId: id, ...ssec(key) }));
      assert.equal(list.Parts?.length, 1);
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: k,
          UploadId: id,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: ok.headers.etag as string }] },
          ...ssec(key),
        }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k, ...ssec(key) }));
      assert.ok((await bodyBytes(got.Body)).equals(body));

      const plain = await createUpload('ssec/plain');
      e = assertS3Error(
        await raw('PUT', 'ssec/plain', { uploadId: plain, partNumber: '1' }, body, ssecHeaders(key)),
        400,
        'InvalidRequest',
      );
      assert.equal(e.Message, 'The encryption parameters are not applicable to this object.');
      e = assertS3Error(
        await raw('PUT', 'ssec/plain', { uploadId: plain, partNumber: '1' }, body, {
          'x-amz-server-side-encryption': 'AES256',
        }),
        400,
        'InvalidArgument',
      );
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'ssec/plain', UploadId: plain }));
    });
  });
});

/** The bytes of deterministicStream(size, 'big') from `offset` on (regenerated, then skipped). */
async function* deterministicTail(size: number, offset: number): AsyncGenerator<Uint8Array> {
  let pos = 0;
  for await (const chunk of deterministicStream(size, 'big')) {
    const b = chunk as Buffer;
    if (pos + b.length > offset) yield b.subarray(Math.max(0, offset - pos));
    pos += b.length;
  }
}

/**
 * A reflected CRC with init and final XOR all ones (CRC32C, CRC64NVME), table-driven on two 32-bit halves: an
 * implementation independent of the server's, for the expected values.
 */
function reflectedCrc(data: Buffer, width: 32 | 64, poly: bigint): Buffer {
  const table: [number, number][] = [];
  for (let n = 0; n < 256; n++) {
    let c = BigInt(n);
    for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ poly : c >> 1n;
    table.push([Number(c >> 32n), Number(c & 0xffffffffn)]);
  }
  let hi = width === 64 ? 0xffffffff : 0;
  let lo = 0xffffffff;
  for (const byte of data) {
    const [th, tl] = table[(lo ^ byte) & 0xff]!;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ tl;
    hi = (hi >>> 8) ^ th;
  }
  const out = Buffer.alloc(width / 8);
  if (width === 64) {
    out.writeUInt32BE(~hi >>> 0, 0);
    out.writeUInt32BE(~lo >>> 0, 4);
  } else out.writeUInt32BE(~lo >>> 0, 0);
  return out;
}

/** A checksum as S3 sends it: base64 of the big-endian digest. */
function checksumB64(alg: 'CRC32C' | 'CRC64NVME' | 'SHA256', data: Buffer): string {
  if (alg === 'SHA256') return createHash('sha256').update(data).digest('base64');
  return (
    alg === 'CRC32C' ? reflectedCrc(data, 32, 0x82f63b78n) : reflectedCrc(data, 64, 0x9a6c9329ac4bc9b5n)
  ).toString('base64');
}
