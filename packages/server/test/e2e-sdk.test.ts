/**
 * End-to-end: the real server process driven by @aws-sdk/client-s3 v3 (path-style, us-east-1), as an application
 * would use it. One server for the whole file; each `describe` works in its own bucket(s).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  type ServerSideEncryption,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import {
  bodyBytes,
  crc32b64,
  decodeMetaValue,
  fetchBytes,
  generatorStream,
  md5b64,
  md5hex,
  patternBytes,
  rejectsS3,
  urlDecodePlus,
  utf8AsLatin1,
} from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { encodeKey, parseErrorXml } from './helpers/http.ts';
import { addUser, makeTempDir, randomCredentials, startServer, type RunningServer } from './helpers/server.ts';

let server: RunningServer;
let s3: S3Client;
let s3b: S3Client; // the second user
const user2 = { ...randomCredentials(), name: 'second-user' };

before(async () => {
  const dataDir = await makeTempDir();
  await addUser(dataDir, user2);
  server = await startServer({ dataDir });
  s3 = sdkClient(server, server);
  s3b = sdkClient(server, user2);
});

after(async () => {
  s3?.destroy();
  s3b?.destroy();
  await server?.stop({ removeDir: true });
});

/** Creates a bucket, failing the test with the server's answer if that does not work. */
async function mkBucket(name: string, client: S3Client = s3): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: name }));
}

async function put(bucket: string, key: string, body: Buffer | string, extra: Partial<PutObjectCommandInput> = {}) {
  return s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

async function getBytes(bucket: string, key: string, client: S3Client = s3): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return bodyBytes(r.Body);
}

/** Records the headers of every request the client sends (after the SDK built and signed it). */
function captureHeaders(client: S3Client): Record<string, string>[] {
  const seen: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (req.headers) seen.push({ ...req.headers });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'cofferCaptureHeaders' },
  );
  return seen;
}

describe('CreateBucket', () => {
  it('should create a bucket and answer 200 with a Location', async () => {
    const r = await s3.send(new CreateBucketCommand({ Bucket: 'sdk-create' }));
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.equal(r.Location, '/sdk-create');
  });

  it('should accept a CreateBucketConfiguration body without a LocationConstraint', async () => {
    const r = await s3.send(new CreateBucketCommand({ Bucket: 'sdk-create-cfg', CreateBucketConfiguration: {} }));
    assert.equal(r.$metadata.httpStatusCode, 200);
  });

  it("should answer 200 when the caller already owns it, in us-east-1 (S3's legacy answer there)", async () => {
    const r = await s3.send(new CreateBucketCommand({ Bucket: 'sdk-create' }));
    assert.equal(r.$metadata.httpStatusCode, 200);
  });

  it('should answer 409 BucketAlreadyExists when another user owns it', async () => {
    await rejectsS3(s3b.send(new CreateBucketCommand({ Bucket: 'sdk-create' })), 409, 'BucketAlreadyExists');
  });

  for (const name of [
    'ab',
    'Upper-Case',
    'bad..dots',
    '192.168.5.4',
    '-leading-dash',
    'trailing-dash-',
    'under_score',
    'xn--punycode',
    'a'.repeat(64),
  ]) {
    it(`should answer 400 InvalidBucketName for ${JSON.stringify(name)}`, async () => {
      await rejectsS3(s3.send(new CreateBucketCommand({ Bucket: name })), 400, 'InvalidBucketName');
    });
  }
});

describe('ListBuckets', () => {
  before(async () => {
    await mkBucket('sdk-lb-b');
    await mkBucket('sdk-lb-a');
    await mkBucket('sdk-user2-own', s3b);
  });

  it('should list the caller’s buckets sorted by name, with the owner ID and DisplayName', async () => {
    const r = await s3.send(new ListBucketsCommand({}));
    const names = (r.Buckets ?? []).map((b) => b.Name!);
    assert.ok(names.includes('sdk-lb-a') && names.includes('sdk-lb-b'), names.join(','));
    assert.deepEqual(names, [...names].sort());
    for (const b of r.Buckets ?? [])
      assert.ok(b.CreationDate instanceof Date && !Number.isNaN(b.CreationDate.getTime()));
    assert.ok(r.Owner?.ID, 'Owner.ID');
    assert.ok(r.Owner?.DisplayName, 'Owner.DisplayName');
  });

  it('should not show another user’s buckets, and give each user its own owner ID', async () => {
    const root = await s3.send(new ListBucketsCommand({}));
    const other = await s3b.send(new ListBucketsCommand({}));
    const rootNames = (root.Buckets ?? []).map((b) => b.Name);
    const otherNames = (other.Buckets ?? []).map((b) => b.Name);
    assert.ok(!rootNames.includes('sdk-user2-own'), rootNames.join(','));
    assert.deepEqual(otherNames, ['sdk-user2-own']);
    assert.equal(other.Owner?.DisplayName, 'second-user');
    assert.ok(other.Owner?.ID);
    assert.notEqual(other.Owner?.ID, root.Owner?.ID);
  });
});

describe('GetBucketLocation', () => {
  it('should answer an empty LocationConstraint for us-east-1 (as AWS does)', async () => {
    await mkBucket('sdk-location');
    const r = await s3.send(new GetBucketLocationCommand({ Bucket: 'sdk-location' }));
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.ok(
      r.LocationConstraint === undefined || (r.LocationConstraint as string) === '',
      String(r.LocationConstraint),
    );
  });

  it('should answer 404 NoSuchBucket for a missing bucket', async () => {
    await rejectsS3(s3.send(new GetBucketLocationCommand({ Bucket: 'sdk-no-such-bucket' })), 404, 'NoSuchBucket');
  });
});

