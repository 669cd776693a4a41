import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BUILTIN_POLICIES, isPublicPolicy } from '../src/index.ts';
import { BUCKET, bucketPolicy, user } from './fixtures.ts';

const OBJECTS = `arn:aws:s3:::${BUCKET}/*`;
const allowAll = (over: Record<string, unknown> = {}) =>
  bucketPolicy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: OBJECTS, ...over }]);
const allowIf = (condition: Record<string, unknown>) => allowAll({ Condition: condition });

describe('isPublicPolicy', () => {
  it('should find an Allow to "*" or {"AWS": "*"} public', () => {
    assert.equal(isPublicPolicy(allowAll()), true);
    assert.equal(isPublicPolicy(allowAll({ Principal: { AWS: '*' } })), true);
    assert.equal(isPublicPolicy(allowAll({ Principal: { AWS: ['*', user('bob').arn] } })), true);
  });

  it('should find Allows to named principals, and Denies to everyone, not public', () => {
    assert.equal(isPublicPolicy(allowAll({ Principal: { AWS: user('bob').arn } })), false);
    assert.equal(isPublicPolicy(allowAll({ Principal: { AWS: '111122223333' } })), false);
    assert.equal(isPublicPolicy(allowAll({ Principal: { CanonicalUser: 'a'.repeat(64) } })), false);
    assert.equal(isPublicPolicy(allowAll({ Effect: 'Deny' })), false);
  });

  it('should find an Allow to everyone held to a source block of /8 or narrower not public', () => {
    assert.equal(isPublicPolicy(allowIf({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } })), false);
    assert.equal(isPublicPolicy(allowIf({ IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:db8::/32'] } })), false);
  });

  it('should find an Allow held to a block broader than /8 (or /32 for IPv6), or not held, public', () => {
    assert.equal(isPublicPolicy(allowIf({ IpAddress: { 'aws:SourceIp': '0.0.0.0/1' } })), true);
    assert.equal(isPublicPolicy(allowIf({ IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001::/16'] } })), true);
    assert.equal(isPublicPolicy(allowIf({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } })), true);
    assert.equal(isPublicPolicy(allowIf({ IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' } })), true);
  });

  it('should find an Allow held to fixed values of a confining key not public, and to wildcards public', () => {
    assert.equal(isPublicPolicy(allowIf({ StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } })), false);
    assert.equal(isPublicPolicy(allowIf({ StringEquals: { 'aws:PrincipalAccount': '111122223333' } })), false);
    assert.equal(isPublicPolicy(allowIf({ ArnEquals: { 'aws:SourceArn': 'arn:aws:s3:::logs' } })), false);
    assert.equal(isPublicPolicy(allowIf({ StringLike: { 'aws:SourceVpce': 'vpce-*' } })), true);
    assert.equal(isPublicPolicy(allowIf({ StringEquals: { 'aws:SourceAccount': '${aws:username}' } })), true);
    assert.equal(isPublicPolicy(allowIf({ StringNotEquals: { 'aws:SourceVpce': 'vpce-1' } })), true);
  });

  it('should find an Allow held only to keys that do not confine (TLS, a user name) public', () => {
    assert.equal(isPublicPolicy(allowIf({ Bool: { 'aws:SecureTransport': 'true' } })), true);
    assert.equal(isPublicPolicy(allowIf({ StringEquals: { 'aws:username': 'alice' } })), true);
  });

  it('should find no user policy public', () => {
    assert.equal(isPublicPolicy(BUILTIN_POLICIES.readwrite), false);
  });
});
