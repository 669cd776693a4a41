/**
 * End-to-end: bad input over raw HTTP gets the exact S3 error, leaves nothing half-written, and leaves the server up.
 * Requests are signed by the tests' own small SigV4 signer (helpers/http.ts), independent of the server's verifier.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';

import { crc32b64, md5b64, md5hex, patternBytes } from './helpers/assert.ts';
import {
  EMPTY_SHA256,
  httpSend,
  objectPath,
  parseErrorXml,
  presign,
  signHeaders,
  signedSend,
  assertS3Error,
  type HttpResult,
} from './helpers/http.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

let server: RunningServer;
const B = 'badinput';
const responses: HttpResult[] = [];

/** signedSend that also remembers every response, for the x-amz-request-id check at the end. */
async function send(opts: Parameters<typeof signedSend>[1]): Promise<HttpResult> {
  const r = await signedSend(server, opts);
  responses.push(r);
  return r;
}

async function headStatus(key: string, bucket = B): Promise<number> {
  const r = await send({ method: 'HEAD', path: objectPath(bucket, key) });
  return r.status;
}

/** Encodes `data` as aws-chunked (unsigned, with a CRC32 trailer) in pieces of `chunk` bytes. */
function awsChunked(data: Buffer, chunk: number, trailerValue = crc32b64(data)): { full: Buffer; beforeFinal: Buffer } {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) {
    const piece = data.subarray(i, i + chunk);
    parts.push(Buffer.from(piece.length.toString(16) + '\r\n'), piece, Buffer.from('\r\n'));
  }
  const beforeFinal = Buffer.concat(parts);
  const final = Buffer.from(`0\r\nx-amz-checksum-crc32:${trailerValue}\r\n\r\n`);
  return { full: Buffer.concat([beforeFinal, final]), beforeFinal };
}

function chunkedHeaders(decodedLength: number, encodedLength: number): Record<string, string> {
  return {
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(decodedLength),
    'x-amz-trailer': 'x-amz-checksum-crc32',
    'content-length': String(encodedLength),
  };
}

before(async () => {
  server = await startServer();
  const r = await send({ method: 'PUT', path: objectPath(B) });
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  await server?.stop({ removeDir: true });
});

describe('PutObject with aws-chunked bodies', () => {
  it('should store a well-formed STREAMING-UNSIGNED-PAYLOAD-TRAILER body (control case)', async () => {
    const data = patternBytes(150_000, 'chunked-ok');
    const { full } = awsChunked(data, 65_536);
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'chunked-ok'),
      headers: chunkedHeaders(data.length, full.length),
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      body: full,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['etag'], `"${md5hex(data)}"`);
    const g = await send({ method: 'GET', path: objectPath(B, 'chunked-ok') });
    assert.equal(g.status, 200);
    assert.ok(g.body.equals(data));
  });

  it('should answer 400 IncompleteBody for a body cut before the final chunk, and store nothing', async () => {
    const data = patternBytes(150_000, 'chunked-cut');
    const { full, beforeFinal } = awsChunked(data, 65_536);
    // the HTTP body is complete (Content-Length matches what is sent), but the aws-chunked stream stops before the 0 chunk
    const cut = beforeFinal.subarray(0, 65_536 + 20);
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'chunked-cut'),
      headers: chunkedHeaders(data.length, cut.length),
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      body: cut,
    });
    assertS3Error(r, 400, 'IncompleteBody');
    assert.ok(full.length > cut.length);
    assert.equal(await headStatus('chunked-cut'), 404);
  });

  it('should answer 400 IncompleteBody when all chunks are there but the final chunk and trailer are missing', async () => {
    const data = patternBytes(70_000, 'chunked-nofinal');
    const { beforeFinal } = awsChunked(data, 65_536);
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'chunked-nofinal'),
      headers: chunkedHeaders(data.length, beforeFinal.length),
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      body: beforeFinal,
    });
    assertS3Error(r, 400, 'IncompleteBody');
    assert.equal(await headStatus('chunked-nofinal'), 404);
  });

  it('should store nothing when the connection is cut mid-body', async () => {
    const data = patternBytes(200_000, 'chunked-conn-cut');
    const { full } = awsChunked(data, 65_536);
    const headers = signHeaders({
      method: 'PUT',
      url: server.url,
      path: objectPath(B, 'conn-cut'),
      headers: chunkedHeaders(data.length, full.length),
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
    // Content-Length announces everything; we send 100 000 bytes and close our side.
    const outcome = await httpSend({
      method: 'PUT',
      url: server.url,
      path: objectPath(B, 'conn-cut'),
      headers,
      truncatedBody: full.subarray(0, 100_000),
    }).then(
      (r) => r,
      (e: Error) => e,
    );
    if (!(outcome instanceof Error)) {
      assert.ok(outcome.status >= 400 && outcome.status < 500, `cut upload got ${outcome.status}: ${outcome.text}`);
    }
    assert.equal(await headStatus('conn-cut'), 404);
  });

  it('should answer 400 BadDigest for a wrong trailing checksum, and store nothing', async () => {
    const data = patternBytes(100_000, 'chunked-badcrc');
    const { full } = awsChunked(data, 65_536, crc32b64(Buffer.from('not the data')));
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'chunked-badcrc'),
      headers: chunkedHeaders(data.length, full.length),
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      body: full,
    });
    const e = assertS3Error(r, 400, 'BadDigest');
    assert.equal(e['Message'], 'The CRC32 you specified did not match the calculated checksum.');
    assert.equal(await headStatus('chunked-badcrc'), 404);
  });
});