describe('HeadBucket', () => {
  it('should answer 200 for an owned bucket, 404 for a missing one, 403 for another user’s', async () => {
    await mkBucket('sdk-headbucket');
    const r = await s3.send(new HeadBucketCommand({ Bucket: 'sdk-headbucket' }));
    assert.equal(r.$metadata.httpStatusCode, 200);
    await rejectsS3(s3.send(new HeadBucketCommand({ Bucket: 'sdk-headbucket-missing' })), 404);
    await rejectsS3(s3b.send(new HeadBucketCommand({ Bucket: 'sdk-headbucket' })), 403);
  });
});

describe('PutObject', () => {
  const B = 'sdk-put';
  before(() => mkBucket(B));

  it('should store a Buffer body and answer the plaintext MD5 as ETag and AES256', async () => {
    const data = patternBytes(150_000, 'put-buffer');
    const r = await put(B, 'buffer.bin', data);
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.equal(r.ETag, `"${md5hex(data)}"`);
    assert.equal(r.ServerSideEncryption, 'AES256');
    assert.ok((await getBytes(B, 'buffer.bin')).equals(data));
  });

  it('should store a stream body sent aws-chunked with a CRC32 trailer', async () => {
    const client = sdkClient(server, server);
    const seen = captureHeaders(client);
    const data = patternBytes(300_000, 'put-stream');
    try {
      const r = await client.send(
        new PutObjectCommand({ Bucket: B, Key: 'stream.bin', Body: generatorStream(data), ContentLength: data.length }),
      );
      assert.equal(r.ETag, `"${md5hex(data)}"`);
      assert.equal(r.ServerSideEncryption, 'AES256');
      const h = seen.at(-1)!;
      // prove the SDK really used the streaming encoding this test is about
      assert.equal(h['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
      assert.match(h['content-encoding'] ?? '', /aws-chunked/);
      assert.equal(h['x-amz-trailer'], 'x-amz-checksum-crc32');
      assert.ok((await getBytes(B, 'stream.bin')).equals(data));
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'stream.bin', ChecksumMode: 'ENABLED' }));
      assert.equal(head.ChecksumCRC32, crc32b64(data));
    } finally {
      client.destroy();
    }
  });

  it('should store an empty object', async () => {
    const r = await put(B, 'empty', Buffer.alloc(0));
    assert.equal(r.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'empty' }));
    assert.equal(g.ContentLength, 0);
    assert.equal((await bodyBytes(g.Body)).length, 0);
  });

  it('should replace an existing object completely', async () => {
    await put(B, 'overwrite', patternBytes(200_000, 'v1'));
    const v2 = patternBytes(1000, 'v2');
    await put(B, 'overwrite', v2);
    assert.ok((await getBytes(B, 'overwrite')).equals(v2));
  });

  it('should never mix the bytes of concurrent overwrites of one key', async () => {
    const versions = [0, 1, 2, 3].map((i) => patternBytes(150_000 + i * 1000, `race-${i}`));
    await Promise.all(versions.map((v) => put(B, 'raced', v)));
    const got = await getBytes(B, 'raced');
    assert.ok(
      versions.some((v) => v.equals(got)),
      `GET returned ${got.length} bytes that match none of the PUT bodies`,
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'raced' }));
    assert.equal(h.ETag, `"${md5hex(got)}"`);
    assert.equal(h.ContentLength, got.length);
  });

  it('should answer 400 MetadataTooLarge for more than 2 KB of user metadata', async () => {
    await rejectsS3(put(B, 'meta-big', 'x', { Metadata: { big: 'v'.repeat(2100) } }), 400, 'MetadataTooLarge');
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'meta-big' })), 404);
  });

  it('should accept a correct Content-MD5', async () => {
    const data = Buffer.from('content-md5 ok');
    const r = await put(B, 'md5-ok', data, { ContentMD5: md5b64(data) });
    assert.equal(r.ETag, `"${md5hex(data)}"`);
  });

  it('should answer 400 BadDigest for a wrong Content-MD5 and store nothing', async () => {
    const data = Buffer.from('content-md5 wrong');
    await rejectsS3(put(B, 'md5-bad', data, { ContentMD5: md5b64(Buffer.from('something else')) }), 400, 'BadDigest');
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'md5-bad' })), 404);
  });

  it('should answer 400 BadDigest for a wrong x-amz-checksum-crc32 and store nothing', async () => {
    const data = Buffer.from('crc wrong');
    await rejectsS3(put(B, 'crc-bad', data, { ChecksumCRC32: crc32b64(Buffer.from('other')) }), 400, 'BadDigest');
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'crc-bad' })), 404);
  });

  it('should accept x-amz-server-side-encryption AES256', async () => {
    const r = await put(B, 'sse-aes', 'x', { ServerSideEncryption: 'AES256' });
    assert.equal(r.ServerSideEncryption, 'AES256');
  });

  it('should answer 501 NotImplemented for aws:kms', async () => {
    await rejectsS3(put(B, 'sse-kms', 'x', { ServerSideEncryption: 'aws:kms' }), 501, 'NotImplemented');
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sse-kms' })), 404);
  });

  it('should answer 400 InvalidArgument for an unknown encryption value', async () => {
    await rejectsS3(
      put(B, 'sse-bogus', 'x', { ServerSideEncryption: 'bogus' as ServerSideEncryption }),
      400,
      'InvalidArgument',
    );
  });

  it('should answer 404 NoSuchBucket for a missing bucket', async () => {
    await rejectsS3(put('sdk-put-missing', 'k', 'x'), 404, 'NoSuchBucket');
  });
});

