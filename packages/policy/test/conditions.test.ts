import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { type ContextValue, evaluate } from '../src/index.ts';
import { request, user, userPolicy } from './fixtures.ts';

/**
 * Whether a condition `{type: {key: policyValue}}` holds for a request whose `key` is `requestValue` (left out when
 * `undefined`): an Allow of every action with that one condition decides.
 */
function holds(type: string, key: string, policyValue: unknown, requestValue: ContextValue | undefined): boolean {
  const policy = userPolicy([
    { Effect: 'Allow', Action: 's3:*', Resource: '*', Condition: { [type]: { [key]: policyValue } } },
  ]);
  const keys = requestValue === undefined ? {} : { [key]: requestValue };
  return evaluate(request(user('alice'), 's3:PutObject', 'k', keys), { userPolicies: [policy] }).decision === 'allow';
}

type Row = [type: string, key: string, policyValue: unknown, requestValue: ContextValue | undefined, expected: boolean];

/** One `it` per row of a table, named after what it tests. */
function table(rows: Row[]) {
  for (const [type, key, policyValue, requestValue, expected] of rows) {
    it(`should find ${type} ${key} ${JSON.stringify(policyValue)} ${expected ? 'true' : 'false'} for ${JSON.stringify(requestValue) ?? 'a missing key'}`, () => {
      assert.equal(holds(type, key, policyValue, requestValue), expected);
    });
  }
}

const SSE = 's3:x-amz-server-side-encryption';

describe('condition operators: String', () => {
  table([
    ['StringEquals', SSE, 'AES256', 'AES256', true],
    ['StringEquals', SSE, 'AES256', 'aes256', false],
    ['StringEquals', SSE, ['aws:kms', 'AES256'], 'AES256', true],
    ['StringEquals', SSE, 'AES*', 'AES256', false],
    ['StringEquals', SSE, 'AES*', 'AES*', true],
    ['StringEquals', SSE, 'AES256', undefined, false],
    ['StringNotEquals', SSE, 'AES256', 'aws:kms', true],
    ['StringNotEquals', SSE, ['AES256', 'aws:kms'], 'aws:kms', false],
    ['StringNotEquals', SSE, 'AES256', undefined, true],
    ['StringEqualsIgnoreCase', SSE, 'aes256', 'AES256', true],
    ['StringEqualsIgnoreCase', SSE, 'aes256', 'aws:kms', false],
    ['StringNotEqualsIgnoreCase', SSE, 'aes256', 'AES256', false],
    ['StringNotEqualsIgnoreCase', SSE, 'aes256', 'aws:kms', true],
    ['StringLike', 's3:x-amz-acl', 'public-*', 'public-read', true],
    ['StringLike', 's3:x-amz-acl', 'public-?ead', 'public-read', true],
    ['StringLike', 's3:x-amz-acl', 'public-*', 'private', false],
    ['StringLike', 's3:x-amz-acl', 'public-*', undefined, false],
    ['StringNotLike', 's3:x-amz-acl', 'public-*', 'private', true],
    ['StringNotLike', 's3:x-amz-acl', 'public-*', 'public-read-write', false],
    ['StringNotLike', 's3:x-amz-acl', 'public-*', undefined, true],
    ['StringEqualsIfExists', SSE, 'AES256', undefined, true],
    ['StringEqualsIfExists', SSE, 'AES256', 'aws:kms', false],
    ['StringLike', 'aws:username', 'al*', undefined, true],
    ['StringEquals', 's3:prefix', '${aws:username}/', 'alice/', true],
    ['StringEquals', 's3:prefix', '${aws:username}/', 'bob/', false],
  ]);
});

describe('condition operators: Numeric', () => {
  table([
    ['NumericEquals', 's3:max-keys', '10', '10', true],
    ['NumericEquals', 's3:max-keys', 10, '10.0', true],
    ['NumericEquals', 's3:max-keys', '10', '11', false],
    ['NumericNotEquals', 's3:max-keys', '10', '11', true],
    ['NumericNotEquals', 's3:max-keys', '10', undefined, true],
    ['NumericLessThan', 's3:max-keys', '10', 9, true],
    ['NumericLessThan', 's3:max-keys', '10', 10, false],
    ['NumericLessThanEquals', 's3:max-keys', '10', 10, true],
    ['NumericLessThanEquals', 's3:max-keys', '10', 11, false],
    ['NumericGreaterThan', 's3:max-keys', '10', 11, true],
    ['NumericGreaterThan', 's3:max-keys', '10', 10, false],
    ['NumericGreaterThanEquals', 's3:max-keys', '10', 10, true],
    ['NumericGreaterThanEquals', 's3:max-keys', '-1.5', '-2', false],
    ['NumericLessThan', 's3:max-keys', '10', 'ten', false],
    ['NumericLessThan', 's3:max-keys', '10', undefined, false],
    ['NumericLessThanIfExists', 's3:max-keys', '10', undefined, true],
  ]);
});

