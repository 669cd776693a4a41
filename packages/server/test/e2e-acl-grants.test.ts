/**
 * End-to-end: ACLs enabled by Object Ownership (ObjectWriter, BucketOwnerPreferred), set and read by the JS SDK,
 * boto3 and s3cmd, and enforced on the owner, another user and anonymous callers (curl, fetch, unsigned boto3):
 * canned ACLs, grant headers, AccessControlPolicy documents, the errors S3 gives for grants it cannot take, and who
 * owns what each ownership setting writes.
 */
import { Agent } from 'node:http';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeletePublicAccessBlockCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { rejectsS3 } from './helpers/assert.ts';
import { Clients, describeRun, hasProgram, sdkClient } from './helpers/clients.ts';
import { assertS3Error, httpSend, objectPath, signedSend } from './helpers/http.ts';
import {
  addUser,
  makeTempDir,
  randomCredentials,
  runProcess,
  startServer,
  type RunningServer,
} from './helpers/server.ts';

const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';
const WRITER = 'acl-writer'; // ObjectWriter, no Block Public Access
const PREFERRED = 'acl-preferred'; // BucketOwnerPreferred, no Block Public Access

describe('ACLs with Object Ownership ObjectWriter and BucketOwnerPreferred', () => {
  let server: RunningServer;
  let clients: Clients;
  let owner: S3Client;
  let otherSdk: S3Client;
  let ownerId: string;
  let otherId: string;
  const other = { ...randomCredentials(), name: 'other' };

  /** An unsigned GET, as a browser or curl sends it. */
  const anonymousGet = (bucket: string, key: string) =>
    httpSend({ method: 'GET', url: server.url, path: objectPath(bucket, key) });

  before(async () => {
    const dataDir = await makeTempDir();
    await addUser(dataDir, other);
    server = await startServer({ dataDir });
    clients = await Clients.create(server);
    // No keep-alive: the s3cmd and boto3 runs between SDK calls outlast the server's 5 s idle timeout, and a reused
    // socket it has just closed would fail the next call.
    const fresh = () => ({ requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: false }) }) });
    owner = sdkClient(server, server, fresh());
    otherSdk = sdkClient(server, other, fresh());
    ownerId = (await owner.send(new ListBucketsCommand({}))).Owner!.ID!;
    otherId = (await otherSdk.send(new ListBucketsCommand({}))).Owner!.ID!;
    await owner.send(new CreateBucketCommand({ Bucket: WRITER, ObjectOwnership: 'ObjectWriter' }));
    await owner.send(new CreateBucketCommand({ Bucket: PREFERRED, ObjectOwnership: 'BucketOwnerPreferred' }));
    for (const Bucket of [WRITER, PREFERRED]) await owner.send(new DeletePublicAccessBlockCommand({ Bucket }));
  });

  after(async () => {
    owner?.destroy();
    otherSdk?.destroy();
    await clients?.cleanup();
    await server?.stop({ removeDir: true });
  });

  it('should publish an object with s3cmd setacl --acl-public for curl, and take it back with --acl-private', async () => {
    await owner.send(new PutObjectCommand({ Bucket: WRITER, Key: 'site/index.html', Body: '<h1>hi</h1>' }));
    const url = `${server.url}/${WRITER}/site/index.html`;
    const curl = () => runProcess('curl', ['-s', '-o', '-', '-w', '\\n%{http_code}', url]);
    assert.ok(hasProgram('curl'));
    assert.match((await curl()).stdout, /<Code>AccessDenied<\/Code>[\s\S]*\n403$/);

    const pub = await clients.s3cmd(['setacl', '--acl-public', `s3://${WRITER}/site/index.html`]);
    assert.equal(pub.code, 0, describeRun(pub));
    assert.equal((await curl()).stdout, '<h1>hi</h1>\n200');
    const info = await clients.s3cmd(['info', `s3://${WRITER}/site/index.html`]);
    assert.equal(info.code, 0, describeRun(info));
    assert.match(info.stdout, /ACL:\s+\*anon\*: READ/);

    const priv = await clients.s3cmd(['setacl', '--acl-private', `s3://${WRITER}/site/index.html`]);
    assert.equal(priv.code, 0, describeRun(priv));
    assert.match((await curl()).stdout, /\n403$/);
  });

  it("should serve s3cmd signurl's presigned URL of a private object to curl", async () => {
    await owner.send(new PutObjectCommand({ Bucket: WRITER, Key: 'private.txt', Body: 'signed only' }));
    const signurl = await clients.s3cmd(['signurl', `s3://${WRITER}/private.txt`, '+300']);
    assert.equal(signurl.code, 0, describeRun(signurl));
    const url = signurl.stdout.trim();
    const r = await runProcess('curl', ['-s', '-o', '-', '-w', '\\n%{http_code}', url]);
    assert.equal(r.stdout, 'signed only\n200');
    assertS3Error(await anonymousGet(WRITER, 'private.txt'), 403, 'AccessDenied');
  });

  it('should take canned ACLs from boto3 and serve public-read objects to an unsigned boto3 client', async () => {
    const r = await clients.boto3(`
from botocore import UNSIGNED
s3.put_object(Bucket='${WRITER}', Key='boto-public', Body=b'for everyone', ACL='public-read')
grants = s3.get_object_acl(Bucket='${WRITER}', Key='boto-public')['Grants']
print(sorted((g['Grantee']['Type'], g['Grantee'].get('URI', ''), g['Permission']) for g in grants))
anon = boto3.client('s3', endpoint_url=os.environ['COFFER_ENDPOINT'], region_name='us-east-1',
    config=Config(signature_version=UNSIGNED, s3={'addressing_style': 'path'}))
print(anon.get_object(Bucket='${WRITER}', Key='boto-public')['Body'].read().decode())
s3.put_object(Bucket='${WRITER}', Key='boto-private', Body=b'mine')
try:
    anon.get_object(Bucket='${WRITER}', Key='boto-private')
except ClientError as e:
    print(e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'])
`);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(r.stdout.trim().split('\n'), [
      `[('CanonicalUser', '', 'FULL_CONTROL'), ('Group', '${ALL_USERS}', 'READ')]`,
      'for everyone',
      'AccessDenied 403',
    ]);
  });

  it('should give another user what grant headers and AccessControlPolicy documents grant, and no more', async () => {
    await owner.send(new PutObjectCommand({ Bucket: WRITER, Key: 'shared', Body: 'shared bytes' }));
    await rejectsS3(otherSdk.send(new GetObjectCommand({ Bucket: WRITER, Key: 'shared' })), 403, 'AccessDenied');
    await owner.send(
      new PutObjectAclCommand({
        Bucket: WRITER,
        Key: 'shared',
        GrantFullControl: `id="${ownerId}"`,
        GrantRead: `id="${otherId}"`,
      }),
    );
    const got = await otherSdk.send(new GetObjectCommand({ Bucket: WRITER, Key: 'shared' }));
    assert.equal(await got.Body!.transformToString(), 'shared bytes');
    // READ is not READ_ACP, and the bucket grants the other user nothing.
    await rejectsS3(otherSdk.send(new GetObjectAclCommand({ Bucket: WRITER, Key: 'shared' })), 403, 'AccessDenied');
    await rejectsS3(otherSdk.send(new PutObjectCommand({ Bucket: WRITER, Key: 'x', Body: 'x' })), 403, 'AccessDenied');
    const acl = await owner.send(new GetObjectAclCommand({ Bucket: WRITER, Key: 'shared' }));
    assert.deepEqual(acl.Grants, [
      {
        Grantee: { ID: ownerId, DisplayName: acl.Owner!.DisplayName, Type: 'CanonicalUser' },
        Permission: 'FULL_CONTROL',
      },
      { Grantee: { ID: otherId, DisplayName: 'other', Type: 'CanonicalUser' }, Permission: 'READ' },
    ]);

    // A document: the owner, and WRITE on the bucket for the other user.
    await owner.send(
      new PutBucketAclCommand({
        Bucket: WRITER,
        AccessControlPolicy: {
          Owner: { ID: ownerId },
          Grants: [
            { Grantee: { Type: 'CanonicalUser', ID: ownerId }, Permission: 'FULL_CONTROL' },
            { Grantee: { Type: 'CanonicalUser', ID: otherId }, Permission: 'WRITE' },
          ],
        },
      }),
    );
    await otherSdk.send(new PutObjectCommand({ Bucket: WRITER, Key: 'from-other', Body: 'theirs' }));
    // ObjectWriter: the writer owns what it writes; the bucket's owner may delete it but not read it.
    const theirs = await otherSdk.send(new GetObjectAclCommand({ Bucket: WRITER, Key: 'from-other' }));
    assert.equal(theirs.Owner?.ID, otherId);
    await rejectsS3(owner.send(new GetObjectCommand({ Bucket: WRITER, Key: 'from-other' })), 403, 'AccessDenied');
    await owner.send(new PutBucketAclCommand({ Bucket: WRITER, ACL: 'private' }));
    await rejectsS3(otherSdk.send(new PutObjectCommand({ Bucket: WRITER, Key: 'y', Body: 'y' })), 403, 'AccessDenied');
  });

  it('should let authenticated-read in every signed user and no anonymous caller', async () => {
    await owner.send(new PutObjectCommand({ Bucket: WRITER, Key: 'members', Body: 'm', ACL: 'authenticated-read' }));
    assert.equal(
      await (await otherSdk.send(new GetObjectCommand({ Bucket: WRITER, Key: 'members' }))).Body!.transformToString(),
      'm',
    );
    assertS3Error(await anonymousGet(WRITER, 'members'), 403, 'AccessDenied');
  });

  it('should answer a missing key with 404 to those who may list the bucket and 403 to others', async () => {
    assertS3Error(await anonymousGet(WRITER, 'no-such-key'), 403, 'AccessDenied');
    await owner.send(new PutBucketAclCommand({ Bucket: WRITER, ACL: 'public-read' }));
    try {
      assertS3Error(await anonymousGet(WRITER, 'no-such-key'), 404, 'NoSuchKey');
      const list = await httpSend({ method: 'GET', url: server.url, path: `/${WRITER}`, query: { 'list-type': '2' } });
      assert.equal(list.status, 200, list.text);
      assert.match(list.text, /<Key>site\/index.html<\/Key>/);
    } finally {
      await owner.send(new PutBucketAclCommand({ Bucket: WRITER, ACL: 'private' }));
    }
  });

  it('should take anonymous uploads where the bucket ACL grants WRITE, and still check a payload hash sent', async () => {
    await owner.send(new PutBucketAclCommand({ Bucket: WRITER, ACL: 'public-read-write' }));
    try {
      const put = (headers: Record<string, string>) =>
        httpSend({
          method: 'PUT',
          url: server.url,
          path: objectPath(WRITER, 'dropbox'),
          headers,
          body: Buffer.from('dropped'),
        });
      assertS3Error(await put({ 'x-amz-content-sha256': 'ab'.repeat(32) }), 400, 'XAmzContentSHA256Mismatch');
      assertS3Error(
        await put({ 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }),
        400,
        'InvalidArgument',
      );
      assert.equal((await put({})).status, 200);
      // The anonymous writer's object is the bucket owner's.
      const acl = await owner.send(new GetObjectAclCommand({ Bucket: WRITER, Key: 'dropbox' }));
      assert.equal(acl.Owner?.ID, ownerId);
      assert.equal(
        await (await owner.send(new GetObjectCommand({ Bucket: WRITER, Key: 'dropbox' }))).Body!.transformToString(),
        'dropped',
      );
    } finally {
      await owner.send(new PutBucketAclCommand({ Bucket: WRITER, ACL: 'private' }));
    }
    const r = await httpSend({
      method: 'PUT',
      url: server.url,
      path: objectPath(WRITER, 'late'),
      body: Buffer.from('x'),
    });
    assertS3Error(r, 403, 'AccessDenied');
  });

  it('should apply x-amz-acl on copies and multipart uploads', async () => {
    await owner.send(
      new CopyObjectCommand({ Bucket: WRITER, Key: 'copy-public', CopySource: `${WRITER}/shared`, ACL: 'public-read' }),
    );
    assert.equal((await anonymousGet(WRITER, 'copy-public')).text, 'shared bytes');
    const { UploadId } = await owner.send(
      new CreateMultipartUploadCommand({ Bucket: WRITER, Key: 'mp-public', ACL: 'public-read' }),
    );
    const part = await owner.send(
      new UploadPartCommand({ Bucket: WRITER, Key: 'mp-public', UploadId, PartNumber: 1, Body: 'multipart bytes' }),
    );
    await owner.send(
      new CompleteMultipartUploadCommand({
        Bucket: WRITER,
        Key: 'mp-public',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const r = await anonymousGet(WRITER, 'mp-public');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'multipart bytes');
  });

  it('should give objects to the bucket owner under BucketOwnerPreferred when the writer grants it full control', async () => {
    await owner.send(
      new PutBucketAclCommand({
        Bucket: PREFERRED,
        GrantFullControl: `id="${ownerId}"`,
        GrantWrite: `id="${otherId}"`,
      }),
    );
    await otherSdk.send(
      new PutObjectCommand({ Bucket: PREFERRED, Key: 'handed-over', Body: 'h', ACL: 'bucket-owner-full-control' }),
    );
    await otherSdk.send(new PutObjectCommand({ Bucket: PREFERRED, Key: 'kept', Body: 'k' }));
    const handed = await owner.send(new GetObjectAclCommand({ Bucket: PREFERRED, Key: 'handed-over' }));
    assert.equal(handed.Owner?.ID, ownerId);
    assert.equal(
      await (
        await owner.send(new GetObjectCommand({ Bucket: PREFERRED, Key: 'handed-over' }))
      ).Body!.transformToString(),
      'h',
    );
    const kept = await otherSdk.send(new GetObjectAclCommand({ Bucket: PREFERRED, Key: 'kept' }));
    assert.equal(kept.Owner?.ID, otherId);
    await rejectsS3(owner.send(new GetObjectCommand({ Bucket: PREFERRED, Key: 'kept' })), 403, 'AccessDenied');
  });

  it('should refuse grants S3 cannot take: e-mail grantees, unknown ids, unknown groups, canned with grants', async () => {
    const put = (headers: Record<string, string>) =>
      signedSend(server, { method: 'PUT', path: objectPath(WRITER, 'shared'), query: { acl: '' }, headers });
    const email = assertS3Error(
      await put({ 'x-amz-grant-read': 'emailAddress="someone@example.com"' }),
      400,
      'UnresolvableGrantByEmailAddress',
    );
    assert.equal(email['Message'], 'The email address you provided does not match any account on record.');
    const id = assertS3Error(await put({ 'x-amz-grant-read': 'id="0000"' }), 400, 'InvalidArgument');
    assert.equal(id['ArgumentValue'], '0000');
    assertS3Error(await put({ 'x-amz-grant-read': 'uri="http://example.com/group"' }), 400, 'InvalidArgument');
    assertS3Error(await put({ 'x-amz-grant-read': 'nonsense' }), 400, 'InvalidArgument');
    assertS3Error(await put({ 'x-amz-acl': 'everyone-please' }), 400, 'InvalidArgument');
    const both = assertS3Error(
      await put({ 'x-amz-acl': 'public-read', 'x-amz-grant-read': `id="${otherId}"` }),
      400,
      'InvalidRequest',
    );
    assert.equal(both['Message'], 'Specifying both Canned ACLs and Header Grants is not allowed');
    const doc = (body: string) =>
      signedSend(server, {
        method: 'PUT',
        path: objectPath(WRITER, 'shared'),
        query: { acl: '' },
        body: Buffer.from(body),
      });
    assertS3Error(await doc('<AccessControlPolicy><Nope/></AccessControlPolicy>'), 400, 'MalformedACLError');
    assertS3Error(
      await doc(
        '<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
          'xsi:type="Group"><URI>' +
          ALL_USERS +
          '</URI></Grantee><Permission>EVERYTHING</Permission></Grant></AccessControlList></AccessControlPolicy>',
      ),
      400,
      'MalformedACLError',
    );
    const grant = `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${ALL_USERS}</URI></Grantee><Permission>READ</Permission></Grant>`;
    const many = `<AccessControlPolicy><AccessControlList>${grant.repeat(101)}</AccessControlList></AccessControlPolicy>`;
    assertS3Error(await doc(many), 400, 'MalformedACLError');
    assertS3Error(await doc('<!DOCTYPE x [<!ENTITY a "b">]><AccessControlPolicy/>'), 400, 'MalformedACLError');
    assertS3Error(await doc('<AccessControlPolicy><AccessControlList>'), 400, 'MalformedACLError');
    // Nothing was changed by the refused requests.
    const acl = await owner.send(new GetObjectAclCommand({ Bucket: WRITER, Key: 'shared' }));
    assert.equal(acl.Grants?.length, 2);
  });
});