describe('GetObject and HeadObject', () => {
  const B = 'sdk-get';
  const data = patternBytes(200_000, 'get'); // spans four 64 KiB chunks
  const N = data.length;
  let lastModified: Date;
  const meta = { plain: 'value', 'utf-8': utf8AsLatin1('grüße 日本 🙂') };

  before(async () => {
    await mkBucket(B);
    await put(B, 'obj', data, {
      Metadata: meta,
      ContentType: 'application/x-coffer',
      ContentDisposition: 'attachment; filename="obj.bin"',
      ContentEncoding: 'identity',
      ContentLanguage: 'de-CH',
      CacheControl: 'max-age=60',
      Expires: new Date('2030-01-02T03:04:05Z'),
    });
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'obj' }));
    lastModified = h.LastModified!;
  });

  it('should return the object byte for byte with its headers', async () => {
    const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj' }));
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.ok((await bodyBytes(r.Body)).equals(data));
    assert.equal(r.ContentLength, N);
    assert.equal(r.ETag, `"${md5hex(data)}"`);
    assert.equal(r.ServerSideEncryption, 'AES256');
    assert.equal(r.ContentType, 'application/x-coffer');
    assert.equal(r.AcceptRanges, 'bytes');
  });

  it('should HEAD with length, ETag, AES256, metadata (UTF-8 too) and the content headers', async () => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'obj' }));
    assert.equal(h.ContentLength, N);
    assert.equal(h.ETag, `"${md5hex(data)}"`);
    assert.equal(h.ServerSideEncryption, 'AES256');
    assert.equal(h.Metadata?.['plain'], 'value');
    assert.equal(decodeMetaValue(h.Metadata?.['utf-8'] ?? ''), 'grüße 日本 🙂');
    assert.equal(h.ContentType, 'application/x-coffer');
    assert.equal(h.ContentDisposition, 'attachment; filename="obj.bin"');
    assert.equal(h.ContentEncoding, 'identity');
    assert.equal(h.ContentLanguage, 'de-CH');
    assert.equal(h.CacheControl, 'max-age=60');
    assert.equal(h.ExpiresString, 'Wed, 02 Jan 2030 03:04:05 GMT');
    assert.ok(h.LastModified instanceof Date);
    assert.ok(Math.abs(h.LastModified.getTime() - Date.now()) < 120_000, 'LastModified is recent');
  });

  it('should return ChecksumCRC32 with ChecksumMode ENABLED', async () => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'obj', ChecksumMode: 'ENABLED' }));
    assert.equal(h.ChecksumCRC32, crc32b64(data));
    assert.equal(h.ChecksumType, 'FULL_OBJECT');
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', ChecksumMode: 'ENABLED' }));
    assert.equal(g.ChecksumCRC32, crc32b64(data));
    assert.equal(g.ChecksumType, 'FULL_OBJECT');
    await bodyBytes(g.Body);
  });

  it('should apply response-* overrides on GET', async () => {
    const r = await s3.send(
      new GetObjectCommand({
        Bucket: B,
        Key: 'obj',
        ResponseContentType: 'text/plain',
        ResponseContentDisposition: 'inline',
        ResponseCacheControl: 'no-cache',
        ResponseContentLanguage: 'fr',
      }),
    );
    await bodyBytes(r.Body);
    assert.equal(r.ContentType, 'text/plain');
    assert.equal(r.ContentDisposition, 'inline');
    assert.equal(r.CacheControl, 'no-cache');
    assert.equal(r.ContentLanguage, 'fr');
  });

  it('should answer 404 NoSuchKey on GET and a bare 404 on HEAD for a missing key', async () => {
    await rejectsS3(s3.send(new GetObjectCommand({ Bucket: B, Key: 'missing' })), 404, 'NoSuchKey');
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'missing' })), 404);
  });

  describe('Range', () => {
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-199', 100, 199],
      ['bytes=65530-131080', 65530, 131080], // crosses two chunk boundaries
      ['bytes=65536-65536', 65536, 65536],
      [`bytes=${N - 10}-`, N - 10, N - 1], // open-ended
      ['bytes=-10', N - 10, N - 1], // suffix
      [`bytes=-${N + 500}`, 0, N - 1], // suffix longer than the object
      [`bytes=${N - 5}-${N + 1000}`, N - 5, N - 1], // end past the end is clipped
    ];
    for (const [range, start, end] of cases) {
      it(`should answer 206 with exact bytes for ${range}`, async () => {
        const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', Range: range }));
        assert.equal(r.$metadata.httpStatusCode, 206);
        assert.equal(r.ContentRange, `bytes ${start}-${end}/${N}`);
        assert.equal(r.ContentLength, end - start + 1);
        assert.ok((await bodyBytes(r.Body)).equals(data.subarray(start, end + 1)));
      });
    }

    it('should answer 416 InvalidRange for a range starting at or past the end', async () => {
      const e = await rejectsS3(
        s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', Range: `bytes=${N}-` })),
        416,
        'InvalidRange',
      );
      assert.equal(e.$response?.headers?.['content-range'], `bytes */${N}`);
      await rejectsS3(
        s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', Range: `bytes=${N + 100}-${N + 200}` })),
        416,
        'InvalidRange',
      );
    });

    it('should ignore a syntactically invalid Range and answer 200 with the whole object', async () => {
      const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', Range: 'bytes=abc' }));
      assert.equal(r.$metadata.httpStatusCode, 200);
      assert.ok((await bodyBytes(r.Body)).equals(data));
    });
  });

  describe('conditional requests', () => {
    const etag = `"${md5hex(data)}"`;
    const hourMs = 3_600_000;

    it('should answer 304 to If-None-Match with the current ETag (GET and HEAD)', async () => {
      await rejectsS3(s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', IfNoneMatch: etag })), 304);
      await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'obj', IfNoneMatch: etag })), 304);
    });

    it('should answer 200 to If-None-Match with another ETag', async () => {
      const r = await s3.send(
        new GetObjectCommand({ Bucket: B, Key: 'obj', IfNoneMatch: '"0123456789abcdef0123456789abcdef"' }),
      );
      assert.equal(r.$metadata.httpStatusCode, 200);
      await bodyBytes(r.Body);
    });

    it('should answer 412 PreconditionFailed to If-Match with another ETag, 200 with the right one', async () => {
      await rejectsS3(
        s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', IfMatch: '"0123456789abcdef0123456789abcdef"' })),
        412,
        'PreconditionFailed',
      );
      await rejectsS3(
        s3.send(new HeadObjectCommand({ Bucket: B, Key: 'obj', IfMatch: '"0123456789abcdef0123456789abcdef"' })),
        412,
      );
      const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'obj', IfMatch: etag }));
      assert.equal(r.$metadata.httpStatusCode, 200);
      await bodyBytes(r.Body);
    });

    it('should answer 304 to If-Modified-Since after the last change, 200 before it', async () => {
      await rejectsS3(
        s3.send(
          new GetObjectCommand({ Bucket: B, Key: 'obj', IfModifiedSince: new Date(lastModified.getTime() + hourMs) }),
        ),
        304,
      );
      const r = await s3.send(
        new GetObjectCommand({ Bucket: B, Key: 'obj', IfModifiedSince: new Date(lastModified.getTime() - hourMs) }),
      );
      assert.equal(r.$metadata.httpStatusCode, 200);
      await bodyBytes(r.Body);
    });

    it('should answer 412 to If-Unmodified-Since before the last change, 200 after it', async () => {
      await rejectsS3(
        s3.send(
          new GetObjectCommand({ Bucket: B, Key: 'obj', IfUnmodifiedSince: new Date(lastModified.getTime() - hourMs) }),
        ),
        412,
        'PreconditionFailed',
      );
      const r = await s3.send(
        new GetObjectCommand({ Bucket: B, Key: 'obj', IfUnmodifiedSince: new Date(lastModified.getTime() + hourMs) }),
      );
      assert.equal(r.$metadata.httpStatusCode, 200);
      await bodyBytes(r.Body);
    });

    it('should answer 200 when If-Match holds even if If-Unmodified-Since fails (AWS order)', async () => {
      const r = await s3.send(
        new GetObjectCommand({
          Bucket: B,
          Key: 'obj',
          IfMatch: etag,
          IfUnmodifiedSince: new Date(lastModified.getTime() - hourMs),
        }),
      );
      assert.equal(r.$metadata.httpStatusCode, 200);
      await bodyBytes(r.Body);
    });

    it('should refuse PutObject If-None-Match * on an existing key with 412 and keep the old bytes', async () => {
      await rejectsS3(put(B, 'obj', 'new bytes', { IfNoneMatch: '*' }), 412, 'PreconditionFailed');
      assert.ok((await getBytes(B, 'obj')).equals(data));
    });

    it('should accept PutObject If-None-Match * on a new key', async () => {
      const r = await put(B, 'ifnonematch-new', 'fresh', { IfNoneMatch: '*' });
      assert.equal(r.$metadata.httpStatusCode, 200);
    });
  });
});

