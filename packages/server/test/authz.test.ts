/**
 * The decision point as a table: every operation of the operations table, asked by the bucket's owner, another
 * user and an anonymous caller, against buckets and objects with no ACL, with each kind of grant, with ACLs
 * disabled and with Block Public Access ignoring public grants; and the policy slot's explicit deny and allow.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AclGrant, AclPermission, BucketRecord, ObjectOwnership } from '@coffer/blob-store';
import {
  ALL_USERS,
  ANONYMOUS,
  AUTHENTICATED_USERS,
  type AuthzObject,
  type Principal,
  authorize,
} from '../src/authz.ts';
import { OPERATIONS, type Operation, actionOf } from '../src/operations.ts';
import type { User } from '../src/users.ts';

const user = (id: string): User => ({ id, name: id, accessKey: `AK${id}`, root: false });
const OWNER: Principal = { type: 'user', user: user('owner') };
const OTHER: Principal = { type: 'user', user: user('other') };

/**
 * What each operation needs when the caller is not the owner, as AWS's ACL documentation maps permissions to
 * operations: the ACL permission and whether the object's ACL (else the bucket's) holds it; `null` = no ACL
 * grants it (only the owner, or a policy). Written out by hand, not derived from the code under test.
 */
const NEEDS: Record<Exclude<Operation, 'ListBuckets' | 'CreateBucket' | 'PreflightRequest'>, Need> = {
  HeadBucket: ['bucket', 'READ'],
  DeleteBucket: null,
  GetBucketLocation: null,
  GetBucketVersioning: null,
  PutBucketVersioning: null,
  GetBucketEncryption: null,
  PutBucketEncryption: null,
  DeleteBucketEncryption: null,
  GetBucketCors: null,
  PutBucketCors: null,
  DeleteBucketCors: null,
  GetBucketAcl: ['bucket', 'READ_ACP'],
  PutBucketAcl: ['bucket', 'WRITE_ACP'],
  GetObjectAcl: ['object', 'READ_ACP'],
  PutObjectAcl: ['object', 'WRITE_ACP'],
  GetBucketOwnershipControls: null,
  PutBucketOwnershipControls: null,
  DeleteBucketOwnershipControls: null,
  GetPublicAccessBlock: null,
  PutPublicAccessBlock: null,
  DeletePublicAccessBlock: null,
  GetBucketPolicyStatus: null,
  GetBucketPolicy: null,
  PutBucketPolicy: null,
  DeleteBucketPolicy: null,
  GetBucketDefault: null,
  GetObjectAttributes: ['object', 'READ'],
  GetBucketLifecycleConfiguration: null,
  PutBucketLifecycleConfiguration: null,
  DeleteBucketLifecycle: null,
  GetBucketTagging: null,
  PutBucketTagging: null,
  DeleteBucketTagging: null,
  GetObjectTagging: null,
  PutObjectTagging: null,
  DeleteObjectTagging: null,
  GetObjectLockConfiguration: null,
  PutObjectLockConfiguration: null,
  GetObjectRetention: null,
  PutObjectRetention: null,
  GetObjectLegalHold: null,
  PutObjectLegalHold: null,
  ListObjects: ['bucket', 'READ'],
  ListObjectsV2: ['bucket', 'READ'],
  ListObjectVersions: ['bucket', 'READ'],
  DeleteObjects: ['bucket', 'WRITE'],
  PutObject: ['bucket', 'WRITE'],
  PostObject: ['bucket', 'WRITE'],
  CopyObject: ['bucket', 'WRITE'],
  GetObject: ['object', 'READ'],
  HeadObject: ['object', 'READ'],
  DeleteObject: ['bucket', 'WRITE'],
  CreateMultipartUpload: ['bucket', 'WRITE'],
  UploadPart: ['bucket', 'WRITE'],
  UploadPartCopy: ['bucket', 'WRITE'],
  CompleteMultipartUpload: ['bucket', 'WRITE'],
  AbortMultipartUpload: ['bucket', 'WRITE'],
  ListParts: ['bucket', 'WRITE'],
  ListMultipartUploads: ['bucket', 'READ'],
};
type Need = ['bucket' | 'object', AclPermission] | null;