describe('PutObject integrity headers', () => {
  it('should answer 400 BadDigest for a wrong x-amz-checksum-crc32 header, and store nothing', async () => {
    const data = Buffer.from('checksum header mismatch');
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'crc-header'),
      headers: { 'x-amz-checksum-crc32': crc32b64(Buffer.from('other')) },
      body: data,
    });
    const e = assertS3Error(r, 400, 'BadDigest');
    assert.equal(e['Message'], 'The CRC32 you specified did not match the calculated checksum.');
    assert.equal(await headStatus('crc-header'), 404);
  });

  it('should answer 400 BadDigest for a wrong Content-MD5, and store nothing', async () => {
    const data = Buffer.from('md5 mismatch');
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'md5-bad'),
      headers: { 'content-md5': md5b64(Buffer.from('x')) },
      body: data,
    });
    const e = assertS3Error(r, 400, 'BadDigest');
    assert.equal(e['Message'], 'The Content-MD5 you specified did not match what we received.');
    assert.equal(await headStatus('md5-bad'), 404);
  });

  it('should answer 400 InvalidDigest for a Content-MD5 that is not 16 bytes of base64', async () => {
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'md5-invalid'),
      headers: { 'content-md5': 'not-md5' },
      body: Buffer.from('x'),
    });
    assertS3Error(r, 400, 'InvalidDigest');
    assert.equal(await headStatus('md5-invalid'), 404);
  });

  it('should answer 400 XAmzContentSHA256Mismatch when the signed payload hash is wrong, and store nothing', async () => {
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'sha-bad'),
      body: Buffer.from('actual body'),
      signBody: Buffer.from('claimed body'),
    });
    assertS3Error(r, 400, 'XAmzContentSHA256Mismatch');
    assert.equal(await headStatus('sha-bad'), 404);
  });
});