describe('object keys', () => {
  const B = 'sdk-keys';
  const longKey = (() => {
    const tail = 'ü'.repeat(100); // 200 bytes of UTF-8
    const k = 'long/' + 'k'.repeat(1024 - 5 - Buffer.byteLength(tail)) + tail;
    assert.equal(Buffer.byteLength(k), 1024);
    return k;
  })();
  const keys = [
    'a/b/c.txt',
    'with space',
    'plus+sign',
    'percent%20literal',
    '100%',
    'üñíçødé/日本語/🙂',
    'tricky ?#&=;:@$,[]{}\'"!*()~^`|<>\\',
    'double//slash',
    '/leading-slash',
    'trailing/',
    'tab\tand newline\n',
    'dots/./and/../x',
    longKey,
  ];

  before(() => mkBucket(B));

  it('should round-trip every key byte for byte', async () => {
    for (const [i, key] of keys.entries()) {
      const body = Buffer.from(`body ${i}`);
      await put(B, key, body);
      const got = await getBytes(B, key);
      assert.ok(got.equals(body), `GET ${JSON.stringify(key)} gave ${JSON.stringify(got.toString())}`);
      const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: key }));
      assert.equal(h.ContentLength, body.length);
    }
  });

  it('should list every key exactly, in UTF-8 byte order', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B }));
    const listed = (r.Contents ?? []).map((c) => c.Key!);
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(listed, expected);
  });

  it('should list every key exactly with EncodingType url', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, EncodingType: 'url' }));
    assert.equal(r.EncodingType, 'url');
    const listed = (r.Contents ?? []).map((c) => c.Key!);
    for (const k of listed) assert.doesNotMatch(k, /[ \t\n<>"]|[^\x00-\x7f]/, `encoded key ${JSON.stringify(k)}`);
    const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(listed.map(urlDecodePlus), expected);
  });

  it('should answer 400 KeyTooLongError for a 1025-byte key', async () => {
    await rejectsS3(put(B, longKey + 'x', 'x'), 400, 'KeyTooLongError');
  });

  it('should copy and delete keys with special characters', async () => {
    const src = 'üñíçødé/日本語/🙂';
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy of+%/ü', CopySource: `${B}/${encodeKey(src)}` }));
    assert.ok((await getBytes(B, 'copy of+%/ü')).equals(await getBytes(B, src)));
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'copy of+%/ü' }));
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'copy of+%/ü' })), 404);
  });
});

