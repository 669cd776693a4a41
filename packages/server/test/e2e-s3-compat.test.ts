/**
 * S3 behaviours that clients, retries and test suites depend on (issue 11), against the real server with real
 * clients: DeleteBucket with only incomplete uploads left, retried CompleteMultipartUpload, header handling
 * (`Expect`, raw UTF-8 values, `Content-Encoding` with aws-chunked), CreateBucket of an owned bucket, an empty
 * ListObjectsV2 continuation token and SSE-C copy ETags. (Lifecycle rule forms: e2e-lifecycle.test.ts.)
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { before, describe, it } from 'node:test';

import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

import { bodyBytes, generatorStream, md5hex, patternBytes, rejectsS3 } from './helpers/assert.ts';
import { describeRun, hasBoto3, hasProgram, sdkClient } from './helpers/clients.ts';
import { assertS3Error, objectPath, signHeaders, signedSend } from './helpers/http.ts';
import { addUser, makeTempDir, randomCredentials, startServer } from './helpers/server.ts';
import { serverForSuite } from './helpers/suite.ts';

describe('CreateBucket of a bucket the caller owns', () => {
  const t = serverForSuite(['own-again']);

  it('should answer 200 in us-east-1 and keep the objects and the configuration', async () => {
    await t.sdk.send(new PutObjectCommand({ Bucket: 'own-again', Key: 'kept', Body: 'still here' }));
    const TagSet = [{ Key: 'team', Value: 'storage' }];
    await t.sdk.send(new PutBucketTaggingCommand({ Bucket: 'own-again', Tagging: { TagSet } }));
    const r = await signedSend(t.server, { method: 'PUT', path: '/own-again' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['location'], '/own-again');
    const got = await t.sdk.send(new GetObjectCommand({ Bucket: 'own-again', Key: 'kept' }));
    assert.equal((await bodyBytes(got.Body)).toString(), 'still here');
    assert.deepEqual((await t.sdk.send(new GetBucketTaggingCommand({ Bucket: 'own-again' }))).TagSet, TagSet);
  });

  it('should still answer 409 BucketAlreadyExists to another user', async () => {
    const other = { ...randomCredentials(), name: 'other' };
    const dataDir = await makeTempDir();
    await addUser(dataDir, other);
    const server = await startServer({ dataDir });
    const owner = sdkClient(server, server);
    const stranger = sdkClient(server, other);
    try {
      await owner.send(new CreateBucketCommand({ Bucket: 'taken' }));
      await rejectsS3(stranger.send(new CreateBucketCommand({ Bucket: 'taken' })), 409, 'BucketAlreadyExists');
    } finally {
      owner.destroy();
      stranger.destroy();
      await server.stop({ removeDir: true });
    }
  });

  it('should answer 409 BucketAlreadyOwnedByYou in another region', async () => {
    const server = await startServer({ args: ['--region', 'eu-west-1'] });
    const sdk = sdkClient(server, server, { region: 'eu-west-1' });
    try {
      await sdk.send(new CreateBucketCommand({ Bucket: 'owned-eu' }));
      await rejectsS3(sdk.send(new CreateBucketCommand({ Bucket: 'owned-eu' })), 409, 'BucketAlreadyOwnedByYou');
    } finally {
      sdk.destroy();
      await server.stop({ removeDir: true });
    }
  });
});

describe('ListObjectsV2 with an empty continuation-token', () => {
  const t = serverForSuite(['list-empty-token']);
  before(async () => {
    for (const Key of ['a', 'b', 'c']) {
      await t.sdk.send(new PutObjectCommand({ Bucket: 'list-empty-token', Key, Body: Key }));
    }
  });

  it('should list from the start and echo the token empty', async () => {
    const query = { 'list-type': '2', 'continuation-token': '', 'max-keys': '2' };
    const r = await signedSend(t.server, { method: 'GET', path: '/list-empty-token', query });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<ContinuationToken><\/ContinuationToken>/);
    assert.deepEqual(
      [...r.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]),
      ['a', 'b'],
    );
    assert.match(r.text, /<IsTruncated>true<\/IsTruncated><ContinuationToken><\/ContinuationToken><NextContinuation/);
  });

  it('should still answer 400 InvalidArgument for a token that is not one', async () => {
    const query = { 'list-type': '2', 'continuation-token': 'bm90IGEgdG9rZW4' };
    const r = await signedSend(t.server, { method: 'GET', path: '/list-empty-token', query });
    assertS3Error(r, 400, 'InvalidArgument');
  });
});

/** Sends `head` (request line and headers, as UTF-8 bytes) and `body` on a fresh socket; resolves with all it got. */
function rawExchange(port: number, head: string, body = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('end', () => resolve(Buffer.concat(got)));
    socket.on('error', reject);
    socket.setTimeout(20_000, () => socket.destroy(new Error('raw exchange timed out')));
    // Not end(): the server drops a half-closed connection; `connection: close` makes it close after answering.
    socket.write(Buffer.concat([Buffer.from(head, 'utf8'), body]));
  });
}