describe('condition operators: Date (the request is made at 2026-12-03T18:00:00Z)', () => {
  table([
    ['DateLessThan', 'aws:CurrentTime', '2027-01-01T00:00:00Z', undefined, true],
    ['DateLessThan', 'aws:CurrentTime', '2026-12-03', undefined, false],
    ['DateGreaterThan', 'aws:CurrentTime', '2026-12-03', undefined, true],
    ['DateEquals', 'aws:CurrentTime', '2026-12-03T19:00:00+01:00', undefined, true],
    ['DateEquals', 'aws:CurrentTime', '2026-12-03T18:00:00.000Z', undefined, true],
    ['DateNotEquals', 'aws:CurrentTime', '2026-12-03T18:00:01Z', undefined, true],
    ['DateLessThanEquals', 'aws:CurrentTime', '2026-12-03T18:00:00Z', undefined, true],
    ['DateGreaterThanEquals', 'aws:CurrentTime', '2026-12-03T18:00:01Z', undefined, false],
    ['DateGreaterThanEquals', 'aws:EpochTime', '1796320800', undefined, true],
    ['DateLessThan', 'aws:EpochTime', 1796320800, undefined, false],
    ['DateLessThan', 's3:object-lock-retain-until-date', '2027-01-01T00:00:00Z', '2026-12-31T00:00:00Z', true],
    ['DateLessThan', 's3:object-lock-retain-until-date', '2027-01-01T00:00:00Z', 'not a date', false],
    ['DateLessThan', 's3:object-lock-retain-until-date', '2027-01-01T00:00:00Z', undefined, false],
    ['DateLessThanIfExists', 's3:object-lock-retain-until-date', '2027-01-01T00:00:00Z', undefined, true],
  ]);
});

describe('condition operators: Bool, Null, BinaryEquals', () => {
  table([
    ['Bool', 'aws:SecureTransport', 'true', true, true],
    ['Bool', 'aws:SecureTransport', true, 'TRUE', true],
    ['Bool', 'aws:SecureTransport', 'false', true, false],
    ['Bool', 'aws:SecureTransport', 'false', undefined, false],
    ['BoolIfExists', 'aws:SecureTransport', 'false', undefined, true],
    ['Null', SSE, 'true', undefined, true],
    ['Null', SSE, 'true', 'AES256', false],
    ['Null', SSE, 'false', 'AES256', true],
    ['Null', SSE, 'false', undefined, false],
    ['BinaryEquals', 's3:x-amz-content-sha256', 'QUVTMjU2', 'QUVTMjU2', true],
    ['BinaryEquals', 's3:x-amz-content-sha256', 'QUVTMjU2', 'QUVTMjU3', false],
    ['BinaryEquals', 's3:x-amz-content-sha256', 'QUVTMjU2', 'not base64!', false],
  ]);
});

describe('condition operators: IpAddress', () => {
  table([
    ['IpAddress', 'aws:SourceIp', '192.0.2.0/24', '192.0.2.77', true],
    ['IpAddress', 'aws:SourceIp', '192.0.2.0/24', '192.0.3.1', false],
    ['IpAddress', 'aws:SourceIp', '192.0.2.0/24', '::ffff:192.0.2.77', true],
    ['IpAddress', 'aws:SourceIp', '192.0.2.1', '192.0.2.1', true],
    ['IpAddress', 'aws:SourceIp', '10.0.0.0/9', '10.127.255.255', true],
    ['IpAddress', 'aws:SourceIp', '10.0.0.0/9', '10.128.0.0', false],
    ['IpAddress', 'aws:SourceIp', '0.0.0.0/0', '203.0.113.9', true],
    ['IpAddress', 'aws:SourceIp', '2001:db8::/32', '2001:db8:1::5', true],
    ['IpAddress', 'aws:SourceIp', '2001:db8::/32', '2001:db9::5', false],
    ['IpAddress', 'aws:SourceIp', '2001:db8::/32', '192.0.2.1', false],
    ['IpAddress', 'aws:SourceIp', ['2001:db8::/32', '192.0.2.0/24'], '192.0.2.1', true],
    ['IpAddress', 'aws:SourceIp', '192.0.2.0/24', 'localhost', false],
    ['IpAddress', 'aws:SourceIp', '192.0.2.0/24', undefined, false],
    ['NotIpAddress', 'aws:SourceIp', '192.0.2.0/24', '198.51.100.1', true],
    ['NotIpAddress', 'aws:SourceIp', '192.0.2.0/24', '192.0.2.1', false],
    ['NotIpAddress', 'aws:SourceIp', '192.0.2.0/24', undefined, true],
  ]);
});