describe('ListObjectsV2', () => {
  const B = 'sdk-list';
  const keys = ['a1', 'a2', 'b/1', 'b/2', 'b/c/3', 'c', 'd/1', 'd/2', 'e'];

  before(async () => {
    await mkBucket(B);
    for (const k of keys) await put(B, k, `v:${k}`);
  });

  it('should list everything with sizes, ETags and KeyCount', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B }));
    assert.deepEqual(
      (r.Contents ?? []).map((c) => c.Key),
      keys,
    );
    assert.equal(r.KeyCount, keys.length);
    assert.equal(r.IsTruncated, false);
    const c = r.Contents!.find((o) => o.Key === 'b/c/3')!;
    assert.equal(c.Size, Buffer.byteLength('v:b/c/3'));
    assert.equal(c.ETag, `"${md5hex(Buffer.from('v:b/c/3'))}"`);
    assert.ok(c.LastModified instanceof Date);
    assert.equal(c.Owner, undefined, 'no Owner without fetch-owner');
  });

  it('should group by delimiter into CommonPrefixes', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/' }));
    assert.deepEqual(
      (r.Contents ?? []).map((c) => c.Key),
      ['a1', 'a2', 'c', 'e'],
    );
    assert.deepEqual(
      (r.CommonPrefixes ?? []).map((p) => p.Prefix),
      ['b/', 'd/'],
    );
    assert.equal(r.KeyCount, 6);
  });

  it('should combine prefix and delimiter', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'b/', Delimiter: '/' }));
    assert.deepEqual(
      (r.Contents ?? []).map((c) => c.Key),
      ['b/1', 'b/2'],
    );
    assert.deepEqual(
      (r.CommonPrefixes ?? []).map((p) => p.Prefix),
      ['b/c/'],
    );
    assert.equal(r.Prefix, 'b/');
  });

  it('should paginate with max-keys and continuation tokens', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: B, MaxKeys: 2, ContinuationToken: token }));
      pages++;
      assert.ok((r.KeyCount ?? 0) <= 2);
      assert.equal(r.MaxKeys, 2);
      seen.push(...(r.Contents ?? []).map((c) => c.Key!));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
      if (r.IsTruncated) assert.ok(token, 'NextContinuationToken when truncated');
      assert.ok(pages < 20);
    } while (token);
    assert.deepEqual(seen, keys);
    assert.equal(pages, Math.ceil(keys.length / 2));
  });

  it('should paginate prefixes and keys together with a delimiter', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await s3.send(
        new ListObjectsV2Command({ Bucket: B, MaxKeys: 1, Delimiter: '/', ContinuationToken: token }),
      );
      seen.push(...(r.Contents ?? []).map((c) => c.Key!), ...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(seen, ['a1', 'a2', 'b/', 'c', 'd/', 'e']);
  });

  it('should start after start-after', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, StartAfter: 'b/2' }));
    assert.deepEqual(
      (r.Contents ?? []).map((c) => c.Key),
      ['b/c/3', 'c', 'd/1', 'd/2', 'e'],
    );
    assert.equal(r.StartAfter, 'b/2');
  });

  it('should include the owner with fetch-owner', async () => {
    const owner = (await s3.send(new ListBucketsCommand({}))).Owner!;
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, FetchOwner: true, MaxKeys: 1 }));
    assert.equal(r.Contents?.[0]?.Owner?.ID, owner.ID);
    assert.equal(r.Contents?.[0]?.Owner?.DisplayName, owner.DisplayName);
  });

  it('should answer 400 InvalidArgument for a negative max-keys', async () => {
    await rejectsS3(s3.send(new ListObjectsV2Command({ Bucket: B, MaxKeys: -1 })), 400, 'InvalidArgument');
  });

  it('should answer an empty page for max-keys 0', async () => {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, MaxKeys: 0 }));
    assert.equal(r.KeyCount, 0);
    assert.equal(r.Contents, undefined);
  });

  it('should answer 400 InvalidArgument for a bad continuation token', async () => {
    await rejectsS3(
      s3.send(new ListObjectsV2Command({ Bucket: B, ContinuationToken: '!!not-a-token!!' })),
      400,
      'InvalidArgument',
    );
  });

  it('should answer 404 NoSuchBucket for a missing bucket', async () => {
    await rejectsS3(s3.send(new ListObjectsV2Command({ Bucket: 'sdk-list-missing' })), 404, 'NoSuchBucket');
  });
});

