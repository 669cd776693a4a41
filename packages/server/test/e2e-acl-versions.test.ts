/**
 * Where access control meets versions and Object Lock, against the real server: the decision point decides on the
 * version a request names (its own ACL, not the latest's), a missing version or a delete marker is told only to a
 * caller who may list the bucket, PutObjectAcl on a version changes it in place, and only a caller allowed
 * s3:BypassGovernanceRetention (the owner; no ACL grants it) bypasses GOVERNANCE retention. ACLs are enabled
 * (`--default-object-ownership ObjectWriter --default-public-access-block off`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  PutBucketAclCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { sdkClient } from './helpers/clients.ts';
import { assertS3Error, httpSend, signedSend } from './helpers/http.ts';
import { md5b64 } from './helpers/assert.ts';
import { addUser, makeTempDir, randomCredentials, startServer, type RunningServer } from './helpers/server.ts';

const VERSIONED = 'acl-versioned';
const LOCKED = 'acl-locked';
const ALL_USERS = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"';

describe('access control on versions and locked objects', () => {
  let server: RunningServer;
  let owner: S3Client;
  const other = { ...randomCredentials(), name: 'other' };
  let otherId = '';
  let publicV1 = '';
  let privateV2 = '';

  before(async () => {
    const dataDir = await makeTempDir();
    await addUser(dataDir, other);
    server = await startServer({
      dataDir,
      args: ['--default-object-ownership', 'ObjectWriter', '--default-public-access-block', 'off'],
    });
    owner = sdkClient(server, server);
    const otherSdk = sdkClient(server, other);
    otherId = (await otherSdk.send(new ListBucketsCommand({}))).Owner!.ID!;
    otherSdk.destroy();
    await owner.send(new CreateBucketCommand({ Bucket: VERSIONED }));
    await owner.send(
      new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const v1 = await owner.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'k', Body: 'one', ACL: 'public-read' }));
    const v2 = await owner.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'k', Body: 'two' }));
    publicV1 = v1.VersionId!;
    privateV2 = v2.VersionId!;
  });

  after(async () => {
    owner?.destroy();
    await server?.stop({ removeDir: true });
  });

  const anonymous = (path: string, query: Record<string, string> = {}) =>
    httpSend({ method: 'GET', url: server.url, path, query });

  it('should decide on the named version: its own public-read ACL, not the private latest one', async () => {
    assertS3Error(await anonymous(`/${VERSIONED}/k`), 403, 'AccessDenied');
    const r = await anonymous(`/${VERSIONED}/k`, { versionId: publicV1 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'one');
    assert.equal(r.headers['x-amz-version-id'], publicV1);
    assertS3Error(await anonymous(`/${VERSIONED}/k`, { versionId: privateV2 }), 403, 'AccessDenied');
  });

  it('should tell a missing version or a delete marker only to a caller who may list the bucket', async () => {
    // A well-formed id of another key's version: no such version of `k`.
    const elsewhere = (await owner.send(new PutObjectCommand({ Bucket: VERSIONED, Key: 'other', Body: 'x' })))
      .VersionId!;
    assertS3Error(await anonymous(`/${VERSIONED}/k`, { versionId: elsewhere }), 403, 'AccessDenied');
    assertS3Error(
      await signedSend(server, { method: 'GET', path: `/${VERSIONED}/k`, query: { versionId: elsewhere } }),
      404,
      'NoSuchVersion',
    );
    const marker = (await owner.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: 'other' }))).VersionId!;
    const denied = await anonymous(`/${VERSIONED}/other`, { versionId: marker });
    assertS3Error(denied, 403, 'AccessDenied');
    assert.equal(denied.headers['x-amz-delete-marker'], undefined);
    const told = await signedSend(server, { method: 'GET', path: `/${VERSIONED}/other`, query: { versionId: marker } });
    assertS3Error(told, 405, 'MethodNotAllowed');
    assert.equal(told.headers['x-amz-delete-marker'], 'true');
    assert.equal(told.headers['x-amz-version-id'], marker);
  });

  it('should change the ACL of the named version in place, making no new version', async () => {
    await owner.send(new PutObjectAclCommand({ Bucket: VERSIONED, Key: 'k', VersionId: publicV1, ACL: 'private' }));
    assertS3Error(await anonymous(`/${VERSIONED}/k`, { versionId: publicV1 }), 403, 'AccessDenied');
    const listed = await owner.send(new ListObjectVersionsCommand({ Bucket: VERSIONED, Prefix: 'k' }));
    assert.deepEqual(
      listed.Versions?.map((v) => [v.VersionId, v.IsLatest]),
      [
        [privateV2, true],
        [publicV1, false],
      ],
    );
    const latest = await signedSend(server, { method: 'GET', path: `/${VERSIONED}/k` });
    assert.equal(latest.text, 'two');
  });

  it('should let only the owner bypass GOVERNANCE retention, not a writer the bucket ACL lets delete', async () => {
    await owner.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
    await owner.send(
      new PutBucketAclCommand({ Bucket: LOCKED, GrantFullControl: `id="${otherId}"`, GrantRead: ALL_USERS }),
    );
    const body = Buffer.from('kept');
    const { VersionId } = await owner.send(
      new PutObjectCommand({
        Bucket: LOCKED,
        Key: 'g',
        Body: body,
        ContentMD5: md5b64(body),
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
      }),
    );
    const deleteVersion = (who: { accessKey: string; secretKey: string }) =>
      signedSend(
        { url: server.url, ...who },
        {
          method: 'DELETE',
          path: `/${LOCKED}/g`,
          query: { versionId: VersionId! },
          headers: { 'x-amz-bypass-governance-retention': 'true' },
        },
      );
    // The other user may delete in the bucket (a delete without a version id adds a marker)...
    const marked = await signedSend({ url: server.url, ...other }, { method: 'DELETE', path: `/${LOCKED}/g` });
    assert.equal(marked.status, 204, marked.text);
    assert.equal(marked.headers['x-amz-delete-marker'], 'true');
    // ...but not bypass the retention of the version it names.
    assertS3Error(await deleteVersion(other), 403, 'AccessDenied');
    const r = await deleteVersion(server);
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers['x-amz-version-id'], VersionId);
  });
});