describe('condition operators: Arn', () => {
  const arn = 'arn:aws:iam::111122223333:user/alice';
  table([
    ['ArnEquals', 'aws:PrincipalArn', arn, undefined, true],
    ['ArnEquals', 'aws:PrincipalArn', 'arn:aws:iam::111122223333:user/*', undefined, true],
    ['ArnLike', 'aws:PrincipalArn', 'arn:aws:iam::*:user/al?ce', undefined, true],
    ['ArnLike', 'aws:PrincipalArn', 'arn:aws:iam::*:user/bob', undefined, false],
    ['ArnNotEquals', 'aws:PrincipalArn', 'arn:aws:iam::111122223333:user/bob', undefined, true],
    ['ArnNotLike', 'aws:PrincipalArn', 'arn:aws:iam::*:user/a*', undefined, false],
    ['ArnLike', 'aws:SourceArn', 'arn:aws:s3:::*', undefined, false],
    ['ArnLikeIfExists', 'aws:SourceArn', 'arn:aws:s3:::*', undefined, true],
  ]);
});

describe('condition operators: set operators on multi-valued keys', () => {
  const KEYS = 's3:RequestObjectTagKeys';
  table([
    ['ForAnyValue:StringEquals', KEYS, ['project', 'owner'], ['owner', 'size'], true],
    ['ForAnyValue:StringEquals', KEYS, ['project', 'owner'], ['size'], false],
    ['ForAnyValue:StringEquals', KEYS, ['project'], undefined, false],
    ['ForAllValues:StringEquals', KEYS, ['project', 'owner'], ['owner', 'project'], true],
    ['ForAllValues:StringEquals', KEYS, ['project', 'owner'], ['owner', 'size'], false],
    ['ForAllValues:StringEquals', KEYS, ['project'], undefined, true],
    ['ForAllValues:StringLike', KEYS, ['p*'], ['project', 'priority'], true],
    ['ForAnyValue:StringNotLike', KEYS, ['p*'], ['project', 'size'], true],
    ['ForAllValues:StringNotEquals', KEYS, ['secret'], ['project', 'size'], true],
    ['ForAllValues:StringNotEquals', KEYS, ['secret'], ['project', 'secret'], false],
    ['ForAnyValue:StringEqualsIfExists', KEYS, ['project'], undefined, true],
    ['StringEquals', KEYS, ['project'], ['size', 'project'], true],
    ['StringNotEquals', KEYS, ['project'], ['size', 'project'], false],
  ]);
});

describe('conditions: AND across operators and keys, tag keys keep their case', () => {
  it('should need every operator and every key of a Condition to hold', () => {
    const policy = userPolicy([
      {
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: '*',
        Condition: {
          StringEquals: { 's3:x-amz-server-side-encryption': 'AES256', 's3:x-amz-acl': 'private' },
          Bool: { 'aws:SecureTransport': 'true' },
        },
      },
    ]);
    const decide = (keys: Record<string, ContextValue>) =>
      evaluate(request(user('a'), 's3:PutObject', 'k', keys), { userPolicies: [policy] }).decision;
    const all = { [SSE]: 'AES256', 's3:x-amz-acl': 'private', 'aws:SecureTransport': true };
    assert.equal(decide(all), 'allow');
    assert.equal(decide({ ...all, 's3:x-amz-acl': 'public-read' }), 'implicit-deny');
    assert.equal(decide({ ...all, 'aws:SecureTransport': false }), 'implicit-deny');
  });

  it('should match condition key names in any case, and tag keys exactly', () => {
    const policy = userPolicy([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: '*',
        Condition: { StringEquals: { 'S3:ExistingObjectTag/Project': 'blue', 'AWS:SECURETRANSPORT': 'true' } },
      },
    ]);
    const decide = (keys: Record<string, ContextValue>) =>
      evaluate(request(user('a'), 's3:GetObject', 'k', keys), { userPolicies: [policy] }).decision;
    assert.equal(decide({ 's3:existingobjecttag/Project': 'blue', 'aws:SecureTransport': 'true' }), 'allow');
    assert.equal(decide({ 's3:ExistingObjectTag/project': 'blue', 'aws:SecureTransport': 'true' }), 'implicit-deny');
  });
});