describe('ListObjects (v1)', () => {
  const B = 'sdk-list1';
  const keys = ['a', 'b/1', 'b/2', 'c', 'd d', 'e'];

  before(async () => {
    await mkBucket(B);
    for (const k of keys) await put(B, k, k);
  });

  it('should list with the owner and paginate with marker', async () => {
    const owner = (await s3.send(new ListBucketsCommand({}))).Owner!;
    const seen: string[] = [];
    let marker: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await s3.send(new ListObjectsCommand({ Bucket: B, MaxKeys: 4, Marker: marker }));
      const page = (r.Contents ?? []).map((c) => c.Key!);
      seen.push(...page);
      for (const c of r.Contents ?? []) assert.equal(c.Owner?.ID, owner.ID);
      if (!r.IsTruncated) break;
      marker = r.NextMarker ?? page.at(-1);
    }
    assert.deepEqual(seen, keys);
  });

  it('should return NextMarker with a delimiter when truncated', async () => {
    const r = await s3.send(new ListObjectsCommand({ Bucket: B, Delimiter: '/', MaxKeys: 2 }));
    assert.equal(r.IsTruncated, true);
    assert.deepEqual(
      (r.Contents ?? []).map((c) => c.Key),
      ['a'],
    );
    assert.deepEqual(
      (r.CommonPrefixes ?? []).map((p) => p.Prefix),
      ['b/'],
    );
    assert.equal(r.NextMarker, 'b/');
    const r2 = await s3.send(new ListObjectsCommand({ Bucket: B, Delimiter: '/', Marker: r.NextMarker }));
    assert.deepEqual(
      (r2.Contents ?? []).map((c) => c.Key),
      ['c', 'd d', 'e'],
    );
    assert.equal(r2.IsTruncated, false);
  });

  it('should filter by prefix', async () => {
    const r = await s3.send(new ListObjectsCommand({ Bucket: B, Prefix: 'b/' }));
    assert.deepEqual(
      (r.Contents ?? []).map((c) => c.Key),
      ['b/1', 'b/2'],
    );
  });

  it('should url-encode keys with EncodingType url', async () => {
    const r = await s3.send(new ListObjectsCommand({ Bucket: B, EncodingType: 'url', Prefix: 'd' }));
    const listed = (r.Contents ?? []).map((c) => c.Key!);
    assert.equal(listed.length, 1);
    assert.notEqual(listed[0], 'd d');
    assert.equal(urlDecodePlus(listed[0]!), 'd d');
  });
});

describe('ListObjectVersions', () => {
  it('should list each object once with VersionId null and IsLatest', async () => {
    const B = 'sdk-versions';
    await mkBucket(B);
    for (const k of ['x', 'y/1', 'z']) await put(B, k, k);
    const r = await s3.send(new ListObjectVersionsCommand({ Bucket: B }));
    assert.deepEqual(
      (r.Versions ?? []).map((v) => v.Key),
      ['x', 'y/1', 'z'],
    );
    for (const v of r.Versions ?? []) {
      assert.equal(v.VersionId, 'null');
      assert.equal(v.IsLatest, true);
      assert.equal(v.ETag, `"${md5hex(Buffer.from(v.Key!))}"`);
    }
    assert.equal(r.DeleteMarkers, undefined);
    const d = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Delimiter: '/' }));
    assert.deepEqual(
      (d.Versions ?? []).map((v) => v.Key),
      ['x', 'z'],
    );
    assert.deepEqual(
      (d.CommonPrefixes ?? []).map((p) => p.Prefix),
      ['y/'],
    );
  });
});

describe('CopyObject', () => {
  const B = 'sdk-copy';
  const B2 = 'sdk-copy-dst';
  const data = patternBytes(100_000, 'copy');

  before(async () => {
    await mkBucket(B);
    await mkBucket(B2);
    await put(B, 'src', data, { Metadata: { color: 'blue' }, ContentType: 'image/x-test' });
  });

  it('should copy within a bucket with the metadata (COPY)', async () => {
    const r = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'dst', CopySource: `${B}/src` }));
    assert.equal(r.CopyObjectResult?.ETag, `"${md5hex(data)}"`);
    assert.ok(r.CopyObjectResult?.LastModified instanceof Date);
    assert.equal(r.ServerSideEncryption, 'AES256');
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'dst' }));
    assert.ok((await bodyBytes(g.Body)).equals(data));
    assert.equal(g.Metadata?.['color'], 'blue');
    assert.equal(g.ContentType, 'image/x-test');
  });

  it('should copy across buckets', async () => {
    await s3.send(
      new CopyObjectCommand({ Bucket: B2, Key: 'from-other', CopySource: `${B}/src`, MetadataDirective: 'COPY' }),
    );
    assert.ok((await getBytes(B2, 'from-other')).equals(data));
  });

  it('should accept a copy source with a leading slash', async () => {
    await s3.send(new CopyObjectCommand({ Bucket: B2, Key: 'leading-slash', CopySource: `/${B}/src` }));
    assert.ok((await getBytes(B2, 'leading-slash')).equals(data));
  });

  it('should replace the metadata with REPLACE', async () => {
    await s3.send(
      new CopyObjectCommand({
        Bucket: B2,
        Key: 'replaced',
        CopySource: `${B}/src`,
        MetadataDirective: 'REPLACE',
        Metadata: { shape: 'round' },
        ContentType: 'text/x-new',
      }),
    );
    const h = await s3.send(new HeadObjectCommand({ Bucket: B2, Key: 'replaced' }));
    assert.deepEqual(h.Metadata, { shape: 'round' });
    assert.equal(h.ContentType, 'text/x-new');
    assert.equal(h.ETag, `"${md5hex(data)}"`);
  });

  it('should refuse a copy onto itself without REPLACE with 400 InvalidRequest', async () => {
    await rejectsS3(
      s3.send(new CopyObjectCommand({ Bucket: B, Key: 'src', CopySource: `${B}/src` })),
      400,
      'InvalidRequest',
    );
  });

  it('should allow a copy onto itself with REPLACE', async () => {
    await put(B, 'self', data, { Metadata: { v: '1' } });
    await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'self',
        CopySource: `${B}/self`,
        MetadataDirective: 'REPLACE',
        Metadata: { v: '2' },
      }),
    );
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'self' }));
    assert.equal(g.Metadata?.['v'], '2');
    assert.ok((await bodyBytes(g.Body)).equals(data));
  });

  it('should answer 412 PreconditionFailed when x-amz-copy-source-if-match fails', async () => {
    await rejectsS3(
      s3.send(
        new CopyObjectCommand({
          Bucket: B,
          Key: 'cond',
          CopySource: `${B}/src`,
          CopySourceIfMatch: '"00000000000000000000000000000000"',
        }),
      ),
      412,
      'PreconditionFailed',
    );
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond' })), 404);
  });

  it('should copy when x-amz-copy-source-if-match holds', async () => {
    const r = await s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'cond-ok',
        CopySource: `${B}/src`,
        CopySourceIfMatch: `"${md5hex(data)}"`,
      }),
    );
    assert.equal(r.$metadata.httpStatusCode, 200);
  });

  it('should answer 404 NoSuchKey for a missing source', async () => {
    await rejectsS3(
      s3.send(new CopyObjectCommand({ Bucket: B, Key: 'x', CopySource: `${B}/no-such-src` })),
      404,
      'NoSuchKey',
    );
  });
});

