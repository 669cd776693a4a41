/**
 * End-to-end, the decision point as a table: every operation, sent over HTTP by the bucket's owner, another user
 * and an anonymous caller, to a bucket without ACL grants and to one whose ACLs grant the public READ and WRITE,
 * every signed user READ_ACP, and the other user FULL_CONTROL of one object. Each answer is either the operation's
 * own (whatever it is, it is not AccessDenied) or exactly 403 AccessDenied. The server runs with the older,
 * permissive defaults (`--default-object-ownership ObjectWriter --default-public-access-block off`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListBucketsCommand,
  PutBucketAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { Operation } from '../src/operations.ts';
import { sdkClient } from './helpers/clients.ts';
import { httpSend, parseErrorXml, signedSend } from './helpers/http.ts';
import { addUser, makeTempDir, randomCredentials, startServer, type RunningServer } from './helpers/server.ts';

const ALL_USERS = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"';
const AUTHENTICATED = 'uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"';
const PRIVATE = 'authz-private';
const OPEN = 'authz-open';

type Who = 'owner' | 'other' | 'anonymous';
interface Req {
  method: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
}
/** What a row needs to build its request. */
interface Fixture {
  bucket: string;
  uploadId: string;
  ownerId: string;
  otherId: string;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
const xml = (method: string, bucket: string, query: Record<string, string>, doc: string): Req => {
  const body = Buffer.from(doc);
  return { method, path: `/${bucket}`, query, headers: { 'content-md5': md5(body) }, body };
};
const on = (method: string, name: string, key?: string) => (f: Fixture) => ({
  method,
  path: key ? `/${f.bucket}/${key}` : `/${f.bucket}`,
  query: { [name]: '' },
});
/** The grants the object `obj` has, restated by PutObjectAcl (so that the table leaves it as it was). */
const objectGrants = (f: Fixture): Record<string, string> =>
  f.bucket === OPEN
    ? { 'x-amz-grant-full-control': `id="${f.ownerId}", id="${f.otherId}"`, 'x-amz-grant-read': ALL_USERS }
    : { 'x-amz-acl': 'private' };
/** The grants of the bucket, restated by PutBucketAcl. */
const bucketGrants = (f: Fixture): Record<string, string> =>
  f.bucket === OPEN
    ? {
        'x-amz-grant-full-control': `id="${f.ownerId}"`,
        'x-amz-grant-read': ALL_USERS,
        'x-amz-grant-write': ALL_USERS,
        'x-amz-grant-read-acp': AUTHENTICATED,
      }
    : { 'x-amz-acl': 'private' };

type TableOp = Exclude<Operation, 'ListBuckets' | 'CreateBucket' | 'PostObject'>;

/** One well-formed request per operation. Writes go to their own keys; completions and aborts to no upload. */
const REQUESTS: Record<TableOp, (f: Fixture) => Req> = {
  HeadBucket: (f) => ({ method: 'HEAD', path: `/${f.bucket}` }),
  DeleteBucket: (f) => ({ method: 'DELETE', path: `/${f.bucket}` }),
  GetBucketLocation: on('GET', 'location'),
  GetBucketVersioning: on('GET', 'versioning'),
  // Suspended: the bucket has versioning from then on, but every write is still the null version.
  PutBucketVersioning: (f) =>
    xml(
      'PUT',
      f.bucket,
      { versioning: '' },
      '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>',
    ),
  GetBucketEncryption: on('GET', 'encryption'),
  PutBucketEncryption: (f) =>
    xml(
      'PUT',
      f.bucket,
      { encryption: '' },
      '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256' +
        '</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>',
    ),
  DeleteBucketEncryption: on('DELETE', 'encryption'),
  GetBucketCors: on('GET', 'cors'),
  PutBucketCors: (f) =>
    xml(
      'PUT',
      f.bucket,
      { cors: '' },
      '<CORSConfiguration><CORSRule><AllowedOrigin>https://a.example</AllowedOrigin>' +
        '<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
    ),
  DeleteBucketCors: on('DELETE', 'cors'),
  PreflightRequest: (f) => ({
    method: 'OPTIONS',
    path: `/${f.bucket}/obj`,
    headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' },
  }),
  GetBucketAcl: on('GET', 'acl'),
  PutBucketAcl: (f) => ({ ...on('PUT', 'acl')(f), headers: bucketGrants(f) }),
  GetObjectAcl: on('GET', 'acl', 'obj'),
  PutObjectAcl: (f) => ({ ...on('PUT', 'acl', 'obj')(f), headers: objectGrants(f) }),
  GetBucketOwnershipControls: on('GET', 'ownershipControls'),
  PutBucketOwnershipControls: (f) =>
    xml(
      'PUT',
      f.bucket,
      { ownershipControls: '' },
      '<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>',
    ),
  DeleteBucketOwnershipControls: on('DELETE', 'ownershipControls'),
  GetPublicAccessBlock: on('GET', 'publicAccessBlock'),
  PutPublicAccessBlock: (f) =>
    xml(
      'PUT',
      f.bucket,
      { publicAccessBlock: '' },
      '<PublicAccessBlockConfiguration><BlockPublicAcls>false</BlockPublicAcls></PublicAccessBlockConfiguration>',
    ),
  DeletePublicAccessBlock: on('DELETE', 'publicAccessBlock'),
  GetBucketPolicyStatus: on('GET', 'policyStatus'),
  // Put, read back and delete a policy that changes nothing the table asks (it denies only PutBucketWebsite).
  PutBucketPolicy: (f) => ({
    method: 'PUT',
    path: `/${f.bucket}`,
    query: { policy: '' },
    body: Buffer.from(
      JSON.stringify({
        Version: '2012-10-17',
        Statement: {
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:PutBucketWebsite',
          Resource: `arn:aws:s3:::${f.bucket}`,
        },
      }),
    ),
  }),
  GetBucketPolicy: on('GET', 'policy'),
  DeleteBucketPolicy: on('DELETE', 'policy'),
  GetBucketDefault: on('GET', 'website'),
  GetObjectAttributes: (f) => ({
    ...on('GET', 'attributes', 'obj')(f),
    headers: { 'x-amz-object-attributes': 'ETag,ObjectSize' },
  }),
  GetBucketLifecycleConfiguration: on('GET', 'lifecycle'),
  PutBucketLifecycleConfiguration: (f) =>
    xml(
      'PUT',
      f.bucket,
      { lifecycle: '' },
      '<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>' +
        '<Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>',
    ),
  DeleteBucketLifecycle: on('DELETE', 'lifecycle'),
  GetBucketTagging: on('GET', 'tagging'),
  PutBucketTagging: (f) =>
    xml(
      'PUT',
      f.bucket,
      { tagging: '' },
      '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>',
    ),
  DeleteBucketTagging: on('DELETE', 'tagging'),
  GetObjectTagging: on('GET', 'tagging', 'obj'),
  PutObjectTagging: (f) => ({
    ...xml(
      'PUT',
      f.bucket,
      { tagging: '' },
      '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>',
    ),
    path: `/${f.bucket}/obj`,
  }),
  DeleteObjectTagging: on('DELETE', 'tagging', 'obj'),
  // The buckets have no Object Lock: the owner's answers are S3's errors for that, which change nothing.
  GetObjectLockConfiguration: on('GET', 'object-lock'),
  PutObjectLockConfiguration: (f) =>
    xml(
      'PUT',
      f.bucket,
      { 'object-lock': '' },
      '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>',
    ),
  GetObjectRetention: on('GET', 'retention', 'obj'),
  PutObjectRetention: (f) => ({
    ...xml(
      'PUT',
      f.bucket,
      { retention: '' },
      '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>',
    ),
    path: `/${f.bucket}/obj`,
  }),
  GetObjectLegalHold: on('GET', 'legal-hold', 'obj'),
  PutObjectLegalHold: (f) => ({
    ...xml('PUT', f.bucket, { 'legal-hold': '' }, '<LegalHold><Status>ON</Status></LegalHold>'),
    path: `/${f.bucket}/obj`,
  }),
  ListObjects: (f) => ({ method: 'GET', path: `/${f.bucket}` }),
  ListObjectsV2: (f) => ({ method: 'GET', path: `/${f.bucket}`, query: { 'list-type': '2' } }),
  ListObjectVersions: on('GET', 'versions'),
  DeleteObjects: (f) => xml('POST', f.bucket, { delete: '' }, '<Delete><Object><Key>gone</Key></Object></Delete>'),
  PutObject: (f) => ({ method: 'PUT', path: `/${f.bucket}/put`, body: Buffer.from('put') }),
  CopyObject: (f) => ({
    method: 'PUT',
    path: `/${f.bucket}/copy`,
    headers: { 'x-amz-copy-source': `/${f.bucket}/obj` },
  }),
  GetObject: (f) => ({ method: 'GET', path: `/${f.bucket}/obj` }),
  HeadObject: (f) => ({ method: 'HEAD', path: `/${f.bucket}/obj` }),
  DeleteObject: (f) => ({ method: 'DELETE', path: `/${f.bucket}/gone` }),
  CreateMultipartUpload: on('POST', 'uploads', 'mp'),
  UploadPart: (f) => ({
    method: 'PUT',
    path: `/${f.bucket}/up`,
    query: { partNumber: '1', uploadId: f.uploadId },
    body: Buffer.from('part'),
  }),
  UploadPartCopy: (f) => ({
    method: 'PUT',
    path: `/${f.bucket}/up`,
    query: { partNumber: '2', uploadId: f.uploadId },
    headers: { 'x-amz-copy-source': `/${f.bucket}/obj` },
  }),
  CompleteMultipartUpload: (f) => ({
    ...xml('POST', f.bucket, { uploadId: 'no-such-upload' }, '<CompleteMultipartUpload/>'),
    path: `/${f.bucket}/up`,
  }),
  AbortMultipartUpload: (f) => ({ method: 'DELETE', path: `/${f.bucket}/up`, query: { uploadId: 'no-such-upload' } }),
  ListParts: (f) => ({ method: 'GET', path: `/${f.bucket}/up`, query: { uploadId: f.uploadId } }),
  ListMultipartUploads: on('GET', 'uploads'),
};

/**
 * Who besides the owner gets through on the open bucket, by AWS's mapping of ACL permissions to operations:
 * bucket READ (AllUsers) lists; bucket WRITE (AllUsers) writes, deletes and runs uploads; bucket READ_ACP
 * (AuthenticatedUsers) reads the bucket ACL; `obj` is READ for AllUsers and FULL_CONTROL for the other user.
 * Everything else (the bucket's configuration, tags, ACL writes) no ACL grants. A preflight is never AccessDenied.
 */
const OPEN_ALLOWS: Partial<Record<TableOp, Who[]>> = {
  HeadBucket: ['other', 'anonymous'],
  PreflightRequest: ['other', 'anonymous'],
  GetBucketAcl: ['other'],
  GetObjectAcl: ['other'],
  PutObjectAcl: ['other'],
  GetObjectAttributes: ['other', 'anonymous'],
  ListObjects: ['other', 'anonymous'],
  ListObjectsV2: ['other', 'anonymous'],
  ListObjectVersions: ['other', 'anonymous'],
  ListMultipartUploads: ['other', 'anonymous'],
  DeleteObjects: ['other', 'anonymous'],
  PutObject: ['other', 'anonymous'],
  CopyObject: ['other', 'anonymous'],
  GetObject: ['other', 'anonymous'],
  HeadObject: ['other', 'anonymous'],
  DeleteObject: ['other', 'anonymous'],
  CreateMultipartUpload: ['other', 'anonymous'],
  UploadPart: ['other', 'anonymous'],
  UploadPartCopy: ['other', 'anonymous'],
  CompleteMultipartUpload: ['other', 'anonymous'],
  AbortMultipartUpload: ['other', 'anonymous'],
  ListParts: ['other', 'anonymous'],
};

describe('authorization of every operation (owner, other user, anonymous)', () => {
  let server: RunningServer;
  let owner: S3Client;
  let otherSdk: S3Client;
  const other = { ...randomCredentials(), name: 'other' };
  const fixtures = new Map<string, Fixture>();

  before(async () => {
    const dataDir = await makeTempDir();
    await addUser(dataDir, other);
    server = await startServer({
      dataDir,
      args: ['--default-object-ownership', 'ObjectWriter', '--default-public-access-block', 'off'],
    });
    owner = sdkClient(server, server);
    otherSdk = sdkClient(server, other);
    const ownerId = (await owner.send(new ListBucketsCommand({}))).Owner!.ID!;
    const otherId = (await otherSdk.send(new ListBucketsCommand({}))).Owner!.ID!;
    for (const bucket of [PRIVATE, OPEN]) {
      await owner.send(new CreateBucketCommand({ Bucket: bucket }));
      const open = bucket === OPEN;
      await owner.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'obj',
          Body: 'object bytes',
          ...(open ? { GrantFullControl: `id="${ownerId}", id="${otherId}"`, GrantRead: ALL_USERS } : {}),
        }),
      );
      const { UploadId } = await owner.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'up' }));
      const f = { bucket, uploadId: UploadId!, ownerId, otherId };
      fixtures.set(bucket, f);
      if (open) {
        const g = bucketGrants(f);
        await owner.send(
          new PutBucketAclCommand({
            Bucket: bucket,
            GrantFullControl: g['x-amz-grant-full-control'],
            GrantRead: g['x-amz-grant-read'],
            GrantWrite: g['x-amz-grant-write'],
            GrantReadACP: g['x-amz-grant-read-acp'],
          }),
        );
      }
    }
  });

  after(async () => {
    owner?.destroy();
    otherSdk?.destroy();
    await server?.stop({ removeDir: true });
  });

  async function send(who: Who, req: Req): Promise<{ status: number; code?: string }> {
    const creds = who === 'owner' ? server : who === 'other' ? { url: server.url, ...other } : undefined;
    const r = creds ? await signedSend(creds, req) : await httpSend({ ...req, url: server.url });
    return { status: r.status, code: parseErrorXml(r.text)['Code'] };
  }

  const denied = (r: { status: number; code?: string }, method: string) =>
    r.status === 403 && (method === 'HEAD' || r.code === 'AccessDenied');

  for (const bucket of [PRIVATE, OPEN]) {
    it(`should answer each operation on ${bucket} as the ACLs say, and AccessDenied exactly where they do not allow`, async () => {
      const f = fixtures.get(bucket)!;
      for (const [op, build] of Object.entries(REQUESTS) as [TableOp, (f: Fixture) => Req][]) {
        for (const who of ['owner', 'other', 'anonymous'] as const) {
          const req = build(f);
          const r = await send(who, req);
          const allowed =
            who === 'owner' || op === 'PreflightRequest' || (bucket === OPEN && (OPEN_ALLOWS[op] ?? []).includes(who));
          const what = `${op} on ${bucket} by ${who}: ${r.status} ${r.code ?? ''}`;
          assert.ok(r.status < 500, what);
          if (allowed) assert.ok(!denied(r, req.method), what);
          else assert.equal(denied(r, req.method), true, what);
          if (!allowed && req.method !== 'HEAD') assert.equal(r.code, 'AccessDenied', what);
        }
      }
    });
  }

  it('should take POST uploads from those the bucket ACL lets write: a signed form, or an anonymous one', async () => {
    const form = async (bucket: string, who: Who) => {
      const client = who === 'owner' ? owner : otherSdk;
      const presigned =
        who === 'anonymous'
          ? { url: `${server.url}/${bucket}`, fields: { key: 'posted' } }
          : await createPresignedPost(client as never, { Bucket: bucket, Key: 'posted' });
      const body = new FormData();
      for (const [k, v] of Object.entries(presigned.fields)) body.append(k, v);
      body.append('file', new Blob([new Uint8Array(Buffer.from('form bytes'))]), 'f.txt');
      const r = await fetch(presigned.url, { method: 'POST', body });
      return { status: r.status, code: parseErrorXml(await r.text())['Code'] };
    };
    for (const who of ['owner', 'other', 'anonymous'] as const) {
      assert.deepEqual(await form(OPEN, who), { status: 204, code: undefined }, `${who} on ${OPEN}`);
      const expected = who === 'owner' ? { status: 204, code: undefined } : { status: 403, code: 'AccessDenied' };
      assert.deepEqual(await form(PRIVATE, who), expected, `${who} on ${PRIVATE}`);
    }
  });

  it('should let users list their buckets and create buckets, and refuse both to anonymous callers', async () => {
    assert.deepEqual(await send('other', { method: 'GET', path: '/' }).then((r) => r.status), 200);
    assert.deepEqual(await send('anonymous', { method: 'GET', path: '/' }), { status: 403, code: 'AccessDenied' });
    assert.equal((await send('other', { method: 'PUT', path: '/authz-others' })).status, 200);
    assert.deepEqual(await send('anonymous', { method: 'PUT', path: '/authz-anon' }), {
      status: 403,
      code: 'AccessDenied',
    });
  });
});
