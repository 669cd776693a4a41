/**
 * End-to-end: Object Ownership controls (Get/Put/DeleteBucketOwnershipControls, `x-amz-object-ownership` on
 * CreateBucket), Block Public Access (Get/Put/DeletePublicAccessBlock: BlockPublicAcls refuses public ACLs,
 * IgnorePublicAcls voids them), GetBucketPolicyStatus, and the `coffer serve` defaults for new buckets.
 */
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteBucketOwnershipControlsCommand,
  DeletePublicAccessBlockCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyStatusCommand,
  GetPublicAccessBlockCommand,
  HeadObjectCommand,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { rejectsS3 } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { assertS3Error, httpSend, objectPath, signedSend } from './helpers/http.ts';
import { makeTempDir, runCli, startServer } from './helpers/server.ts';
import { serverForSuite } from './helpers/suite.ts';

const ALL_ON = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };

describe('Object Ownership controls', () => {
  const t = serverForSuite(['own-default']);
  const ownership = async (Bucket: string) =>
    (await t.sdk.send(new GetBucketOwnershipControlsCommand({ Bucket }))).OwnershipControls?.Rules?.[0]
      ?.ObjectOwnership;

  it('should start buckets with BucketOwnerEnforced, or what x-amz-object-ownership asks for', async () => {
    assert.equal(await ownership('own-default'), 'BucketOwnerEnforced');
    await t.sdk.send(new CreateBucketCommand({ Bucket: 'own-writer', ObjectOwnership: 'ObjectWriter' }));
    assert.equal(await ownership('own-writer'), 'ObjectWriter');
    const bad = await signedSend(t.server, {
      method: 'PUT',
      path: '/own-bad',
      headers: { 'x-amz-object-ownership': 'Whoever' },
    });
    assert.equal(assertS3Error(bad, 400, 'InvalidArgument')['ArgumentName'], 'x-amz-object-ownership');
    await rejectsS3(t.sdk.send(new GetBucketOwnershipControlsCommand({ Bucket: 'own-bad' })), 404, 'NoSuchBucket');
  });

  it('should change and delete the controls, and refuse a malformed document', async () => {
    const Bucket = 'own-default';
    const set = (ObjectOwnership: 'BucketOwnerPreferred' | 'BucketOwnerEnforced' | 'ObjectWriter') =>
      t.sdk.send(
        new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership }] } }),
      );
    await set('BucketOwnerPreferred');
    assert.equal(await ownership(Bucket), 'BucketOwnerPreferred');
    const malformed = await signedSend(t.server, {
      method: 'PUT',
      path: `/${Bucket}`,
      query: { ownershipControls: '' },
      body: Buffer.from(
        '<OwnershipControls><Rule><ObjectOwnership>Anyone</ObjectOwnership></Rule></OwnershipControls>',
      ),
    });
    assertS3Error(malformed, 400, 'MalformedXML');
    assert.equal(await ownership(Bucket), 'BucketOwnerPreferred');

    await t.sdk.send(new DeleteBucketOwnershipControlsCommand({ Bucket }));
    const gone = await rejectsS3(
      t.sdk.send(new GetBucketOwnershipControlsCommand({ Bucket })),
      404,
      'OwnershipControlsNotFoundError',
    );
    assert.equal(gone.message, 'The bucket ownership controls were not found');
    // Without controls, ACLs count (as ObjectWriter): a public bucket ACL is refused only by Block Public Access.
    await rejectsS3(t.sdk.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read' })), 403, 'AccessDenied');
    await t.sdk.send(new DeletePublicAccessBlockCommand({ Bucket }));
    await t.sdk.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read' }));
    // ACLs cannot be disabled while the bucket ACL grants anyone but the owner.
    const e = await rejectsS3(set('BucketOwnerEnforced'), 400, 'InvalidBucketAclWithObjectOwnership');
    assert.equal(e.message, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
    await t.sdk.send(new PutBucketAclCommand({ Bucket, ACL: 'private' }));
    await set('BucketOwnerEnforced');
    assert.equal(await ownership(Bucket), 'BucketOwnerEnforced');
  });
});