describe('DeleteObject', () => {
  it('should delete, and answer 204 for a missing key too', async () => {
    const B = 'sdk-delete';
    await mkBucket(B);
    await put(B, 'k', 'x');
    const r = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
    assert.equal(r.$metadata.httpStatusCode, 204);
    await rejectsS3(s3.send(new GetObjectCommand({ Bucket: B, Key: 'k' })), 404, 'NoSuchKey');
    const r2 = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
    assert.equal(r2.$metadata.httpStatusCode, 204);
  });
});

describe('DeleteObjects', () => {
  const B = 'sdk-multidelete';
  before(() => mkBucket(B));

  it('should report each deleted key (missing keys count as deleted)', async () => {
    for (const k of ['m1', 'm2', 'm 3/ü']) await put(B, k, k);
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: { Objects: [{ Key: 'm1' }, { Key: 'm2' }, { Key: 'm 3/ü' }, { Key: 'never-existed' }] },
      }),
    );
    assert.deepEqual((r.Deleted ?? []).map((d) => d.Key).sort(), ['m 3/ü', 'm1', 'm2', 'never-existed']);
    assert.equal(r.Errors, undefined);
    const l = await s3.send(new ListObjectsV2Command({ Bucket: B }));
    assert.equal(l.KeyCount, 0);
  });

  it('should answer an empty result in quiet mode and still delete', async () => {
    for (const k of ['q1', 'q2']) await put(B, k, k);
    const r = await s3.send(
      new DeleteObjectsCommand({ Bucket: B, Delete: { Quiet: true, Objects: [{ Key: 'q1' }, { Key: 'q2' }] } }),
    );
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.equal(r.Deleted, undefined);
    assert.equal(r.Errors, undefined);
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'q1' })), 404);
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'q2' })), 404);
  });
});

describe('DeleteBucket', () => {
  it('should answer 409 BucketNotEmpty, then 204 once empty, then 404 NoSuchBucket', async () => {
    const B = 'sdk-delbucket';
    await mkBucket(B);
    await put(B, 'k', 'x');
    await rejectsS3(s3.send(new DeleteBucketCommand({ Bucket: B })), 409, 'BucketNotEmpty');
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
    const r = await s3.send(new DeleteBucketCommand({ Bucket: B }));
    assert.equal(r.$metadata.httpStatusCode, 204);
    await rejectsS3(s3.send(new HeadBucketCommand({ Bucket: B })), 404);
    await rejectsS3(s3.send(new DeleteBucketCommand({ Bucket: B })), 404, 'NoSuchBucket');
  });
});

describe('presigned URLs', () => {
  const B = 'sdk-presign';
  let presigner: S3Client;
  before(async () => {
    await mkBucket(B);
    // WHEN_REQUIRED: otherwise the SDK signs an x-amz-checksum-crc32 of an empty body into PUT URLs
    presigner = sdkClient(server, server, { requestChecksumCalculation: 'WHEN_REQUIRED' });
  });
  after(() => presigner.destroy());

  it('should GET through a presigned URL with fetch', async () => {
    const data = patternBytes(70_000, 'presign-get');
    await put(B, 'p get', data);
    const url = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: B, Key: 'p get' }), { expiresIn: 300 });
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.ok((await fetchBytes(r)).equals(data));
    assert.equal(r.headers.get('etag'), `"${md5hex(data)}"`);
  });

  it('should PUT through a presigned URL with fetch', async () => {
    const data = patternBytes(80_000, 'presign-put');
    const url = await getSignedUrl(presigner, new PutObjectCommand({ Bucket: B, Key: 'p/put' }), { expiresIn: 300 });
    const r = await fetch(url, { method: 'PUT', body: new Uint8Array(data) });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal(r.headers.get('etag'), `"${md5hex(data)}"`);
    assert.ok((await getBytes(B, 'p/put')).equals(data));
  });

  it('should answer 403 AccessDenied for an expired URL', async () => {
    await put(B, 'expired', 'x');
    const url = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: B, Key: 'expired' }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 60_000),
    });
    const r = await fetch(url);
    assert.equal(r.status, 403);
    const e = parseErrorXml(await r.text());
    assert.equal(e['Code'], 'AccessDenied');
    assert.equal(e['Message'], 'Request has expired');
  });

  it('should answer 403 SignatureDoesNotMatch for a tampered URL', async () => {
    await put(B, 'tamper', 'x');
    const url = await getSignedUrl(presigner, new GetObjectCommand({ Bucket: B, Key: 'tamper' }), { expiresIn: 300 });
    const r = await fetch(url.replace('/tamper?', '/tamper2?'));
    assert.equal(r.status, 403);
    assert.equal(parseErrorXml(await r.text())['Code'], 'SignatureDoesNotMatch');
  });
});

