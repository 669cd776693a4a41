import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BUCKET_POLICY_MAX_BYTES,
  isPolicyError,
  type PolicyKind,
  parsePolicy,
  USER_POLICY_MAX_CHARS,
} from '../src/index.ts';
import { BUCKET, documentOf, statementOf } from './fixtures.ts';

const RESOURCE = `arn:aws:s3:::${BUCKET}/*`;
const statement = statementOf;
const without = (name: string) => statementOf({ [name]: undefined });

/** Asserts that parsing `text` as `kind` throws a PolicyError with `code` and exactly `message`. */
function refuses(text: string, message: string, kind: PolicyKind = 'bucket', code = 'POLICY_MALFORMED') {
  assert.throws(
    () => parsePolicy(text, kind, { bucket: BUCKET }),
    (err: unknown) => {
      assert.ok(isPolicyError(err), `not a PolicyError: ${String(err)}`);
      assert.equal(err.code, code);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe('parsePolicy', () => {
  it('should normalize a single statement and single values into lists', () => {
    const policy = parsePolicy(JSON.stringify({ Id: 'p1', Statement: statement({ Sid: 'S1' }) }), 'bucket', {
      bucket: BUCKET,
    });
    assert.equal(policy.version, '2008-10-17');
    assert.equal(policy.id, 'p1');
    assert.equal(policy.statements.length, 1);
    const [s] = policy.statements;
    assert.equal(s!.sid, 'S1');
    assert.deepEqual(
      s!.actions.map((p) => p.source),
      ['s3:GetObject'],
    );
    assert.deepEqual(
      s!.resources.map((p) => p.source),
      [RESOURCE],
    );
    assert.equal(s!.principals!.everyone, true);
    assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.statements) && Object.isFrozen(s));
  });

  it('should read every principal form', () => {
    const policy = parsePolicy(
      documentOf([
        statement({
          Principal: {
            AWS: ['111122223333', 'arn:aws:iam::444455556666:root', 'arn:aws:iam::111122223333:user/team/alice'],
            CanonicalUser: 'A'.repeat(64),
            Service: 'logging.s3.amazonaws.com',
          },
        }),
      ]),
      'bucket',
      { bucket: BUCKET },
    );
    const p = policy.statements[0]!.principals!;
    assert.equal(p.everyone, false);
    assert.deepEqual(p.accounts, ['111122223333', '444455556666']);
    assert.deepEqual(p.users, ['arn:aws:iam::111122223333:user/team/alice']);
    assert.deepEqual(p.canonicalUsers, ['a'.repeat(64)]);
    assert.deepEqual(p.services, ['logging.s3.amazonaws.com']);
  });

  it('should ask options.principalExists about each named principal and refuse one that does not exist', () => {
    const asked: string[] = [];
    const principalExists = (type: string, id: string) => {
      asked.push(`${type} ${id}`);
      return !id.includes('ghost');
    };
    const named = (aws: string[]) =>
      documentOf([statement({ Principal: { AWS: aws, CanonicalUser: 'B'.repeat(64) } })]);
    parsePolicy(named(['111122223333', 'arn:aws:iam::111122223333:user/alice']), 'bucket', {
      bucket: BUCKET,
      principalExists,
    });
    assert.deepEqual(asked, [
      'account 111122223333',
      'user arn:aws:iam::111122223333:user/alice',
      `canonical-user ${'b'.repeat(64)}`,
    ]);
    assert.throws(
      () => parsePolicy(named(['arn:aws:iam::111122223333:user/ghost']), 'bucket', { bucket: BUCKET, principalExists }),
      { code: 'POLICY_MALFORMED', message: 'Invalid principal in policy' },
    );
  });

  it('should accept NotPrincipal, NotAction and NotResource with Deny', () => {
    const policy = parsePolicy(
      documentOf([
        {
          Effect: 'Deny',
          NotPrincipal: { AWS: 'arn:aws:iam::111122223333:user/alice' },
          NotAction: 's3:Get*',
          NotResource: `arn:aws:s3:::${BUCKET}/public/*`,
        },
      ]),
      'bucket',
      { bucket: BUCKET },
    );
    const s = policy.statements[0]!;
    assert.deepEqual([s.notPrincipal, s.notAction, s.notResource], [true, true, true]);
  });

  it('should accept a user policy without Principal and with Resource "*"', () => {
    const policy = parsePolicy(documentOf([{ Effect: 'Allow', Action: 's3:*', Resource: '*' }]), 'user');
    assert.equal(policy.kind, 'user');
    assert.equal(policy.statements[0]!.principals, undefined);
  });

  it('should refuse a bucket policy without options.bucket (a programming error)', () => {
    assert.throws(() => parsePolicy(documentOf([statement()]), 'bucket'), TypeError);
  });

  // AWS's MalformedPolicy messages, each for the document that gives it.
  const cases: Array<[string, string, string, PolicyKind?]> = [
    ['an empty body', '', "Policies must be valid JSON and the first byte must be '{'"],
    ['an array', '[]', "Policies must be valid JSON and the first byte must be '{'"],
    ['leading whitespace', ' {}', "Policies must be valid JSON and the first byte must be '{'"],
    ['broken JSON', '{"Statement": [}', 'This policy contains invalid Json'],
    ['a trailing comma', '{"Statement": [],}', 'This policy contains invalid Json'],
    ['text after the document', '{"Statement": []} x', 'This policy contains invalid Json'],
    ['a duplicate member', '{"Statement": [], "Statement": []}', 'This policy contains invalid Json'],
    ['no Statement', '{"Version": "2012-10-17"}', 'Missing required field Statement'],
    ['an empty Statement', '{"Statement": []}', 'Could not parse the policy: Statement is empty!'],
    ['a bad Version', documentOf([statement()], '2012-10-18'), 'The policy must contain a valid version string'],
    ['an unknown document field', '{"Statement": [], "Versoin": "x"}', 'Unknown field Versoin'],
    ['an unknown statement field', documentOf([statement({ Principle: '*' })]), 'Unknown field Principle'],
    ['a Statement string', '{"Statement": "x"}', 'Invalid policy syntax.'],
    ['an Id number', '{"Id": 1, "Statement": []}', 'Invalid policy syntax.'],
    ['no Effect', documentOf([without('Effect')]), 'Missing required field Effect'],
    ['a bad Effect', documentOf([statement({ Effect: 'allow' })]), 'Invalid effect: allow'],
    ['no Principal', documentOf([without('Principal')]), 'Missing required field Principal'],
    ['a bad Principal', documentOf([statement({ Principal: 'alice' })]), 'Invalid principal in policy'],
    [
      'a wildcard user',
      documentOf([statement({ Principal: { AWS: 'arn:aws:iam::*:user/a' } })]),
      'Invalid principal in policy',
    ],
    [
      'a Federated principal',
      documentOf([statement({ Principal: { Federated: 'x' } })]),
      'Invalid principal in policy',
    ],
    [
      'NotPrincipal with Allow',
      documentOf([{ ...without('Principal'), NotPrincipal: '*' }]),
      'Invalid principal in policy',
    ],
    [
      'a Principal in a user policy',
      documentOf([statement()]),
      'Policy document should not specify a principal.',
      'user',
    ],
    ['no Action', documentOf([without('Action')]), 'Missing required field Action'],
    ['an unknown action', documentOf([statement({ Action: 's3:GetObjekt' })]), 'Policy has invalid action'],
    ['another service', documentOf([statement({ Action: 'ec2:RunInstances' })]), 'Policy has invalid action'],
    ['a pattern naming nothing', documentOf([statement({ Action: 's3:Frobnicate*' })]), 'Policy has invalid action'],
    ['no Resource', documentOf([without('Resource')]), 'Missing required field Resource'],
    ['Resource "*"', documentOf([statement({ Resource: '*' })]), 'Policy has invalid resource'],
    ['another bucket', documentOf([statement({ Resource: 'arn:aws:s3:::other/*' })]), 'Policy has invalid resource'],
    [
      'another partition',
      documentOf([statement({ Resource: 'arn:aws-cn:s3:::photos/*' })]),
      'Policy has invalid resource',
    ],
    [
      'an object action on the bucket',
      documentOf([statement({ Action: 's3:PutObject', Resource: `arn:aws:s3:::${BUCKET}` })]),
      'Action does not apply to any resource(s) in statement',
    ],
    [
      'a bucket action on objects',
      documentOf([statement({ Action: 's3:ListBucket' })]),
      'Action does not apply to any resource(s) in statement',
    ],
    [
      'an unknown operator',
      documentOf([statement({ Condition: { StringEqualz: { 'aws:username': 'a' } } })]),
      'Invalid Condition type : StringEqualz',
    ],
    [
      'an unknown S3 key',
      documentOf([statement({ Condition: { StringEquals: { 's3:x-acl': 'private' } } })]),
      'Policy has an invalid condition key',
    ],
    [
      'another service key',
      documentOf([statement({ Condition: { StringEquals: { 'ec2:Region': 'x' } } })]),
      'Policy has an invalid condition key',
    ],
    [
      's3:prefix on GetObject',
      documentOf([statement({ Condition: { StringLike: { 's3:prefix': 'home/' } } })]),
      'Conditions do not apply to combination of actions and resources in statement',
    ],
    [
      'a bad CIDR',
      documentOf([statement({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } })]),
      'Invalid IP address in Conditions',
    ],
    [
      'a bad date',
      documentOf([statement({ Condition: { DateLessThan: { 'aws:CurrentTime': '2026-02-30' } } })]),
      'Invalid value in Conditions for operator DateLessThan',
    ],
    [
      'duplicate Sids',
      documentOf([statement({ Sid: 'a' }), statement({ Sid: 'a' })]),
      'Statement IDs (SID) in a single policy must be unique',
    ],
  ];
  for (const [what, text, message, kind] of cases) {
    it(`should refuse ${what}: "${message}"`, () => refuses(text, message, kind));
  }

  it('should measure a bucket policy without whitespace, up to 20 KB', () => {
    const fill = (n: number) => JSON.stringify({ Id: 'x'.repeat(n), Statement: statement() });
    const base = Buffer.byteLength(fill(0));
    parsePolicy(fill(BUCKET_POLICY_MAX_BYTES - base), 'bucket', { bucket: BUCKET });
    parsePolicy(fill(BUCKET_POLICY_MAX_BYTES - base).replaceAll(',', ',\n        '), 'bucket', { bucket: BUCKET });
    refuses(
      fill(BUCKET_POLICY_MAX_BYTES - base + 1),
      'Policy exceeds the maximum allowed document size.',
      'bucket',
      'POLICY_TOO_LARGE',
    );
  });

  it('should hold a user policy to 2,048 characters without whitespace', () => {
    const fill = (n: number) =>
      JSON.stringify({ Id: 'x'.repeat(n), Statement: { Effect: 'Allow', Action: 's3:*', Resource: '*' } });
    const base = fill(0).length;
    parsePolicy(fill(USER_POLICY_MAX_CHARS - base), 'user');
    refuses(
      fill(USER_POLICY_MAX_CHARS - base + 1),
      'Cannot exceed quota for PolicySize: 2048',
      'user',
      'POLICY_TOO_LARGE',
    );
  });

  it('should treat policy variables as literal text in a 2008-10-17 policy', () => {
    const text = documentOf([statement({ Resource: `arn:aws:s3:::${BUCKET}/\${aws:username}/*` })], '2008-10-17');
    const policy = parsePolicy(text, 'bucket', { bucket: BUCKET });
    assert.equal(policy.statements[0]!.resources[0]!.variables, false);
    const current = parsePolicy(text.replace('2008-10-17', '2012-10-17'), 'bucket', { bucket: BUCKET });
    assert.equal(current.statements[0]!.resources[0]!.variables, true);
  });
});
