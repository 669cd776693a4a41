/**
 * SSE-C and SSE-S3 end to end (issue 4): every row of S3-ENCRYPTION.md Part B's validation table that a single
 * object operation can show, SSE-C on put/get/head/copy/presigned with the JS SDK, boto3 and the aws CLI, bucket
 * default encryption, and the customer key never kept anywhere in the data directory or the log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { filesUnder } from '@coffer/blob-store/testing';
import { presignUrl } from '@coffer/sigv4';
import { startServer, type RunningServer } from './helpers/server.ts';
import { Clients, describeRun } from './helpers/clients.ts';
import { assertS3Error, objectPath, signedSend } from './helpers/http.ts';
import { bodyBytes, md5hex, rejectsS3 } from './helpers/assert.ts';

const BUCKET = 'ssec-bucket';
const b64 = (b: Buffer) => b.toString('base64');
const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');

/** A boto3 snippet that runs `call` and prints the S3 error code and HTTP status it fails with ("no error" if none). */
function errorOf(call: string): string {
  return `
try:
    ${call}
    print('no error')
except ClientError as e:
    print(e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'])
`;
}

/** The three SSE-C headers for a key. */
function ssecHeaders(key: Buffer, prefix = 'x-amz-server-side-encryption-customer-'): Record<string, string> {
  return { [`${prefix}algorithm`]: 'AES256', [`${prefix}key`]: b64(key), [`${prefix}key-md5`]: md5b64(key) };
}

