/**
 * ACLs as S3 has them with Object Ownership "bucket owner enforced": read by s3cmd, boto3 and the JS SDK as the
 * owner's FULL_CONTROL; the ACLs that change nothing accepted; any other refused, on the ACL calls and on writes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  HeadObjectCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { describeRun } from './helpers/clients.ts';
import { assertS3Error, objectPath, signedSend } from './helpers/http.ts';
import { rejectsS3 } from './helpers/assert.ts';

const BUCKET = 'acl-bucket';

describe('ACLs (bucket owner enforced)', () => {
  const t = serverForSuite([BUCKET]);

  it("should show the owner's FULL_CONTROL of buckets and objects to the JS SDK, boto3 and s3cmd", async () => {
    await t.sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'doc.txt', Body: 'text' }));
    const bucketAcl = await t.sdk.send(new GetBucketAclCommand({ Bucket: BUCKET }));
    const ownerId = bucketAcl.Owner?.ID;
    assert.ok(ownerId);
    assert.deepEqual(bucketAcl.Grants, [
      {
        Grantee: { ID: ownerId, DisplayName: bucketAcl.Owner?.DisplayName, Type: 'CanonicalUser' },
        Permission: 'FULL_CONTROL',
      },
    ]);
    const objectAcl = await t.sdk.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: 'doc.txt' }));
    assert.deepEqual(objectAcl.Grants, bucketAcl.Grants);
    await rejectsS3(t.sdk.send(new GetObjectAclCommand({ Bucket: BUCKET, Key: 'missing' })), 404, 'NoSuchKey');

    const boto = await t.clients.boto3(`
g = s3.get_object_acl(Bucket='${BUCKET}', Key='doc.txt')['Grants']
print(len(g), g[0]['Grantee']['Type'], g[0]['Permission'])
`);
    assert.equal(boto.code, 0, describeRun(boto));
    assert.equal(boto.stdout.trim(), '1 CanonicalUser FULL_CONTROL');

    for (const target of [`s3://${BUCKET}`, `s3://${BUCKET}/doc.txt`]) {
      const info = await t.clients.s3cmd(['info', target]);
      assert.equal(info.code, 0, describeRun(info));
      assert.match(info.stdout, /ACL:\s+\S+: FULL_CONTROL/);
    }
  });

  it('should take the ACLs that change nothing and refuse the others with 400 AccessControlListNotSupported', async () => {
    await t.sdk.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: 'doc.txt', ACL: 'private' }));
    await t.sdk.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: 'doc.txt', ACL: 'bucket-owner-full-control' }));
    await t.sdk.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'private' }));
    const { Owner } = await t.sdk.send(new GetBucketAclCommand({ Bucket: BUCKET }));
    const ownerOnly = {
      Owner,
      Grants: [{ Grantee: { ID: Owner!.ID, Type: 'CanonicalUser' as const }, Permission: 'FULL_CONTROL' as const }],
    };
    await t.sdk.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: 'doc.txt', AccessControlPolicy: ownerOnly }));

    const refused = async (p: Promise<unknown>) => {
      const e = await rejectsS3(p, 400, 'AccessControlListNotSupported');
      assert.equal(e.message, 'The bucket does not allow ACLs');
    };
    await refused(t.sdk.send(new PutObjectAclCommand({ Bucket: BUCKET, Key: 'doc.txt', ACL: 'public-read' })));
    await refused(t.sdk.send(new PutBucketAclCommand({ Bucket: BUCKET, ACL: 'public-read-write' })));
    await refused(
      t.sdk.send(
        new PutObjectAclCommand({
          Bucket: BUCKET,
          Key: 'doc.txt',
          GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
        }),
      ),
    );
    await refused(
      t.sdk.send(
        new PutObjectAclCommand({
          Bucket: BUCKET,
          Key: 'doc.txt',
          AccessControlPolicy: {
            Owner,
            Grants: [
              ...ownerOnly.Grants,
              {
                Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' },
                Permission: 'READ',
              },
            ],
          },
        }),
      ),
    );
    const setacl = await t.clients.s3cmd(['setacl', '--acl-public', `s3://${BUCKET}/doc.txt`]);
    assert.notEqual(setacl.code, 0);
    assert.match(setacl.stderr + setacl.stdout, /AccessControlListNotSupported/);
  });

  it('should refuse writes that ask for an ACL granting anything, and store nothing', async () => {
    await rejectsS3(
      t.sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'public.txt', Body: 'x', ACL: 'public-read' })),
      400,
      'AccessControlListNotSupported',
    );
    await rejectsS3(t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'public.txt' })), 404);
    await t.sdk.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'owned.txt', Body: 'x', ACL: 'bucket-owner-full-control' }),
    );
    const e = await rejectsS3(
      t.sdk.send(new CreateBucketCommand({ Bucket: 'acl-public-bucket', ACL: 'public-read' })),
      400,
      'InvalidBucketAclWithObjectOwnership',
    );
    assert.equal(e.message, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
    await t.sdk.send(new CreateBucketCommand({ Bucket: 'acl-private-bucket', ACL: 'private' }));
  });

  it('should answer other methods on ?acl with 405 and leave the object alone', async () => {
    const del = await signedSend(t.server, {
      method: 'DELETE',
      path: objectPath(BUCKET, 'doc.txt'),
      query: { acl: '' },
    });
    assertS3Error(del, 405, 'MethodNotAllowed');
    assert.equal((await t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'doc.txt' }))).ContentLength, 4);
  });
});