/** The object-level operations: their decision needs the object (its owner and ACL). */
const ON_OBJECT = new Set<string>([
  'GetObject',
  'HeadObject',
  'GetObjectAcl',
  'PutObjectAcl',
  'GetObjectAttributes',
  'GetObjectTagging',
  'PutObjectTagging',
  'DeleteObjectTagging',
  'GetObjectRetention',
  'PutObjectRetention',
  'GetObjectLegalHold',
  'PutObjectLegalHold',
]);

const toUser = (id: string, permission: AclPermission): AclGrant => ({
  grantee: { type: 'CanonicalUser', id },
  permission,
});
const toGroup = (uri: string, permission: AclPermission): AclGrant => ({ grantee: { type: 'Group', uri }, permission });

function bucket(ownership: ObjectOwnership, acl?: AclGrant[], ignorePublicAcls = false): BucketRecord {
  return {
    v: 1,
    name: 'b',
    owner: 'owner',
    created: '2026-01-01T00:00:00.000Z',
    location: 'us-east-1',
    ownership,
    ...(acl ? { acl } : {}),
    publicAccessBlock: {
      blockPublicAcls: false,
      ignorePublicAcls,
      blockPublicPolicy: false,
      restrictPublicBuckets: false,
    },
  };
}

function decide(op: Operation, who: Principal, b: BucketRecord, object?: AuthzObject): boolean {
  const ep = { op, query: new Map(op === 'GetBucketDefault' ? [['website', '']] : []) } as never;
  return authorize({ principal: who, action: actionOf(ep), bucket: b, object }).allow;
}

/** One ACL set-up: the grants, where they are, and which principals they let in for which permission. */
interface Setup {
  name: string;
  on: 'bucket' | 'object';
  grants: AclGrant[];
  /** Permissions the setup gives each non-owner principal. */
  gives: { other: AclPermission[]; anonymous: AclPermission[] };
}

const ALL: AclPermission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'];
const SETUPS: Setup[] = [
  { name: 'no ACL', on: 'bucket', grants: [], gives: { other: [], anonymous: [] } },
  ...(['bucket', 'object'] as const).flatMap((on): Setup[] => [
    {
      name: `the other user FULL_CONTROL on the ${on}`,
      on,
      grants: [toUser('other', 'FULL_CONTROL')],
      gives: { other: ALL, anonymous: [] },
    },
    ...(['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP'] as const).map(
      (p): Setup => ({
        name: `AllUsers ${p} on the ${on}`,
        on,
        grants: [toGroup(ALL_USERS, p)],
        gives: { other: [p], anonymous: [p] },
      }),
    ),
    {
      name: `AuthenticatedUsers READ on the ${on}`,
      on,
      grants: [toGroup(AUTHENTICATED_USERS, 'READ')],
      gives: { other: ['READ'], anonymous: [] },
    },
  ]),
];