describe('SSE-C end to end', () => {
  let server: RunningServer;
  let clients: Clients;
  let sdk: S3Client;
  const key = randomBytes(32);
  const otherKey = randomBytes(32);
  const data = randomBytes(200_000);

  before(async () => {
    server = await startServer();
    clients = await Clients.create(server);
    sdk = clients.sdk();
    await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    sdk?.destroy();
    await clients?.cleanup();
    await server?.stop({ removeDir: true });
  });

  const ssec = (k: Buffer) => ({
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKey: b64(k),
    SSECustomerKeyMD5: md5b64(k),
  });

  describe('PutObject, GetObject, HeadObject (JS SDK)', () => {
    it('should round-trip an SSE-C object, echo the algorithm and key MD5, and give an ETag that is not the MD5', async () => {
      const put = await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'obj', Body: data, ...ssec(key) }));
      assert.equal(put.SSECustomerAlgorithm, 'AES256');
      assert.equal(put.SSECustomerKeyMD5, md5b64(key));
      assert.equal(put.ServerSideEncryption, undefined);
      assert.match(put.ETag!, /^"[0-9a-f]{32}"$/);
      assert.notEqual(put.ETag, `"${md5hex(data)}"`);
      const got = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'obj', ...ssec(key) }));
      assert.deepEqual(await bodyBytes(got.Body), data);
      assert.equal(got.ETag, put.ETag);
      assert.equal(got.SSECustomerKeyMD5, md5b64(key));
      const range = await sdk.send(
        new GetObjectCommand({ Bucket: BUCKET, Key: 'obj', Range: 'bytes=70000-140000', ...ssec(key) }),
      );
      assert.deepEqual(await bodyBytes(range.Body), data.subarray(70000, 140001));
      const head = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'obj', ...ssec(key) }));
      assert.equal(head.ContentLength, data.length);
    });

    it('should check the key of a 0-byte object from metadata (403 for a wrong key)', async () => {
      await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'empty', Body: Buffer.alloc(0), ...ssec(key) }));
      await rejectsS3(
        sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'empty', ...ssec(otherKey) })),
        403,
        'AccessDenied',
      );
      await rejectsS3(sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'empty', ...ssec(otherKey) })), 403);
      const ok = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'empty', ...ssec(key) }));
      assert.equal((await bodyBytes(ok.Body)).length, 0);
    });

    it('should accept GET with algorithm and key but no key MD5 (Part A)', async () => {
      const r = await signedSend(server, {
        method: 'GET',
        path: objectPath(BUCKET, 'obj'),
        headers: {
          'x-amz-server-side-encryption-customer-algorithm': 'AES256',
          'x-amz-server-side-encryption-customer-key': b64(key),
        },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, data);
    });
  });

  describe('validation table (S3-ENCRYPTION.md Part B 2.2)', () => {
    const put = (headers: Record<string, string>) =>
      signedSend(server, { method: 'PUT', path: objectPath(BUCKET, 'v'), headers, body: Buffer.from('x') });
    const get = (headers: Record<string, string>, method = 'GET', k = 'obj') =>
      signedSend(server, { method, path: objectPath(BUCKET, k), headers });

    it('row 1: SSE-C with x-amz-server-side-encryption is 400 InvalidArgument', async () => {
      const e = assertS3Error(
        await put({ ...ssecHeaders(key), 'x-amz-server-side-encryption': 'AES256' }),
        400,
        'InvalidArgument',
      );
      assert.equal(
        e.Message,
        'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
      );
    });
    it('row 2: an algorithm other than AES256 is 400', async () => {
      const r = await put({ ...ssecHeaders(key), 'x-amz-server-side-encryption-customer-algorithm': 'AES128' });
      assert.equal(r.status, 400);
      assert.match(r.text, /<Code>(InvalidArgument|InvalidEncryptionAlgorithmError)<\/Code>/);
    });
    it('row 2: a key without an algorithm is 400 InvalidArgument', async () => {
      const h = ssecHeaders(key);
      delete h['x-amz-server-side-encryption-customer-algorithm'];
      const e = assertS3Error(await put(h), 400, 'InvalidArgument');
      assert.equal(
        e.Message,
        'Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.',
      );
    });
    it('row 3: an algorithm without a key is 400 InvalidArgument', async () => {
      const e = assertS3Error(
        await put({ 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }),
        400,
        'InvalidArgument',
      );
      assert.equal(
        e.Message,
        'Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.',
      );
    });
    it('row 4: a PUT without the key MD5 is 400 InvalidArgument', async () => {
      const h = ssecHeaders(key);
      delete h['x-amz-server-side-encryption-customer-key-md5'];
      const e = assertS3Error(await put(h), 400, 'InvalidArgument');
      assert.equal(
        e.Message,
        'Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.',
      );
    });
    it('row 5: a key that is not 32 bytes is 400 InvalidArgument', async () => {
      const short = randomBytes(10);
      const e = assertS3Error(await put(ssecHeaders(short)), 400, 'InvalidArgument');
      assert.equal(e.Message, 'The secret key was invalid for the specified algorithm.');
    });
    it('row 6: a key MD5 that does not match is 400 InvalidArgument', async () => {
      const e = assertS3Error(
        await put({ ...ssecHeaders(key), 'x-amz-server-side-encryption-customer-key-md5': md5b64(otherKey) }),
        400,
        'InvalidArgument',
      );
      assert.equal(e.Message, 'The calculated MD5 hash of the key did not match the hash that was provided.');
    });
    it('row 7: GET of an SSE-C object without its key is 400 InvalidRequest; HEAD 400 with no body', async () => {
      const e = assertS3Error(await get({}), 400, 'InvalidRequest');
      assert.equal(
        e.Message,
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
      );
      const head = await get({}, 'HEAD');
      assert.equal(head.status, 400);
      assert.equal(head.body.length, 0);
    });
    it('row 8: GET with a well-formed wrong key is 403 AccessDenied; HEAD 403 with no body', async () => {
      const e = assertS3Error(await get(ssecHeaders(otherKey)), 403, 'AccessDenied');
      assert.equal(
        e.Message,
        'Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.',
      );
      const head = await get(ssecHeaders(otherKey), 'HEAD');
      assert.equal(head.status, 403);
      assert.equal(head.body.length, 0);
    });
    it('row 9: SSE-C headers on GET of an SSE-S3 object are 400 InvalidRequest', async () => {
      await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain', Body: Buffer.from('plain') }));
      const e = assertS3Error(await get(ssecHeaders(key), 'GET', 'plain'), 400, 'InvalidRequest');
      assert.equal(e.Message, 'The encryption parameters are not applicable to this object.');
    });
    it('should refuse x-amz-server-side-encryption on GET with 400', async () => {
      assertS3Error(await get({ 'x-amz-server-side-encryption': 'AES256' }, 'GET', 'plain'), 400, 'InvalidArgument');
    });
    it('should answer aws:kms with 501 NotImplemented and an unknown value with 400 InvalidArgument', async () => {
      assertS3Error(await put({ 'x-amz-server-side-encryption': 'aws:kms' }), 501, 'NotImplemented');
      const e = assertS3Error(await put({ 'x-amz-server-side-encryption': 'aes256' }), 400, 'InvalidArgument');
      assert.equal(e.Message, 'The encryption method specified is not supported');
    });
  });

  describe('CopyObject', () => {
    it('should copy SSE-C → SSE-C under a new key, SSE-C → SSE-S3 and SSE-S3 → SSE-C, byte-exact', async () => {
      await sdk.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'c-new-key',
          CopySource: `${BUCKET}/obj`,
          ...ssec(otherKey),
          CopySourceSSECustomerAlgorithm: 'AES256',
          CopySourceSSECustomerKey: b64(key),
          CopySourceSSECustomerKeyMD5: md5b64(key),
        }),
      );
      const a = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c-new-key', ...ssec(otherKey) }));
      assert.deepEqual(await bodyBytes(a.Body), data);
      await rejectsS3(
        sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c-new-key', ...ssec(key) })),
        403,
        'AccessDenied',
      );

      const toS3 = await sdk.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'c-sse-s3',
          CopySource: `${BUCKET}/obj`,
          CopySourceSSECustomerAlgorithm: 'AES256',
          CopySourceSSECustomerKey: b64(key),
          CopySourceSSECustomerKeyMD5: md5b64(key),
        }),
      );
      assert.equal(toS3.ServerSideEncryption, 'AES256');
      assert.equal(toS3.CopyObjectResult?.ETag, `"${md5hex(data)}"`);
      const b = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c-sse-s3' }));
      assert.deepEqual(await bodyBytes(b.Body), data);

      await sdk.send(
        new CopyObjectCommand({ Bucket: BUCKET, Key: 'c-back', CopySource: `${BUCKET}/c-sse-s3`, ...ssec(key) }),
      );
      const c = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'c-back', ...ssec(key) }));
      assert.deepEqual(await bodyBytes(c.Body), data);
    });

    it("should rotate an object's key by copying it onto itself, and refuse a wrong source key", async () => {
      await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'rot', Body: data, ...ssec(key) }));
      await rejectsS3(
        sdk.send(
          new CopyObjectCommand({
            Bucket: BUCKET,
            Key: 'rot',
            CopySource: `${BUCKET}/rot`,
            ...ssec(otherKey),
            CopySourceSSECustomerAlgorithm: 'AES256',
            CopySourceSSECustomerKey: b64(otherKey),
            CopySourceSSECustomerKeyMD5: md5b64(otherKey),
          }),
        ),
        403,
        'AccessDenied',
      );
      await sdk.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'rot',
          CopySource: `${BUCKET}/rot`,
          ...ssec(otherKey),
          CopySourceSSECustomerAlgorithm: 'AES256',
          CopySourceSSECustomerKey: b64(key),
          CopySourceSSECustomerKeyMD5: md5b64(key),
        }),
      );
      const r = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'rot', ...ssec(otherKey) }));
      assert.deepEqual(await bodyBytes(r.Body), data);
      await rejectsS3(
        sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'rot', ...ssec(key) })),
        403,
        'AccessDenied',
      );
    });

    it('should refuse a copy of an SSE-C source without its key with 400 InvalidRequest', async () => {
      await rejectsS3(
        sdk.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'nokey', CopySource: `${BUCKET}/obj` })),
        400,
        'InvalidRequest',
      );
    });
  });

  describe('UploadPartCopy', () => {
    it("should copy an SSE-C source into an SSE-C upload under another key, and refuse a part without the upload's key", async () => {
      const { UploadId } = await sdk.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp-copy', ...ssec(otherKey) }),
      );
      const source = {
        CopySource: `${BUCKET}/obj`,
        CopySourceSSECustomerAlgorithm: 'AES256',
        CopySourceSSECustomerKey: b64(key),
        CopySourceSSECustomerKeyMD5: md5b64(key),
      };
      await rejectsS3(
        sdk.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'mp-copy', UploadId, PartNumber: 1, ...source })),
        400,
        'InvalidRequest',
      );
      const part = await sdk.send(
        new UploadPartCopyCommand({
          Bucket: BUCKET,
          Key: 'mp-copy',
          UploadId,
          PartNumber: 1,
          ...source,
          ...ssec(otherKey),
        }),
      );
      assert.equal(part.SSECustomerKeyMD5, md5b64(otherKey));
      await sdk.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: 'mp-copy',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult!.ETag }] },
          ...ssec(otherKey),
        }),
      );
      const got = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mp-copy', ...ssec(otherKey) }));
      assert.deepEqual(await bodyBytes(got.Body), data);
      await rejectsS3(
        sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mp-copy', PartNumber: 1 })),
        400,
        'InvalidRequest',
      );
    });
  });

  describe('presigned URLs', () => {
    it('should serve an SSE-C GET through a presigned URL with the key sent as headers', async () => {
      const url = await getSignedUrl(sdk, new GetObjectCommand({ Bucket: BUCKET, Key: 'obj', ...ssec(key) }), {
        expiresIn: 300,
      });
      const ok = await fetch(url, { headers: ssecHeaders(key) });
      assert.equal(ok.status, 200);
      assert.deepEqual(Buffer.from(await ok.arrayBuffer()), data);
      // The SDK signs the SSE-C headers, so a request without them no longer matches the signature.
      const without = await fetch(url);
      assert.equal(without.status, 403);
      assert.match(await without.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    });

    it('should read SSE-C parameters from the query string (case-insensitively) and require them to agree with headers', async () => {
      // A hoisting client puts the parameters in the query before signing.
      const target = `${server.url}${objectPath(BUCKET, 'obj')}?x-amz-server-side-encryption-customer-algorithm=AES256&X-Amz-Server-Side-Encryption-Customer-Key=${encodeURIComponent(b64(key))}`;
      const creds = { expiresIn: 300, accessKeyId: server.accessKey, secretAccessKey: server.secretKey };
      const ok = await fetch(presignUrl({ method: 'GET', url: target, ...creds }));
      assert.equal(ok.status, 200);
      assert.deepEqual(Buffer.from(await ok.arrayBuffer()), data);
      // Both in the query and as a (signed) header, with different values: refused.
      const both = presignUrl({
        method: 'GET',
        url: target,
        ...creds,
        signedHeaders: { 'x-amz-server-side-encryption-customer-key': b64(otherKey) },
      });
      const disagree = await fetch(both, { headers: { 'x-amz-server-side-encryption-customer-key': b64(otherKey) } });
      assert.equal(disagree.status, 400);
      assert.match(await disagree.text(), /<Code>InvalidArgument<\/Code>/);
      // As an unsigned header next to the query: AWS's "headers present in the request which were not signed".
      const unsigned = await fetch(presignUrl({ method: 'GET', url: target, ...creds }), {
        headers: { 'x-amz-server-side-encryption-customer-key': b64(key) },
      });
      assert.equal(unsigned.status, 403);
    });
  });

  describe('boto3 and the aws CLI', () => {
    it('should put, get, head and copy with boto3 SSECustomerKey', async () => {
      const r = await clients.boto3(`
key = bytes.fromhex('${key.toString('hex')}')
new = bytes.fromhex('${otherKey.toString('hex')}')
body = bytes.fromhex('${data.subarray(0, 5000).toString('hex')}')
s3.put_object(Bucket='${BUCKET}', Key='boto', Body=body, SSECustomerAlgorithm='AES256', SSECustomerKey=key)
assert s3.get_object(Bucket='${BUCKET}', Key='boto', SSECustomerAlgorithm='AES256', SSECustomerKey=key)['Body'].read() == body
h = s3.head_object(Bucket='${BUCKET}', Key='boto', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
assert h['SSECustomerAlgorithm'] == 'AES256', h
s3.copy_object(Bucket='${BUCKET}', Key='boto2', CopySource={'Bucket': '${BUCKET}', 'Key': 'boto'}, SSECustomerAlgorithm='AES256', SSECustomerKey=new,
    CopySourceSSECustomerAlgorithm='AES256', CopySourceSSECustomerKey=key)
assert s3.get_object(Bucket='${BUCKET}', Key='boto2', SSECustomerAlgorithm='AES256', SSECustomerKey=new)['Body'].read() == body
${errorOf(`s3.get_object(Bucket='${BUCKET}', Key='boto2', SSECustomerAlgorithm='AES256', SSECustomerKey=key)`)}`);
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout.trim(), 'AccessDenied 403');
    });

    it('should upload_file and download_file through multipart with SSECustomerKey (boto3)', async () => {
      const r = await clients.boto3(
        `
from boto3.s3.transfer import TransferConfig
key = bytes.fromhex('${key.toString('hex')}')
src = os.path.join(os.getcwd(), 'mp-src.bin')
dst = os.path.join(os.getcwd(), 'mp-dst.bin')
with open(src, 'wb') as f:
    f.write(os.urandom(13 * 1024 * 1024))
cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
extra = {'SSECustomerAlgorithm': 'AES256', 'SSECustomerKey': key}
s3.upload_file(src, '${BUCKET}', 'boto-mp', ExtraArgs=extra, Config=cfg)
s3.download_file('${BUCKET}', 'boto-mp', dst, ExtraArgs=extra, Config=cfg)
h = s3.head_object(Bucket='${BUCKET}', Key='boto-mp', SSECustomerAlgorithm='AES256', SSECustomerKey=key)
print(open(src, 'rb').read() == open(dst, 'rb').read(), h['ETag'].strip('"').endswith('-3'), h['SSECustomerAlgorithm'])
`,
        { timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout.trim(), 'True True AES256');
    });

    it('should cp with --sse-c and use s3api --sse-customer-* with the aws CLI', async () => {
      const keyFile = join(clients.dir, 'ssec.key');
      await writeFile(keyFile, key);
      const src = join(clients.dir, 'cli-src.bin');
      await writeFile(src, data);
      const up = await clients.aws([
        's3',
        'cp',
        src,
        `s3://${BUCKET}/cli.bin`,
        '--sse-c',
        'AES256',
        '--sse-c-key',
        `fileb://${keyFile}`,
      ]);
      assert.equal(up.code, 0, describeRun(up));
      const dst = join(clients.dir, 'cli-dst.bin');
      const down = await clients.aws([
        's3api',
        'get-object',
        '--bucket',
        BUCKET,
        '--key',
        'cli.bin',
        '--sse-customer-algorithm',
        'AES256',
        '--sse-customer-key',
        `fileb://${keyFile}`,
        dst,
      ]);
      assert.equal(down.code, 0, describeRun(down));
      assert.deepEqual(await readFile(dst), data);
      const wrong = await clients.aws(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'cli.bin']);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /400/);
    });
  });

  describe('bucket default encryption', () => {
    it('should answer the implicit AES256 default, store a configuration, and delete it with 204', async () => {
      const implicit = await sdk.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
      assert.equal(
        implicit.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
        'AES256',
      );
      await sdk.send(
        new PutBucketEncryptionCommand({
          Bucket: BUCKET,
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
        }),
      );
      const set = await sdk.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
      assert.equal(
        set.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
        'AES256',
      );
      await rejectsS3(
        sdk.send(
          new PutBucketEncryptionCommand({
            Bucket: BUCKET,
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'k' } }],
            },
          }),
        ),
        501,
        'NotImplemented',
      );
      await rejectsS3(
        sdk.send(
          new PutBucketEncryptionCommand({
            Bucket: BUCKET,
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256', KMSMasterKeyID: 'k' } }],
            },
          }),
        ),
        400,
        'InvalidArgument',
      );
      const del = await sdk.send(new DeleteBucketEncryptionCommand({ Bucket: BUCKET }));
      assert.equal(del.$metadata.httpStatusCode, 204);
      await rejectsS3(sdk.send(new GetBucketEncryptionCommand({ Bucket: 'no-such-bucket-here' })), 404, 'NoSuchBucket');
    });
  });

  describe('buckets that block SSE-C (Part B row 13)', () => {
    const BLOCKED = 'ssec-blocked';
    const blockedConfig = (types: string[]) => ({
      Bucket: BLOCKED,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' as const },
            BlockedEncryptionTypes: { EncryptionType: types as ('SSE-C' | 'NONE')[] },
          },
        ],
      },
    });
    const encryptionXml = (types: string) =>
      Buffer.from(
        `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BlockedEncryptionTypes>${types}</BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>`,
      );

    it('should refuse every SSE-C write with 403 AccessDenied, keep reads of existing SSE-C objects, and unblock with NONE', async () => {
      await sdk.send(new CreateBucketCommand({ Bucket: BLOCKED }));
      await sdk.send(new PutObjectCommand({ Bucket: BLOCKED, Key: 'before', Body: data, ...ssec(key) }));
      const { UploadId } = await sdk.send(
        new CreateMultipartUploadCommand({ Bucket: BLOCKED, Key: 'mp-before', ...ssec(key) }),
      );

      await sdk.send(new PutBucketEncryptionCommand(blockedConfig(['SSE-C'])));
      const shown = await sdk.send(new GetBucketEncryptionCommand({ Bucket: BLOCKED }));
      assert.deepEqual(shown.ServerSideEncryptionConfiguration?.Rules?.[0]?.BlockedEncryptionTypes?.EncryptionType, [
        'SSE-C',
      ]);
      assert.equal(
        shown.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
        'AES256',
      );

      // PutObject: refused before the key is looked at, so a key MD5 that does not match gets the same 403.
      const put = await signedSend(server, {
        method: 'PUT',
        path: objectPath(BLOCKED, 'new'),
        headers: ssecHeaders(key),
        body: Buffer.from('x'),
      });
      assert.equal(assertS3Error(put, 403, 'AccessDenied')['Message'], 'Access Denied');
      const badMd5 = { ...ssecHeaders(key), 'x-amz-server-side-encryption-customer-key-md5': md5b64(otherKey) };
      assertS3Error(
        await signedSend(server, {
          method: 'PUT',
          path: objectPath(BLOCKED, 'new'),
          headers: badMd5,
          body: Buffer.from('x'),
        }),
        403,
        'AccessDenied',
      );
      // CopyObject to an SSE-C destination, CreateMultipartUpload, and a part of an upload begun before the block.
      await rejectsS3(
        sdk.send(
          new CopyObjectCommand({
            Bucket: BLOCKED,
            Key: 'copy',
            CopySource: `${BLOCKED}/before`,
            ...ssec(otherKey),
            CopySourceSSECustomerAlgorithm: 'AES256',
            CopySourceSSECustomerKey: b64(key),
            CopySourceSSECustomerKeyMD5: md5b64(key),
          }),
        ),
        403,
        'AccessDenied',
      );
      await rejectsS3(
        sdk.send(new CreateMultipartUploadCommand({ Bucket: BLOCKED, Key: 'mp', ...ssec(key) })),
        403,
        'AccessDenied',
      );
      await rejectsS3(
        sdk.send(
          new UploadPartCommand({
            Bucket: BLOCKED,
            Key: 'mp-before',
            UploadId,
            PartNumber: 1,
            Body: data,
            ...ssec(key),
          }),
        ),
        403,
        'AccessDenied',
      );
      await sdk.send(new AbortMultipartUploadCommand({ Bucket: BLOCKED, Key: 'mp-before', UploadId }));
      // boto3 gets the same answer.
      const r = await clients.boto3(
        errorOf(
          `s3.put_object(Bucket='${BLOCKED}', Key='boto', Body=b'x', SSECustomerAlgorithm='AES256', SSECustomerKey=bytes.fromhex('${key.toString('hex')}'))`,
        ),
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.stdout.trim(), 'AccessDenied 403');

      // Reads of existing SSE-C objects, copies out of them to SSE-S3, and SSE-S3 writes go on.
      const got = await sdk.send(new GetObjectCommand({ Bucket: BLOCKED, Key: 'before', ...ssec(key) }));
      assert.deepEqual(await bodyBytes(got.Body), data);
      assert.equal(
        (await sdk.send(new HeadObjectCommand({ Bucket: BLOCKED, Key: 'before', ...ssec(key) }))).ContentLength,
        data.length,
      );
      await sdk.send(
        new CopyObjectCommand({
          Bucket: BLOCKED,
          Key: 'plain-copy',
          CopySource: `${BLOCKED}/before`,
          CopySourceSSECustomerAlgorithm: 'AES256',
          CopySourceSSECustomerKey: b64(key),
          CopySourceSSECustomerKeyMD5: md5b64(key),
        }),
      );
      assert.deepEqual(
        await bodyBytes((await sdk.send(new GetObjectCommand({ Bucket: BLOCKED, Key: 'plain-copy' }))).Body),
        data,
      );
      assert.equal(
        (await sdk.send(new PutObjectCommand({ Bucket: BLOCKED, Key: 'sse-s3', Body: 'y' }))).ServerSideEncryption,
        'AES256',
      );

      // NONE unblocks; deleting the configuration also leaves SSE-C allowed (Coffer's default).
      await sdk.send(new PutBucketEncryptionCommand(blockedConfig(['NONE'])));
      const unblocked = await sdk.send(new GetBucketEncryptionCommand({ Bucket: BLOCKED }));
      assert.deepEqual(
        unblocked.ServerSideEncryptionConfiguration?.Rules?.[0]?.BlockedEncryptionTypes?.EncryptionType,
        ['NONE'],
      );
      await sdk.send(new PutObjectCommand({ Bucket: BLOCKED, Key: 'after', Body: 'z', ...ssec(key) }));
      await sdk.send(new PutBucketEncryptionCommand(blockedConfig(['SSE-C'])));
      await sdk.send(new DeleteBucketEncryptionCommand({ Bucket: BLOCKED }));
      const reset = await sdk.send(new GetBucketEncryptionCommand({ Bucket: BLOCKED }));
      assert.equal(reset.ServerSideEncryptionConfiguration?.Rules?.[0]?.BlockedEncryptionTypes, undefined);
      await sdk.send(new PutObjectCommand({ Bucket: BLOCKED, Key: 'after', Body: 'z', ...ssec(otherKey) }));
    });

    it('should refuse an unknown EncryptionType, or SSE-C with NONE, with 400 MalformedXML and keep the configuration', async () => {
      await sdk.send(new PutBucketEncryptionCommand(blockedConfig(['SSE-C'])));
      for (const types of [
        '<EncryptionType>SSE-KMS</EncryptionType>',
        '<EncryptionType>SSE-C</EncryptionType><EncryptionType>NONE</EncryptionType>',
        '',
      ]) {
        const body = encryptionXml(types);
        const r = await signedSend(server, {
          method: 'PUT',
          path: `/${BLOCKED}`,
          query: { encryption: '' },
          headers: { 'content-md5': md5b64(body) },
          body,
        });
        assertS3Error(r, 400, 'MalformedXML');
      }
      const kept = await sdk.send(new GetBucketEncryptionCommand({ Bucket: BLOCKED }));
      assert.deepEqual(kept.ServerSideEncryptionConfiguration?.Rules?.[0]?.BlockedEncryptionTypes?.EncryptionType, [
        'SSE-C',
      ]);
      await sdk.send(new DeleteBucketEncryptionCommand({ Bucket: BLOCKED }));
    });

    it('should block and unblock with the aws CLI', async () => {
      const config = (t: string) =>
        JSON.stringify({
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
              BlockedEncryptionTypes: { EncryptionType: [t] },
            },
          ],
        });
      const block = await clients.aws([
        's3api',
        'put-bucket-encryption',
        '--bucket',
        BLOCKED,
        '--server-side-encryption-configuration',
        config('SSE-C'),
      ]);
      assert.equal(block.code, 0, describeRun(block));
      const shown = await clients.aws(['s3api', 'get-bucket-encryption', '--bucket', BLOCKED]);
      assert.equal(shown.code, 0, describeRun(shown));
      assert.deepEqual(JSON.parse(shown.stdout).ServerSideEncryptionConfiguration.Rules[0].BlockedEncryptionTypes, {
        EncryptionType: ['SSE-C'],
      });
      const keyFile = join(clients.dir, 'blocked.key');
      await writeFile(keyFile, key);
      const src = join(clients.dir, 'blocked-src.bin');
      await writeFile(src, data.subarray(0, 1000));
      const refused = await clients.aws([
        's3',
        'cp',
        src,
        `s3://${BLOCKED}/cli.bin`,
        '--sse-c',
        'AES256',
        '--sse-c-key',
        `fileb://${keyFile}`,
      ]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /AccessDenied|Access Denied|403/);
      const unblock = await clients.aws([
        's3api',
        'put-bucket-encryption',
        '--bucket',
        BLOCKED,
        '--server-side-encryption-configuration',
        config('NONE'),
      ]);
      assert.equal(unblock.code, 0, describeRun(unblock));
      const ok = await clients.aws([
        's3',
        'cp',
        src,
        `s3://${BLOCKED}/cli.bin`,
        '--sse-c',
        'AES256',
        '--sse-c-key',
        `fileb://${keyFile}`,
      ]);
      assert.equal(ok.code, 0, describeRun(ok));
    });
  });

  describe('the customer key is never echoed', () => {
    it('should leave it out of SignatureDoesNotMatch (CanonicalRequest and its bytes), signed as a header or in the query', async () => {
      const wrong = { ...server, secretKey: 'not-the-secret-key-at-all' };
      const r = await signedSend(wrong, {
        method: 'PUT',
        path: objectPath(BUCKET, 'echo'),
        headers: ssecHeaders(key),
        body: Buffer.from('x'),
      });
      const e = assertS3Error(r, 403, 'SignatureDoesNotMatch');
      assert.match(e['CanonicalRequest']!, /^x-amz-server-side-encryption-customer-key:\*{5}$/m);
      const target = `${server.url}${objectPath(BUCKET, 'obj')}?x-amz-server-side-encryption-customer-algorithm=AES256&x-amz-server-side-encryption-customer-key=${encodeURIComponent(b64(key))}`;
      const q = await fetch(
        presignUrl({
          method: 'GET',
          url: target,
          expiresIn: 300,
          accessKeyId: server.accessKey,
          secretAccessKey: wrong.secretKey,
        }),
      );
      const text = await q.text();
      assert.equal(q.status, 403);
      assert.match(text, /x-amz-server-side-encryption-customer-key=\*{5}/);
      for (const body of [r.text, text]) {
        for (const needle of [
          b64(key),
          encodeURIComponent(b64(key)),
          Buffer.from(b64(key)).toString('hex'),
          key.toString('hex'),
        ]) {
          assert.ok(!body.includes(needle) && !body.replace(/ /g, '').includes(needle), 'the key is in the error');
        }
      }
    });
  });

  describe('the customer key is never kept', () => {
    it('should leave no trace of the key, raw, base64 or hex, in any file of the data directory or in the log', async () => {
      const stderr = server.stderr();
      await server.stop();
      const needles = [key, otherKey].flatMap((k) => [
        k,
        Buffer.from(b64(k)),
        Buffer.from(k.toString('hex')),
        Buffer.from(k.toString('hex').toUpperCase()),
        Buffer.from(k.toString('base64url')),
      ]);
      const files = await filesUnder(server.dataDir);
      assert.ok(
        files.some((f) => f.includes(`${join('meta', '')}`)),
        'LevelDB files are scanned',
      );
      for (const file of files) {
        const bytes = await readFile(file);
        for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${file} holds the customer key`);
      }
      for (const n of needles) assert.ok(!stderr.includes(n.toString('latin1')), 'the log holds the customer key');
      server = await startServer({ dataDir: server.dataDir, accessKey: server.accessKey, secretKey: server.secretKey });
    });
  });
});