describe('DeleteObjects with bad XML', () => {
  for (const [what, xml] of [
    ['not XML at all', 'this is not xml'],
    ['unclosed elements', '<Delete><Object><Key>a</Key></Object>'],
    ['no Object', '<Delete></Delete>'],
    ['a wrong root', '<Remove><Object><Key>a</Key></Object></Remove>'],
  ] as const) {
    it(`should answer 400 MalformedXML for ${what}`, async () => {
      const body = Buffer.from(xml);
      const r = await send({
        method: 'POST',
        path: objectPath(B),
        query: { delete: '' },
        headers: { 'content-md5': md5b64(body) },
        body,
      });
      assertS3Error(r, 400, 'MalformedXML');
    });
  }

  it('should answer 400 MalformedXML for more than 1000 keys', async () => {
    const objs = Array.from({ length: 1001 }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('');
    const body = Buffer.from(`<Delete>${objs}</Delete>`);
    const r = await send({
      method: 'POST',
      path: objectPath(B),
      query: { delete: '' },
      headers: { 'content-md5': md5b64(body) },
      body,
    });
    assertS3Error(r, 400, 'MalformedXML');
  });

  it('should leave the objects in place after a refused delete', async () => {
    assert.equal(await headStatus('chunked-ok'), 200);
  });
});

describe('keys and bucket names', () => {
  it('should answer 400 KeyTooLongError for a 1025-byte key, and accept 1024 bytes', async () => {
    const k1024 = 'é'.repeat(512);
    assert.equal(Buffer.byteLength(k1024), 1024);
    const ok = await send({ method: 'PUT', path: objectPath(B, k1024), body: Buffer.from('x') });
    assert.equal(ok.status, 200, ok.text);
    const r = await send({ method: 'PUT', path: objectPath(B, k1024 + 'x'), body: Buffer.from('x') });
    const e = assertS3Error(r, 400, 'KeyTooLongError');
    assert.equal(e['Message'], 'Your key is too long');
    assert.equal(e['MaxSizeAllowed'], '1024');
    assert.equal(e['Size'], '1025');
  });

  it('should treat an encoded slash (%2F) in the path as the same key as a slash', async () => {
    const p = await send({ method: 'PUT', path: `/${B}/enc%2Fslash`, body: Buffer.from('slash') });
    assert.equal(p.status, 200, p.text);
    const g = await send({ method: 'GET', path: objectPath(B, 'enc/slash') });
    assert.equal(g.status, 200, g.text);
    assert.equal(g.text, 'slash');
    const d = await send({ method: 'DELETE', path: objectPath(B, 'enc/slash') });
    assert.equal(d.status, 204);
  });

  for (const name of ['ab', 'Upper', 'has_underscore', 'bad..name', '10.0.0.1', 'ends-with-']) {
    it(`should answer 400 InvalidBucketName for ${JSON.stringify(name)}`, async () => {
      const r = await send({ method: 'PUT', path: `/${name}` });
      const e = assertS3Error(r, 400, 'InvalidBucketName');
      assert.equal(e['Message'], 'The specified bucket is not valid.');
      assert.equal(e['BucketName'], name);
    });
  }
});

describe('Range', () => {
  it('should answer 416 InvalidRange with Content-Range bytes */SIZE for a range past the end', async () => {
    const data = patternBytes(1000, 'range');
    const p = await send({ method: 'PUT', path: objectPath(B, 'range'), body: data });
    assert.equal(p.status, 200);
    const r = await send({ method: 'GET', path: objectPath(B, 'range'), headers: { range: 'bytes=1000-2000' } });
    const e = assertS3Error(r, 416, 'InvalidRange');
    assert.equal(r.headers['content-range'], 'bytes */1000');
    assert.equal(e['Message'], 'The requested range is not satisfiable');
    const r2 = await send({ method: 'GET', path: objectPath(B, 'range'), headers: { range: 'bytes=5000-' } });
    assertS3Error(r2, 416, 'InvalidRange');
    assert.equal(r2.headers['content-range'], 'bytes */1000');
  });

  it('should answer 416 for any range of an empty object', async () => {
    const p = await send({ method: 'PUT', path: objectPath(B, 'empty'), body: Buffer.alloc(0) });
    assert.equal(p.status, 200);
    const r = await send({ method: 'GET', path: objectPath(B, 'empty'), headers: { range: 'bytes=0-0' } });
    assertS3Error(r, 416, 'InvalidRange');
    assert.equal(r.headers['content-range'], 'bytes */0');
  });
});

describe('signatures', () => {
  it('should answer 403 SignatureDoesNotMatch for a bad signature, and store nothing', async () => {
    const body = Buffer.from('forged');
    const headers = signHeaders({
      method: 'PUT',
      url: server.url,
      path: objectPath(B, 'forged'),
      body,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
    headers['authorization'] = headers['authorization']!.replace(
      /Signature=([0-9a-f])/,
      (_, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
    );
    const r = await httpSend({ method: 'PUT', url: server.url, path: objectPath(B, 'forged'), headers, body });
    responses.push(r);
    const e = assertS3Error(r, 403, 'SignatureDoesNotMatch');
    assert.equal(e['AWSAccessKeyId'], server.accessKey);
    assert.equal(await headStatus('forged'), 404);
  });

  it('should answer 403 SignatureDoesNotMatch when a signed header is changed after signing', async () => {
    const headers = signHeaders({
      method: 'GET',
      url: server.url,
      path: objectPath(B, 'range'),
      headers: { range: 'bytes=0-1' },
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
    headers['range'] = 'bytes=0-2';
    const r = await httpSend({ method: 'GET', url: server.url, path: objectPath(B, 'range'), headers });
    responses.push(r);
    assertS3Error(r, 403, 'SignatureDoesNotMatch');
  });

  it('should answer 403 InvalidAccessKeyId for an unknown key', async () => {
    const r = await signedSend(
      { url: server.url, accessKey: 'AKUNKNOWNUNKNOWN0000', secretKey: 'nope' },
      { method: 'GET', path: '/' },
    );
    responses.push(r);
    const e = assertS3Error(r, 403, 'InvalidAccessKeyId');
    assert.equal(e['AWSAccessKeyId'], 'AKUNKNOWNUNKNOWN0000');
  });

  it('should answer 403 RequestTimeTooSkewed for a date 20 minutes off', async () => {
    const headers = signHeaders({
      method: 'GET',
      url: server.url,
      path: '/',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      now: new Date(Date.now() - 20 * 60_000),
    });
    const r = await httpSend({ method: 'GET', url: server.url, path: '/', headers });
    responses.push(r);
    assertS3Error(r, 403, 'RequestTimeTooSkewed');
  });

  it('should answer 400 AuthorizationHeaderMalformed for a wrong region', async () => {
    const headers = signHeaders({
      method: 'GET',
      url: server.url,
      path: '/',
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      region: 'eu-west-1',
    });
    const r = await httpSend({ method: 'GET', url: server.url, path: '/', headers });
    responses.push(r);
    const e = assertS3Error(r, 400, 'AuthorizationHeaderMalformed');
    assert.equal(e['Region'], 'us-east-1');
  });

  it('should answer 403 AccessDenied to an anonymous request', async () => {
    const r = await httpSend({ method: 'GET', url: server.url, path: objectPath(B, 'range') });
    responses.push(r);
    assertS3Error(r, 403, 'AccessDenied');
  });

  it('should accept UNSIGNED-PAYLOAD (control case)', async () => {
    const r = await send({
      method: 'PUT',
      path: objectPath(B, 'unsigned'),
      payloadHash: 'UNSIGNED-PAYLOAD',
      body: Buffer.from('u'),
    });
    assert.equal(r.status, 200, r.text);
  });
});

describe('presigned URLs', () => {
  const sign = (expires: number | string, now?: Date) =>
    presign({
      method: 'GET',
      url: server.url,
      path: objectPath(B, 'range'),
      expires,
      now,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
  const get = async (url: string): Promise<HttpResult> => {
    const u = new URL(url);
    const r = await httpSend({ method: 'GET', url: server.url, path: u.pathname + u.search });
    responses.push(r);
    return r;
  };

  it('should serve a valid presigned GET (control case for the signer)', async () => {
    const r = await get(sign(60));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.length, 1000);
  });

  for (const bad of [604801, 0, -1, 'abc']) {
    it(`should answer 400 AuthorizationQueryParametersError for X-Amz-Expires=${bad}`, async () => {
      const r = await get(sign(bad));
      assertS3Error(r, 400, 'AuthorizationQueryParametersError');
    });
  }

  it('should accept X-Amz-Expires=604800 (seven days)', async () => {
    const r = await get(sign(604800));
    assert.equal(r.status, 200, r.text);
  });

  it('should answer 403 AccessDenied "Request has expired" once X-Amz-Date + X-Amz-Expires has passed', async () => {
    const r = await get(sign(10, new Date(Date.now() - 60_000)));
    const e = assertS3Error(r, 403, 'AccessDenied');
    assert.equal(e['Message'], 'Request has expired');
    assert.equal(e['X-Amz-Expires'], '10');
  });

  it('should answer 400 AuthorizationQueryParametersError when a presign parameter is missing', async () => {
    const u = new URL(sign(60));
    u.searchParams.delete('X-Amz-Date');
    const r = await get(u.toString());
    assertS3Error(r, 400, 'AuthorizationQueryParametersError');
  });
});

describe('error documents', () => {
  it('should answer NoSuchBucket with the AWS message and BucketName', async () => {
    const r = await send({ method: 'GET', path: '/no-such-bucket-here', query: { 'list-type': '2' } });
    const e = assertS3Error(r, 404, 'NoSuchBucket');
    assert.equal(e['Message'], 'The specified bucket does not exist');
    assert.equal(e['BucketName'], 'no-such-bucket-here');
  });

  it('should answer NoSuchKey with the AWS message and Key', async () => {
    const r = await send({ method: 'GET', path: objectPath(B, 'no/such key') });
    const e = assertS3Error(r, 404, 'NoSuchKey');
    assert.equal(e['Message'], 'The specified key does not exist.');
    assert.equal(e['Key'], 'no/such key');
  });

  it('should answer InvalidRange with RangeRequested and ActualObjectSize', async () => {
    const r = await send({ method: 'GET', path: objectPath(B, 'range'), headers: { range: 'bytes=1024-4096' } });
    const e = assertS3Error(r, 416, 'InvalidRange');
    assert.equal(e['RangeRequested'], 'bytes=1024-4096');
    assert.equal(e['ActualObjectSize'], '1000');
  });

  it('should answer PreconditionFailed with the Condition', async () => {
    const r = await send({
      method: 'GET',
      path: objectPath(B, 'range'),
      headers: { 'if-match': '"00000000000000000000000000000000"' },
    });
    const e = assertS3Error(r, 412, 'PreconditionFailed');
    assert.equal(e['Message'], 'At least one of the pre-conditions you specified did not hold');
    assert.equal(e['Condition'], 'If-Match');
  });

  it('should answer HEAD errors with the status and no body', async () => {
    for (const path of [
      objectPath(B, 'no-such-key'),
      objectPath('no-such-bucket-here', 'k'),
      objectPath('no-such-bucket-here'),
    ]) {
      const r = await send({ method: 'HEAD', path });
      assert.equal(r.status, 404, path);
      assert.equal(r.body.length, 0, path);
      assert.ok(r.headers['x-amz-request-id'], path);
    }
  });

  it('should answer 304 with no body but with ETag and Last-Modified', async () => {
    const h = await send({ method: 'HEAD', path: objectPath(B, 'range') });
    const etag = String(h.headers['etag']);
    const r = await send({ method: 'GET', path: objectPath(B, 'range'), headers: { 'if-none-match': etag } });
    assert.equal(r.status, 304);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['etag'], etag);
    assert.equal(r.headers['last-modified'], h.headers['last-modified']);
  });

  it('should answer 400 InvalidArgument for an unknown encoding-type', async () => {
    const r = await send({
      method: 'GET',
      path: objectPath(B),
      query: { 'list-type': '2', 'encoding-type': 'base64' },
    });
    const e = assertS3Error(r, 400, 'InvalidArgument');
    assert.equal(e['ArgumentName'], 'encoding-type');
  });

  it('should answer 403 AccessDenied when an x-amz-* header is sent unsigned, and store nothing', async () => {
    const body = Buffer.from('unsigned header');
    const headers = signHeaders({
      method: 'PUT',
      url: server.url,
      path: objectPath(B, 'unsigned-meta'),
      body,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
    headers['x-amz-meta-sneaky'] = 'added after signing';
    const r = await httpSend({ method: 'PUT', url: server.url, path: objectPath(B, 'unsigned-meta'), headers, body });
    responses.push(r);
    const e = assertS3Error(r, 403, 'AccessDenied');
    assert.equal(e['Message'], 'There were headers present in the request which were not signed');
    assert.equal(await headStatus('unsigned-meta'), 404);
  });

  it('should refuse a PUT without Content-Length (Transfer-Encoding: chunked) and store nothing', async () => {
    const headers = signHeaders({
      method: 'PUT',
      url: server.url,
      path: objectPath(B, 'no-length'),
      payloadHash: 'UNSIGNED-PAYLOAD',
      headers: { 'transfer-encoding': 'chunked' },
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
    const r = await httpSend({
      method: 'PUT',
      url: server.url,
      path: objectPath(B, 'no-length'),
      headers,
      body: Buffer.from('abc'),
    });
    responses.push(r);
    assert.ok(r.status === 411 || r.status === 501, `status ${r.status}: ${r.text}`);
    assertS3Error(r, r.status, r.status === 411 ? 'MissingContentLength' : 'NotImplemented');
    assert.equal(await headStatus('no-length'), 404);
  });
});

/** Values Node refuses in a response header (ERR_INVALID_CHAR), each once. */
const UNSENDABLE = [
  ['CR/LF', 'a\r\nb'],
  ['LF', 'a\nb'],
  ['NUL', 'a\u0000b'],
  ['DEL', 'a\u007fb'],
  ['U+0100', 'a\u0100b'],
] as const;

describe('input echoed in response headers', () => {
  // A bucket of its own: its CORS rules and POSTed objects stay out of the listing checked at the end.
  const E = 'badinput-echo';
  before(async () => {
    assert.equal((await send({ method: 'PUT', path: objectPath(E) })).status, 200);
    assert.equal((await send({ method: 'PUT', path: objectPath(E, 'obj'), body: Buffer.from('echo') })).status, 200);
  });

  const overrides = [
    'response-content-type',
    'response-content-language',
    'response-expires',
    'response-cache-control',
    'response-content-disposition',
    'response-content-encoding',
  ];
  for (const param of overrides) {
    for (const [what, value] of UNSENDABLE) {
      it(`should answer 400 InvalidArgument for ${param} with ${what}`, async () => {
        const r = await send({ method: 'GET', path: objectPath(E, 'obj'), query: { [param]: value } });
        const e = assertS3Error(r, 400, 'InvalidArgument');
        assert.equal(e['ArgumentName'], param);
      });
    }
  }

  it('should still send a valid response-* value as it is (control case)', async () => {
    const value = 'attachment; filename="a b.txt"';
    const r = await send({
      method: 'GET',
      path: objectPath(E, 'obj'),
      query: { 'response-content-disposition': value },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-disposition'], value);
    assert.equal(r.text, 'echo');
  });

  it('should answer 400 InvalidArgument to a CORS ExposeHeader that cannot be a header, and keep serving', async () => {
    for (const [, value] of UNSENDABLE) {
      const body = Buffer.from(
        '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>' +
          `<ExposeHeader>${value.replace('\u0000', '&#0;')}</ExposeHeader></CORSRule></CORSConfiguration>`,
      );
      const r = await send({
        method: 'PUT',
        path: objectPath(E),
        query: { cors: '' },
        headers: { 'content-md5': md5b64(body) },
        body,
      });
      // NUL cannot appear in XML at all: MalformedXML; everything else parses and is refused by the check
      const e = assertS3Error(r, 400, value.includes('\u0000') ? 'MalformedXML' : 'InvalidArgument');
      if (e['Code'] === 'InvalidArgument') assert.equal(e['ArgumentName'], 'ExposeHeader');
    }
    const g = await send({ method: 'GET', path: objectPath(E, 'obj'), headers: { origin: 'http://site.example' } });
    assert.equal(g.status, 200, g.text);
    assert.equal(g.headers['access-control-allow-origin'], undefined);
  });

  it('should answer 400 InvalidArgument to a lifecycle rule ID that cannot be a header, and keep serving GET', async () => {
    const rule = (id: string) =>
      Buffer.from(
        `<LifecycleConfiguration><Rule><ID>${id}</ID><Filter><Prefix></Prefix></Filter>` +
          '<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>',
      );
    for (const id of ['a&#13;&#10;b', 'a&#10;b', 'a&#127;b', 'a\u0100b']) {
      const body = rule(id);
      const r = await send({
        method: 'PUT',
        path: objectPath(E),
        query: { lifecycle: '' },
        headers: { 'content-md5': md5b64(body) },
        body,
      });
      assert.equal(assertS3Error(r, 400, 'InvalidArgument')['ArgumentName'], 'ID', id);
      const g = await send({ method: 'GET', path: objectPath(E, 'obj') });
      assert.equal(g.status, 200, g.text);
      assert.equal(g.headers['x-amz-expiration'], undefined);
    }
    const body = rule('fine id');
    const r = await send({
      method: 'PUT',
      path: objectPath(E),
      query: { lifecycle: '' },
      headers: { 'content-md5': md5b64(body) },
      body,
    });
    assert.equal(r.status, 200, r.text);
    const g = await send({ method: 'GET', path: objectPath(E, 'obj') });
    assert.match(String(g.headers['x-amz-expiration']), /, rule-id="fine id"$/);
    assert.equal((await send({ method: 'DELETE', path: objectPath(E), query: { lifecycle: '' } })).status, 204);
  });

  it('should answer 400 InvalidArgument to POST form metadata that cannot be sent back, and store nothing', async () => {
    const client = new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    });
    const cases = [
      ['x-amz-meta-note', 'a\u0100b'],
      ['Content-Type', 'text/\u0100'],
      ['x-amz-meta-a b', 'v'],
    ] as const;
    for (const [field, value] of cases) {
      const p = await createPresignedPost(client, { Bucket: E, Key: 'posted', Fields: { [field]: value } });
      const form = new FormData();
      for (const [k, v] of Object.entries(p.fields)) form.append(k, v);
      form.append('file', new Blob([new Uint8Array(Buffer.from('z'))]), 'f');
      const r = await fetch(p.url, { method: 'POST', body: form });
      const text = await r.text();
      assert.equal(r.status, 400, text);
      assert.deepEqual(
        [parseErrorXml(text)['Code'], parseErrorXml(text)['ArgumentName']],
        ['InvalidArgument', field.toLowerCase()],
      );
      assert.equal(await headStatus('posted', E), 404);
    }
  });
});

describe('DeleteObjects per-key errors', () => {
  it('should answer an empty <Key> with a per-key UserKeyMustBeSpecified and delete the other keys', async () => {
    assert.equal((await send({ method: 'PUT', path: objectPath(B, 'del-me'), body: Buffer.from('x') })).status, 200);
    const body = Buffer.from('<Delete><Object><Key></Key></Object><Object><Key>del-me</Key></Object></Delete>');
    const r = await send({
      method: 'POST',
      path: objectPath(B),
      query: { delete: '' },
      headers: { 'content-md5': md5b64(body) },
      body,
    });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<Error><Key><\/Key><Code>UserKeyMustBeSpecified<\/Code><Message>[^<]+<\/Message><\/Error>/);
    assert.match(r.text, /<Deleted><Key>del-me<\/Key><\/Deleted>/);
    assert.doesNotMatch(r.text, /InternalError/);
    assert.equal(await headStatus('del-me'), 404);
  });
});

describe('after all of the above', () => {
  it('should still answer ListBuckets', async () => {
    const r = await send({ method: 'GET', path: '/', payloadHash: EMPTY_SHA256 });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<ListAllMyBucketsResult[\s>]/);
    assert.match(r.text, /<Name>badinput<\/Name>/);
  });

  it('should have sent x-amz-request-id on every response', () => {
    assert.ok(responses.length > 20);
    for (const r of responses) {
      assert.ok(
        typeof r.headers['x-amz-request-id'] === 'string' && r.headers['x-amz-request-id'].length > 0,
        `status ${r.status}: ${r.text.slice(0, 200)}`,
      );
    }
  });

  it('should have left no stray object from the refused requests', async () => {
    const r = await send({ method: 'GET', path: objectPath(B), query: { 'list-type': '2' } });
    assert.equal(r.status, 200);
    const keys = [...r.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    assert.deepEqual(keys.sort(), ['chunked-ok', 'empty', 'range', 'unsigned', 'é'.repeat(512)].sort());
  });
});