describe('authentication', () => {
  const B = 'sdk-auth';
  before(async () => {
    await mkBucket(B);
    await put(B, 'k', 'secret bytes');
  });

  it('should answer 403 SignatureDoesNotMatch for a wrong secret key', async () => {
    const c = sdkClient(server, { accessKey: server.accessKey, secretKey: server.secretKey + 'x' });
    try {
      await rejectsS3(c.send(new GetObjectCommand({ Bucket: B, Key: 'k' })), 403, 'SignatureDoesNotMatch');
      await rejectsS3(c.send(new PutObjectCommand({ Bucket: B, Key: 'k2', Body: 'x' })), 403, 'SignatureDoesNotMatch');
      await rejectsS3(c.send(new ListBucketsCommand({})), 403, 'SignatureDoesNotMatch');
    } finally {
      c.destroy();
    }
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k2' })), 404);
  });

  it('should answer 403 InvalidAccessKeyId for an unknown access key', async () => {
    const c = sdkClient(server, { accessKey: 'AKNOSUCHKEY000000000', secretKey: 'whatever' });
    try {
      await rejectsS3(c.send(new ListBucketsCommand({})), 403, 'InvalidAccessKeyId');
      await rejectsS3(c.send(new GetObjectCommand({ Bucket: B, Key: 'k' })), 403, 'InvalidAccessKeyId');
    } finally {
      c.destroy();
    }
  });

  it('should answer 403 AccessDenied to anonymous requests', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', `/${B}`],
      ['GET', `/${B}/k`],
      ['PUT', `/${B}/anon`],
      ['DELETE', `/${B}/k`],
    ] as const) {
      const r = await fetch(server.url + path, { method, body: method === 'PUT' ? 'x' : undefined });
      const text = await r.text();
      assert.equal(r.status, 403, `${method} ${path}: ${text}`);
      assert.equal(parseErrorXml(text)['Code'], 'AccessDenied', `${method} ${path}: ${text}`);
      assert.ok(r.headers.get('x-amz-request-id'), 'x-amz-request-id');
    }
    assert.equal((await getBytes(B, 'k')).toString(), 'secret bytes');
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'anon' })), 404);
  });
});

describe('users', () => {
  const B = 'sdk-private';
  before(async () => {
    await mkBucket(B);
    await put(B, 'mine', 'root data');
  });

  it('should answer 403 AccessDenied to another user on every bucket and object operation', async () => {
    await rejectsS3(s3b.send(new GetObjectCommand({ Bucket: B, Key: 'mine' })), 403, 'AccessDenied');
    await rejectsS3(s3b.send(new HeadObjectCommand({ Bucket: B, Key: 'mine' })), 403);
    await rejectsS3(s3b.send(new PutObjectCommand({ Bucket: B, Key: 'theirs', Body: 'x' })), 403, 'AccessDenied');
    await rejectsS3(s3b.send(new ListObjectsV2Command({ Bucket: B })), 403, 'AccessDenied');
    await rejectsS3(s3b.send(new ListObjectsCommand({ Bucket: B })), 403, 'AccessDenied');
    await rejectsS3(s3b.send(new DeleteObjectCommand({ Bucket: B, Key: 'mine' })), 403, 'AccessDenied');
    await rejectsS3(
      s3b.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'mine' }] } })),
      403,
      'AccessDenied',
    );
    await rejectsS3(
      s3b.send(new CopyObjectCommand({ Bucket: B, Key: 'copy', CopySource: `${B}/mine` })),
      403,
      'AccessDenied',
    );
    await rejectsS3(s3b.send(new DeleteBucketCommand({ Bucket: B })), 403, 'AccessDenied');
    await rejectsS3(s3b.send(new GetBucketLocationCommand({ Bucket: B })), 403, 'AccessDenied');
    // and nothing changed
    assert.equal((await getBytes(B, 'mine')).toString(), 'root data');
    await rejectsS3(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'theirs' })), 404);
  });

  it('should not let another user copy an object out of a bucket it cannot read', async () => {
    await mkBucket('sdk-user2-dst', s3b);
    await rejectsS3(
      s3b.send(new CopyObjectCommand({ Bucket: 'sdk-user2-dst', Key: 'stolen', CopySource: `${B}/mine` })),
      403,
      'AccessDenied',
    );
    await rejectsS3(s3b.send(new HeadObjectCommand({ Bucket: 'sdk-user2-dst', Key: 'stolen' })), 404);
  });

  it('should let the second user work in its own bucket', async () => {
    await s3b.send(new PutObjectCommand({ Bucket: 'sdk-user2-dst', Key: 'ok', Body: 'user2 data' }));
    assert.equal((await getBytes('sdk-user2-dst', 'ok', s3b)).toString(), 'user2 data');
    await rejectsS3(s3.send(new GetObjectCommand({ Bucket: 'sdk-user2-dst', Key: 'ok' })), 403, 'AccessDenied');
  });
});