/** A signed request written by hand: header values go out as their UTF-8 bytes, signed over those bytes. */
function rawRequest(
  server: { url: string; accessKey: string; secretKey: string },
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = Buffer.alloc(0),
): string {
  const { url, accessKey, secretKey } = server;
  const signed = signHeaders({ method, url, path, headers, body, accessKey, secretKey });
  const lines = Object.entries({ ...signed, 'content-length': String(body.length), connection: 'close' });
  return `${method} ${path} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

describe('request headers', () => {
  const B = 'headers';
  const t = serverForSuite([B]);
  const UTF8 = 'héllo wörld ✓ 日本';

  it('should ignore an Expect other than 100-continue, as S3 does (no 417)', async () => {
    const body = Buffer.from('expected');
    const path = objectPath(B, 'expect');
    const r = await signedSend(t.server, { method: 'PUT', path, headers: { expect: 'x-fancy' }, body });
    assert.equal(r.status, 200, r.text);
    const g = await signedSend(t.server, { method: 'GET', path, headers: { expect: 'nothing' } });
    assert.equal(g.status, 200, g.text);
    assert.deepEqual(g.body, body);
  });

  it('should verify raw UTF-8 header values over the bytes sent and give them back (raw socket)', async () => {
    const body = Buffer.from('body');
    const headers = { 'x-amz-meta-name': UTF8, 'content-disposition': `attachment; filename="${UTF8}"` };
    const head = rawRequest(t.server, 'PUT', objectPath(B, 'raw-utf8'), headers, body);
    const put = await rawExchange(t.server.port, head, body);
    assert.match(put.toString('latin1'), /^HTTP\/1\.1 200 /, put.toString('utf8'));
    for (const method of ['GET', 'HEAD']) {
      const got = await rawExchange(t.server.port, rawRequest(t.server, method, objectPath(B, 'raw-utf8')));
      assert.match(got.toString('latin1'), /^HTTP\/1\.1 200 /, got.toString('utf8'));
      for (const [name, value] of Object.entries(headers)) {
        const line = Buffer.from(`\r\n${name}: ${value}\r\n`, 'utf8');
        assert.ok(got.includes(line), `${method} gives ${name} back: ${got.toString('utf8').slice(0, 600)}`);
      }
    }
  });

  it('should answer a response-content-disposition with characters a header cannot carry with 400, not a 500', async () => {
    // Issue 10: a response-* value with a character above U+00FF is refused (InvalidArgument) before anything is sent;
    // a client names a UTF-8 file with RFC 6266's filename*=UTF-8''… (percent-encoded, plain ASCII), which passes.
    await t.sdk.send(new PutObjectCommand({ Bucket: B, Key: 'override', Body: 'x' }));
    const raw = { 'response-content-disposition': `attachment; filename="${UTF8}.txt"` };
    const refused = await signedSend(t.server, { method: 'GET', path: objectPath(B, 'override'), query: raw });
    assert.equal(refused.status, 400, refused.text);
    assert.match(refused.text, /<Code>InvalidArgument<\/Code>/);
    const encoded = `attachment; filename*=UTF-8''${encodeURIComponent(UTF8)}.txt`;
    const ok = await signedSend(t.server, {
      method: 'GET',
      path: objectPath(B, 'override'),
      query: { 'response-content-disposition': encoded },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.headers['content-disposition'], encoded);
  });

  it('should take and give back byte-exact the raw UTF-8 values boto3 sends', { skip: !hasBoto3() }, async () => {
    // botocore refuses non-ASCII Metadata unless its check is taken out, as applications that store UTF-8 do; it
    // never checks Content-Disposition. Both go out as raw UTF-8, signed over those bytes.
    const disposition = `attachment; filename="${UTF8}.pdf"`;
    const r = await t.clients.boto3(`
from botocore.handlers import validate_ascii_metadata
s3.meta.events.unregister('before-parameter-build.s3.PutObject', handler=validate_ascii_metadata)
s3.put_object(Bucket='${B}', Key='boto-utf8', Body=b'x', Metadata={'name': ${JSON.stringify(UTF8)}},
    ContentDisposition=${JSON.stringify(disposition)})
h = s3.head_object(Bucket='${B}', Key='boto-utf8')
g = s3.get_object(Bucket='${B}', Key='boto-utf8')
# http.client reads header values as latin1: their bytes are what the server sent
raw = lambda v: v.encode('latin1').hex()
print(json.dumps([raw(x) for r in (h, g) for x in (r['Metadata']['name'], r['ContentDisposition'])]))
`);
    assert.equal(r.code, 0, describeRun(r));
    const hex = (v: string) => Buffer.from(v, 'utf8').toString('hex');
    assert.deepEqual(JSON.parse(r.stdout), [hex(UTF8), hex(disposition), hex(UTF8), hex(disposition)]);
  });

  it('should keep the other codings of a Content-Encoding with aws-chunked exactly as sent', async () => {
    const data = Buffer.from('deflated, then gzipped (pretend)');
    const body = Buffer.from(`${data.length.toString(16)}\r\n${data.toString()}\r\n0\r\n\r\n`);
    const headers = {
      'content-encoding': 'deflate, aws-chunked, gzip',
      'x-amz-decoded-content-length': String(data.length),
    };
    const r = await signedSend(t.server, {
      method: 'PUT',
      path: objectPath(B, 'codings'),
      headers,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      body,
    });
    assert.equal(r.status, 200, r.text);
    const h = await signedSend(t.server, { method: 'HEAD', path: objectPath(B, 'codings') });
    assert.equal(h.headers['content-encoding'], 'deflate, gzip');
    assert.equal(h.headers['content-length'], String(data.length));
  });

  it('should keep a Content-Encoding the JS SDK sends with its aws-chunked stream', async () => {
    const data = patternBytes(100_000, 'sdk-codings');
    await t.sdk.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'sdk-codings',
        Body: generatorStream(data),
        ContentLength: data.length,
        ContentEncoding: 'br, gzip',
      }),
    );
    const h = await t.sdk.send(new HeadObjectCommand({ Bucket: B, Key: 'sdk-codings' }));
    assert.equal(h.ContentEncoding, 'br, gzip');
  });
});

describe('SSE-C copies', () => {
  const B = 'ssec-copies';
  const t = serverForSuite([B]);
  const key = randomBytes(32);
  const ssec = (k: Buffer) => ({
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKey: k.toString('base64'),
    SSECustomerKeyMD5: createHash('md5').update(k).digest('base64'),
  });
  const copySsec = (k: Buffer) => ({
    CopySourceSSECustomerAlgorithm: 'AES256',
    CopySourceSSECustomerKey: k.toString('base64'),
    CopySourceSSECustomerKeyMD5: createHash('md5').update(k).digest('base64'),
  });
  const etagOf = async (Key: string, k: Buffer) =>
    (await t.sdk.send(new HeadObjectCommand({ Bucket: B, Key, ...ssec(k) }))).ETag;
  /** CopyObject of `source` (under `key`) to `Key` under `k`. */
  const copy = (source: string, Key: string, k: Buffer) =>
    t.sdk.send(new CopyObjectCommand({ Bucket: B, Key, CopySource: `${B}/${source}`, ...copySsec(key), ...ssec(k) }));

  it('should give each copy of an SSE-C object a new ETag that is not the MD5, stable and listed', async () => {
    const data = patternBytes(10_000, 'ssec-copy');
    const put = await t.sdk.send(new PutObjectCommand({ Bucket: B, Key: 'src', Body: data, ...ssec(key) }));
    const other = randomBytes(32);
    const copies = [
      ['same-key', key],
      ['other-key', other],
      ['same-key-again', key],
    ] as const;
    const etags = [put.ETag];
    for (const [Key, k] of copies) {
      const r = await copy('src', Key, k);
      assert.match(r.CopyObjectResult!.ETag!, /^"[0-9a-f]{32}"$/);
      assert.equal(await etagOf(Key, k), r.CopyObjectResult!.ETag, 'HEAD gives the ETag the copy answered');
      etags.push(r.CopyObjectResult!.ETag);
    }
    // Onto itself (key rotation) is a copy too.
    const rotated = randomBytes(32);
    const r = await copy('src', 'src', rotated);
    etags.push(r.CopyObjectResult!.ETag);
    assert.equal(new Set([...etags, `"${md5hex(data)}"`]).size, etags.length + 1, etags.join(' '));
    const listed = await t.sdk.send(new ListObjectsV2Command({ Bucket: B }));
    const byKey = Object.fromEntries((listed.Contents ?? []).map((o) => [o.Key, o.ETag]));
    assert.deepEqual([byKey['same-key'], byKey['other-key'], byKey['same-key-again'], byKey['src']], etags.slice(1));
  });

  it('should give a copy of a multipart SSE-C object a new ETag with the part count', async () => {
    const created = await t.sdk.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp', ...ssec(key) }));
    const part = await t.sdk.send(
      new UploadPartCommand({
        Bucket: B,
        Key: 'mp',
        UploadId: created.UploadId,
        PartNumber: 1,
        Body: 'one part',
        ...ssec(key),
      }),
    );
    const done = await t.sdk.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'mp',
        UploadId: created.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const copied = await copy('mp', 'mp-copy', key);
    assert.match(copied.CopyObjectResult!.ETag!, /^"[0-9a-f]{32}-1"$/);
    assert.notEqual(copied.CopyObjectResult!.ETag, done.ETag);
    assert.equal(await etagOf('mp-copy', key), copied.CopyObjectResult!.ETag);
    const got = await t.sdk.send(new GetObjectCommand({ Bucket: B, Key: 'mp-copy', ...ssec(key) }));
    assert.equal((await bodyBytes(got.Body)).toString(), 'one part');
  });
});

describe('a retried CompleteMultipartUpload', () => {
  const B = 'retried-complete';
  const t = serverForSuite([B]);
  const big = patternBytes(5 * 1024 * 1024, 'retry-part-1');

  /** An upload of `key` with two parts; its id and the parts as Complete lists them. */
  async function twoParts(Key: string) {
    const { UploadId } = await t.sdk.send(new CreateMultipartUploadCommand({ Bucket: B, Key }));
    const Parts = [];
    for (const [PartNumber, Body] of [
      [1, big],
      [2, Buffer.from('tail')],
    ] as const) {
      const r = await t.sdk.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber, Body }));
      Parts.push({ PartNumber, ETag: r.ETag });
    }
    return { UploadId: UploadId!, Parts };
  }
  const complete = (Key: string, UploadId: string, Parts: { PartNumber: number; ETag?: string }[]) =>
    t.sdk.send(new CompleteMultipartUploadCommand({ Bucket: B, Key, UploadId, MultipartUpload: { Parts } }));

  it('should answer 200 with the same ETag, Location, Bucket and Key while the object it made is current', async () => {
    const { UploadId, Parts } = await twoParts('retry');
    const first = await complete('retry', UploadId, Parts);
    const again = await complete('retry', UploadId, Parts);
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.deepEqual([again.ETag, again.Location, again.Bucket, again.Key], [first.ETag, first.Location, B, 'retry']);
    assert.match(first.ETag!, /^"[0-9a-f]{32}-2"$/);
    const got = await t.sdk.send(new GetObjectCommand({ Bucket: B, Key: 'retry' }));
    assert.equal(md5hex(await bodyBytes(got.Body)), md5hex(Buffer.concat([big, Buffer.from('tail')])));
  });

  it('should answer 404 NoSuchUpload to another part list, and once the object it made is replaced', async () => {
    const { UploadId, Parts } = await twoParts('changed');
    await complete('changed', UploadId, Parts);
    await rejectsS3(complete('changed', UploadId, Parts.slice(0, 1)), 404, 'NoSuchUpload');
    await t.sdk.send(new PutObjectCommand({ Bucket: B, Key: 'changed', Body: 'newer' }));
    await rejectsS3(complete('changed', UploadId, Parts), 404, 'NoSuchUpload');
    const { UploadId: gone, Parts: goneParts } = await twoParts('deleted');
    await complete('deleted', gone, goneParts);
    await t.sdk.send(new DeleteObjectCommand({ Bucket: B, Key: 'deleted' }));
    await rejectsS3(complete('deleted', gone, goneParts), 404, 'NoSuchUpload');
  });

  it('should make one object of concurrent Completes and answer every one of them with it', async () => {
    const { UploadId, Parts } = await twoParts('concurrent');
    const all = await Promise.all([1, 2, 3, 4].map(() => complete('concurrent', UploadId, Parts)));
    assert.deepEqual(
      all.map((r) => r.$metadata.httpStatusCode),
      [200, 200, 200, 200],
    );
    assert.equal(new Set(all.map((r) => r.ETag)).size, 1);
    const head = await t.sdk.send(new HeadObjectCommand({ Bucket: B, Key: 'concurrent' }));
    assert.equal(head.ETag, all[0]!.ETag);
  });

  it('should let boto3 complete twice, as its retry does', { skip: !hasBoto3() }, async () => {
    const { UploadId, Parts } = await twoParts('boto');
    const r = await t.clients.boto3(`
parts = ${JSON.stringify(Parts)}
a = s3.complete_multipart_upload(Bucket='${B}', Key='boto', UploadId='${UploadId}', MultipartUpload={'Parts': parts})
b = s3.complete_multipart_upload(Bucket='${B}', Key='boto', UploadId='${UploadId}', MultipartUpload={'Parts': parts})
print(json.dumps([a['ETag'], b['ETag'], b['ResponseMetadata']['HTTPStatusCode']]))
`);
    assert.equal(r.code, 0, describeRun(r));
    const [a, b, status] = JSON.parse(r.stdout) as [string, string, number];
    assert.deepEqual([b, status], [a, 200]);
  });
});

describe('DeleteBucket with only incomplete multipart uploads left', () => {
  const t = serverForSuite();
  const startUpload = async (Bucket: string, Key: string) => {
    const { UploadId } = await t.sdk.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    await t.sdk.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: patternBytes(70_000, Key) }));
    return UploadId!;
  };

  it('should delete the bucket and abort its uploads (JS SDK)', async () => {
    await t.sdk.send(new CreateBucketCommand({ Bucket: 'uploads-only' }));
    const ids = [await startUpload('uploads-only', 'a'), await startUpload('uploads-only', 'dir/b')];
    const r = await t.sdk.send(new DeleteBucketCommand({ Bucket: 'uploads-only' }));
    assert.equal(r.$metadata.httpStatusCode, 204);
    await rejectsS3(t.sdk.send(new HeadBucketCommand({ Bucket: 'uploads-only' })), 404);
    await t.sdk.send(new CreateBucketCommand({ Bucket: 'uploads-only' }));
    assert.equal((await t.sdk.send(new ListMultipartUploadsCommand({ Bucket: 'uploads-only' }))).Uploads, undefined);
    for (const id of ids) {
      const parts = await signedSend(t.server, { method: 'GET', path: '/uploads-only/a', query: { uploadId: id } });
      assertS3Error(parts, 404, 'NoSuchUpload');
    }
  });

  it('should still answer 409 BucketNotEmpty while an object is left, and keep the uploads', async () => {
    await t.sdk.send(new CreateBucketCommand({ Bucket: 'object-left' }));
    await startUpload('object-left', 'upload');
    await t.sdk.send(new PutObjectCommand({ Bucket: 'object-left', Key: 'object', Body: 'x' }));
    await rejectsS3(t.sdk.send(new DeleteBucketCommand({ Bucket: 'object-left' })), 409, 'BucketNotEmpty');
    assert.equal((await t.sdk.send(new ListMultipartUploadsCommand({ Bucket: 'object-left' }))).Uploads?.length, 1);
    await t.sdk.send(new DeleteObjectCommand({ Bucket: 'object-left', Key: 'object' }));
    assert.equal((await t.sdk.send(new DeleteBucketCommand({ Bucket: 'object-left' }))).$metadata.httpStatusCode, 204);
  });

  it('should let `aws s3 rb` remove a bucket an interrupted upload left', { skip: !hasProgram('aws') }, async () => {
    await t.sdk.send(new CreateBucketCommand({ Bucket: 'cli-leftover' }));
    await startUpload('cli-leftover', 'interrupted');
    const r = await t.clients.aws(['s3', 'rb', 's3://cli-leftover']);
    assert.equal(r.code, 0, describeRun(r));
    await rejectsS3(t.sdk.send(new HeadBucketCommand({ Bucket: 'cli-leftover' })), 404);
  });
});
