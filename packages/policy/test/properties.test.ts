import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import {
  type ContextValue,
  evaluate,
  isPolicyError,
  type Policy,
  parsePolicy,
  type RequestContext,
  type RequestPrincipal,
} from '../src/index.ts';
import { BUCKET, user } from './fixtures.ts';

const ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  's3:DeleteObject',
  's3:ListBucket',
  's3:*',
  's3:Get*',
  '*',
  's3:?etObject',
];
const RESOURCES = [
  `arn:aws:s3:::${BUCKET}`,
  `arn:aws:s3:::${BUCKET}/*`,
  `arn:aws:s3:::${BUCKET}/public/*`,
  `arn:aws:s3:::${BUCKET}/home/\${aws:username}/*`,
  `arn:aws:s3:::${BUCKET}/??/*`,
];
const PRINCIPALS: unknown[] = ['*', { AWS: '*' }, { AWS: user('alice').arn }, { AWS: '111122223333' }];
const CONDITIONS: Array<[string, string, unknown]> = [
  ['Bool', 'aws:SecureTransport', 'false'],
  ['StringNotEquals', 's3:x-amz-server-side-encryption', 'AES256'],
  ['Null', 's3:x-amz-server-side-encryption', 'true'],
  ['IpAddress', 'aws:SourceIp', '192.0.2.0/24'],
  ['NotIpAddress', 'aws:SourceIp', ['10.0.0.0/8', '2001:db8::/32']],
  ['StringLike', 'aws:username', 'a*'],
  ['DateGreaterThan', 'aws:CurrentTime', '2026-01-01T00:00:00Z'],
  ['NumericLessThanIfExists', 's3:max-keys', '100'],
  ['ForAllValues:StringEquals', 's3:RequestObjectTagKeys', ['project', 'owner']],
  ['ForAnyValue:StringLike', 's3:RequestObjectTagKeys', 'p*'],
  ['StringEquals', 's3:ExistingObjectTag/public', 'yes'],
];
const KEYS = [
  'aws:SecureTransport',
  'aws:SourceIp',
  's3:x-amz-server-side-encryption',
  's3:max-keys',
  's3:RequestObjectTagKeys',
  's3:ExistingObjectTag/public',
  'aws:username',
];

const conditionArb = fc
  .subarray(CONDITIONS, { maxLength: 3 })
  .map((picked) => Object.fromEntries(picked.map(([type, key, value]) => [type, { [key]: value }])));

/** A statement of a bucket policy from the pools above; some are invalid and are skipped. */
const statementArb = (effect: fc.Arbitrary<'Allow' | 'Deny'>) =>
  fc.record({
    Effect: effect,
    Principal: fc.constantFrom(...PRINCIPALS),
    Action: fc.subarray(ACTIONS, { minLength: 1, maxLength: 3 }),
    Resource: fc.subarray(RESOURCES, { minLength: 1, maxLength: 3 }),
    Condition: conditionArb,
  });

function tryParse(statements: unknown[]): Policy | undefined {
  try {
    return parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: statements }), 'bucket', { bucket: BUCKET });
  } catch (err) {
    if (isPolicyError(err)) return undefined;
    throw err;
  }
}

const valueArb: fc.Arbitrary<ContextValue> = fc.oneof(
  fc.string(),
  fc.constantFrom('true', 'false', 'AES256', '192.0.2.7', '10.1.2.3', '::ffff:192.0.2.1', 'project', '50', 'yes'),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.oneof(fc.string(), fc.constantFrom('project', 'owner', 'size')), { maxLength: 4 }),
);

const principalArb: fc.Arbitrary<RequestPrincipal> = fc.oneof(
  fc.constant<RequestPrincipal>({ type: 'anonymous' }),
  fc.constantFrom('alice', 'bob', '*', '${aws:username}').map(user),
  fc.record({
    type: fc.constant<'user'>('user'),
    arn: fc.string(),
    account: fc.string(),
    canonicalId: fc.string(),
    userName: fc.string(),
    userId: fc.string(),
  }),
);

const requestArb: fc.Arbitrary<RequestContext> = fc.record({
  principal: principalArb,
  action: fc.oneof(fc.constantFrom('s3:GetObject', 's3:PutObject', 's3:ListBucket', 's3:DeleteObject'), fc.string()),
  resource: fc.oneof(
    fc.constantFrom(`arn:aws:s3:::${BUCKET}`, '*'),
    fc.string().map((key) => `arn:aws:s3:::${BUCKET}/${key}`),
    fc.constantFrom('public/a', 'home/alice/x', 'ab/c').map((key) => `arn:aws:s3:::${BUCKET}/${key}`),
  ),
  time: fc.date({ noInvalidDate: true }),
  keys: fc.dictionary(fc.constantFrom(...KEYS), valueArb),
});

describe('properties', () => {
  it('should never throw from evaluate, and give a decision that agrees with its parts', () => {
    fc.assert(
      fc.property(
        fc.array(statementArb(fc.constantFrom('Allow', 'Deny')), { minLength: 1, maxLength: 4 }),
        requestArb,
        (statements, request) => {
          const policy = tryParse(statements);
          if (policy === undefined) return;
          const result = evaluate(request, { bucketPolicy: policy, userPolicies: [] });
          assert.ok(['allow', 'deny', 'implicit-deny'].includes(result.decision));
          assert.equal(result.decision, result.bucketPolicy);
          assert.equal(result.reason === undefined, result.decision === 'implicit-deny');
          if (result.reason !== undefined) {
            assert.equal(result.reason.effect, result.decision === 'deny' ? 'Deny' : 'Allow');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('should never turn a request into an allow by adding a Deny statement', () => {
    fc.assert(
      fc.property(
        fc.array(statementArb(fc.constantFrom('Allow', 'Deny')), { minLength: 1, maxLength: 3 }),
        statementArb(fc.constant('Deny')),
        requestArb,
        (statements, deny, request) => {
          const before = tryParse(statements);
          const after = tryParse([...statements, deny]);
          if (before === undefined || after === undefined) return;
          const was = evaluate(request, { bucketPolicy: before }).decision;
          const is = evaluate(request, { bucketPolicy: after }).decision;
          if (was !== 'allow') assert.notEqual(is, 'allow');
          if (was === 'deny') assert.equal(is, 'deny');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('should throw only PolicyError from parsePolicy, whatever the text', () => {
    const text = fc.oneof(
      fc.string(),
      fc.json(),
      fc.anything().map((value) => JSON.stringify({ Statement: value }) ?? ''),
      fc.anything().map(
        (value) =>
          JSON.stringify({
            Statement: [{ Effect: 'Allow', Principal: value, Action: value, Resource: value, Condition: value }],
          }) ?? '',
      ),
    );
    fc.assert(
      fc.property(text, fc.constantFrom<'bucket' | 'user'>('bucket', 'user'), (json, kind) => {
        try {
          parsePolicy(json, kind, { bucket: BUCKET });
        } catch (err) {
          assert.ok(isPolicyError(err), String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