describe('Block Public Access', () => {
  const t = serverForSuite(['pab-acl']);
  const pab = async (Bucket: string) =>
    (await t.sdk.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration;
  const isPublic = async (Bucket: string) =>
    (await t.sdk.send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic;
  const anonymousGet = (key: string) =>
    httpSend({ method: 'GET', url: t.server.url, path: objectPath('pab-acl', key) });

  it('should refuse public ACLs with AccessDenied under BlockPublicAcls, and store nothing', async () => {
    const Bucket = 'pab-acl';
    await t.sdk.send(
      new PutBucketOwnershipControlsCommand({
        Bucket,
        OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] },
      }),
    );
    assert.deepEqual(await pab(Bucket), ALL_ON);
    await rejectsS3(
      t.sdk.send(new PutObjectCommand({ Bucket, Key: 'pub', Body: 'x', ACL: 'public-read' })),
      403,
      'AccessDenied',
    );
    await rejectsS3(t.sdk.send(new HeadObjectCommand({ Bucket, Key: 'pub' })), 404);
    await rejectsS3(t.sdk.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read-write' })), 403, 'AccessDenied');
    // A grant to a user is not public: taken.
    await t.sdk.send(new PutObjectCommand({ Bucket, Key: 'pub', Body: 'public bytes', ACL: 'bucket-owner-read' }));
    const e = await rejectsS3(
      t.sdk.send(new CreateBucketCommand({ Bucket: 'pab-new', ObjectOwnership: 'ObjectWriter', ACL: 'public-read' })),
      400,
      'InvalidBucketAclWithBlockPublicAccessError',
    );
    assert.equal(e.message, 'Bucket cannot have public ACLs set with BlockPublicAccess enabled');
  });

  it('should void public ACLs under IgnorePublicAcls, and count them again once it is off', async () => {
    const Bucket = 'pab-acl';
    const config = {
      BlockPublicAcls: false,
      IgnorePublicAcls: true,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    };
    await t.sdk.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: config }));
    assert.deepEqual(await pab(Bucket), config);
    await t.sdk.send(new PutObjectAclCommand({ Bucket, Key: 'pub', ACL: 'public-read' }));
    await t.sdk.send(new PutBucketAclCommand({ Bucket, ACL: 'public-read' }));
    assertS3Error(await anonymousGet('pub'), 403, 'AccessDenied');
    assert.equal(await isPublic(Bucket), false);

    await t.sdk.send(new DeletePublicAccessBlockCommand({ Bucket }));
    const none = await rejectsS3(t.sdk.send(new GetPublicAccessBlockCommand({ Bucket })), 404);
    assert.equal(none.name, 'NoSuchPublicAccessBlockConfiguration');
    const r = await anonymousGet('pub');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'public bytes');
    assert.equal(await isPublic(Bucket), true);
    await t.sdk.send(new PutBucketAclCommand({ Bucket, ACL: 'private' }));
    assert.equal(await isPublic(Bucket), false);
  });

  it('should take a configuration with settings left out as false, and refuse one that is not true or false', async () => {
    const put = (xml: string) =>
      signedSend(t.server, {
        method: 'PUT',
        path: '/pab-acl',
        query: { publicAccessBlock: '' },
        body: Buffer.from(`<PublicAccessBlockConfiguration>${xml}</PublicAccessBlockConfiguration>`),
      });
    assert.equal((await put('<BlockPublicAcls>true</BlockPublicAcls>')).status, 200);
    assert.deepEqual(await pab('pab-acl'), {
      BlockPublicAcls: true,
      IgnorePublicAcls: false,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    });
    assertS3Error(await put('<BlockPublicAcls>yes</BlockPublicAcls>'), 400, 'MalformedXML');
    assertS3Error(await put('<BlockEverything>true</BlockEverything>'), 400, 'MalformedXML');
  });
});

describe('coffer serve --default-object-ownership --default-public-access-block', () => {
  it('should give buckets created afterwards the older, permissive defaults', async () => {
    const server = await startServer({
      args: ['--default-object-ownership', 'ObjectWriter', '--default-public-access-block', 'off'],
    });
    const sdk = sdkClient(server, server);
    try {
      await sdk.send(new CreateBucketCommand({ Bucket: 'permissive', ACL: 'public-read' }));
      const rules = (await sdk.send(new GetBucketOwnershipControlsCommand({ Bucket: 'permissive' }))).OwnershipControls;
      assert.deepEqual(rules?.Rules, [{ ObjectOwnership: 'ObjectWriter' }]);
      await rejectsS3(
        sdk.send(new GetPublicAccessBlockCommand({ Bucket: 'permissive' })),
        404,
        'NoSuchPublicAccessBlockConfiguration',
      );
      await sdk.send(new PutObjectCommand({ Bucket: 'permissive', Key: 'k', Body: 'open', ACL: 'public-read' }));
      const r = await httpSend({ method: 'GET', url: server.url, path: '/permissive/k' });
      assert.equal(r.text, 'open');
      const list = await httpSend({ method: 'GET', url: server.url, path: '/permissive' });
      assert.equal(list.status, 200, list.text);
    } finally {
      sdk.destroy();
      await server.stop({ removeDir: true });
    }
  });

  it('should refuse a value it does not know', async () => {
    const dataDir = await makeTempDir();
    try {
      const r = await runCli(['serve', '--data', dataDir, '--default-object-ownership', 'Anyone']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Allowed choices are BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