describe('authorize', () => {
  for (const setup of SETUPS) {
    it(`should decide every operation for owner, other user and anonymous with ${setup.name}`, () => {
      const b = bucket('ObjectWriter', setup.on === 'bucket' ? setup.grants : undefined);
      const object: AuthzObject = { key: 'k', owner: 'owner', acl: setup.on === 'object' ? setup.grants : undefined };
      for (const [op, need] of Object.entries(NEEDS) as [Operation, Need][]) {
        const obj = ON_OBJECT.has(op) ? object : undefined;
        assert.equal(decide(op, OWNER, b, obj), true, `${op} by the owner`);
        const others: ['other' | 'anonymous', Principal][] = [
          ['other', OTHER],
          ['anonymous', ANONYMOUS],
        ];
        for (const [who, principal] of others) {
          const expected: boolean = need !== null && need[0] === setup.on && setup.gives[who].includes(need[1]);
          assert.equal(decide(op, principal, b, obj), expected, `${op} by ${who} with ${setup.name}`);
        }
      }
    });
  }

  it('should let only the owner in while ACLs are disabled (BucketOwnerEnforced), whatever the ACLs say', () => {
    const grants = [toGroup(ALL_USERS, 'FULL_CONTROL'), toUser('other', 'FULL_CONTROL')];
    const b = bucket('BucketOwnerEnforced', grants);
    // An object another user wrote before ACLs were disabled now belongs to the bucket's owner.
    const object: AuthzObject = { key: 'k', owner: 'other', acl: grants };
    for (const op of Object.keys(NEEDS) as Operation[]) {
      const obj = ON_OBJECT.has(op) ? object : undefined;
      assert.equal(decide(op, OWNER, b, obj), true, op);
      assert.equal(decide(op, OTHER, b, obj), false, op);
      assert.equal(decide(op, ANONYMOUS, b, obj), false, op);
    }
  });

  it("should give an object's writer its object, and its bucket's owner only what the object's ACL grants", () => {
    const b = bucket('ObjectWriter');
    const theirs: AuthzObject = { key: 'k', owner: 'other' };
    assert.equal(decide('GetObject', OTHER, b, theirs), true);
    assert.equal(decide('PutObjectAcl', OTHER, b, theirs), true);
    assert.equal(decide('GetObject', OWNER, b, theirs), false);
    assert.equal(decide('DeleteObject', OWNER, b), true); // deleting is the bucket's WRITE
    const readable = { ...theirs, acl: [toUser('other', 'FULL_CONTROL'), toUser('owner', 'READ')] };
    assert.equal(decide('GetObject', OWNER, b, readable), true);
    assert.equal(decide('GetObjectAcl', OWNER, b, readable), false);
  });

  it('should ignore public grants under IgnorePublicAcls, and keep grants to users', () => {
    const grants = [toGroup(ALL_USERS, 'READ'), toGroup(AUTHENTICATED_USERS, 'WRITE'), toUser('other', 'READ_ACP')];
    const b = bucket('ObjectWriter', grants, true);
    assert.equal(decide('ListObjectsV2', ANONYMOUS, b), false);
    assert.equal(decide('ListObjectsV2', OTHER, b), false);
    assert.equal(decide('PutObject', OTHER, b), false);
    assert.equal(decide('GetBucketAcl', OTHER, b), true);
  });

  it('should let an explicit deny of a policy beat the owner, and an allow let another user in', () => {
    const b = bucket('BucketOwnerEnforced');
    const deny = authorize({
      principal: OWNER,
      action: 's3:GetObject',
      bucket: b,
      object: { key: 'k', owner: 'owner' },
      policy: () => 'deny',
    });
    assert.deepEqual(deny, { allow: false, reason: 'explicitly denied by a policy' });
    const allow = authorize({ principal: OTHER, action: 's3:PutObject', bucket: b, policy: () => 'allow' });
    assert.deepEqual(allow, { allow: true, reason: 'allowed by a policy' });
    const anon = authorize({ principal: ANONYMOUS, action: 's3:ListBucket', bucket: b, policy: () => 'implicit-deny' });
    assert.equal(anon.allow, false);
  });

  it('should let users, not anonymous callers, list their buckets and create buckets', () => {
    for (const op of ['ListBuckets', 'CreateBucket'] as const) {
      const action = OPERATIONS[op].action;
      assert.equal(authorize({ principal: OTHER, action }).allow, true, op);
      assert.equal(authorize({ principal: ANONYMOUS, action }).allow, false, op);
    }
  });

  it('should let a CORS preflight through, which S3 does not authorize', () => {
    assert.equal(authorize({ principal: ANONYMOUS, action: OPERATIONS.PreflightRequest.action }).allow, true);
  });

  it('should refuse to decide an action on an object without the object', () => {
    assert.throws(
      () => authorize({ principal: OWNER, action: 's3:GetObject', bucket: bucket('ObjectWriter') }),
      TypeError,
    );
  });
});
