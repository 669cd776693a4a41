/**
 * The decision point with its policy slot filled (policies.ts), as a table: every operation of the operations table,
 * asked by the bucket's owner, another user and an anonymous caller, under a bucket policy that lets the other user
 * do anything, one that denies everyone everything, and a `readonly` user policy on the caller. The request context
 * comes from a minimal Koa context (the policy conditions these rows use read nothing from it).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Context } from 'koa';
import type { BucketRecord } from '@coffer/blob-store';
import { BUILTIN_POLICIES } from '@coffer/policy';
import { ANONYMOUS, type Principal, authorize } from '../src/authz.ts';
import type { Services } from '../src/context.ts';
import { OPERATIONS, type Operation, actionOf } from '../src/operations.ts';
import { requestPolicy } from '../src/policies.ts';
import { arnOf, type User } from '../src/users.ts';

const OWNER_ID = 'a'.repeat(64);
const OTHER_ID = 'b'.repeat(64);
const user = (id: string, name: string, readonly = false): User => ({
  id,
  name,
  accessKey: `AK${name}`,
  root: false,
  ...(readonly ? { policySource: 'readonly', policy: BUILTIN_POLICIES.readonly } : {}),
});
const OWNER: Principal = { type: 'user', user: user(OWNER_ID, 'owner') };
const OTHER: Principal = { type: 'user', user: user(OTHER_ID, 'other') };
const WHO = { owner: OWNER, other: OTHER, anonymous: ANONYMOUS } as const;

const statement = (effect: string, principal: unknown) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: {
      Effect: effect,
      Principal: principal,
      Action: 's3:*',
      Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
    },
  });
const OTHER_MAY_ALL = statement('Allow', { AWS: arnOf({ id: OTHER_ID, name: 'other' }) });
const DENY_ALL = statement('Deny', '*');

/** The table's rows: operations on a bucket (ListBuckets and CreateBucket name none, a preflight asks nothing). */
const ROWS = (Object.keys(OPERATIONS) as Operation[]).filter(
  (op) => !['ListBuckets', 'CreateBucket', 'PreflightRequest'].includes(op),
);
/** The operations the `readonly` built-in allows (s3:GetObject, s3:GetBucketLocation), by hand. */
const READONLY_OPS = new Set<Operation>(['GetObject', 'HeadObject', 'GetBucketLocation']);
/** The bucket-policy operations the owner may always perform. */
const POLICY_OPS = new Set<Operation>(['GetBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy']);

function decide(op: Operation, who: Principal, policy?: string): boolean {
  const ep = { op, bucket: 'b', key: 'k', query: new Map(op === 'GetBucketDefault' ? [['website', '']] : []) };
  const ctx = {
    state: { endpoint: ep },
    req: { headers: {}, socket: { remoteAddress: '127.0.0.1' } },
  } as unknown as Context;
  const services = { security: { trustProxy: false } } as Services;
  const bucket: BucketRecord = {
    v: 1,
    name: 'b',
    owner: OWNER_ID,
    created: '2026-01-01T00:00:00.000Z',
    location: 'us-east-1',
    ...(policy ? { policy } : {}),
  };
  const object = { key: 'k', owner: OWNER_ID };
  return authorize({
    principal: who,
    action: actionOf(ep as never),
    bucket,
    object,
    policy: requestPolicy(ctx, services),
  }).allow;
}

describe('authorize with bucket and user policies', () => {
  it('should let the other user do everything a bucket policy allows it, and no one else more', () => {
    for (const op of ROWS) {
      assert.equal(decide(op, OWNER, OTHER_MAY_ALL), true, `${op} by owner`);
      assert.equal(decide(op, OTHER, OTHER_MAY_ALL), true, `${op} by other`);
      assert.equal(decide(op, ANONYMOUS, OTHER_MAY_ALL), false, `${op} by anonymous`);
    }
  });

  it('should deny everyone everything under a Deny-all policy but the owner its bucket policy', () => {
    for (const op of ROWS) {
      for (const [name, who] of Object.entries(WHO)) {
        const expected = name === 'owner' && POLICY_OPS.has(op);
        assert.equal(decide(op, who, DENY_ALL), expected, `${op} by ${name}`);
      }
    }
  });

  it("should bound a readonly owner on its own bucket, and need the bucket's allow for another user", () => {
    const ownerReadonly: Principal = { type: 'user', user: user(OWNER_ID, 'owner', true) };
    const otherReadonly: Principal = { type: 'user', user: user(OTHER_ID, 'other', true) };
    for (const op of ROWS) {
      assert.equal(decide(op, ownerReadonly), READONLY_OPS.has(op), `${op} by a readonly owner`);
      assert.equal(decide(op, otherReadonly), false, `${op} by a readonly other user, no bucket policy`);
      assert.equal(decide(op, otherReadonly, OTHER_MAY_ALL), READONLY_OPS.has(op), `${op} by a readonly other user`);
    }
  });
});
