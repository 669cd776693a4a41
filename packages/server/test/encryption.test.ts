import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Context } from 'koa';
import type { BucketRecord } from '@coffer/blob-store';
import { isSecure, writeEncryption } from '../src/encryption.ts';
import type { Services } from '../src/context.ts';
import type { Endpoint } from '../src/operations.ts';
import type { S3Error } from '../src/errors.ts';

// A peer that is not loopback cannot be made on this machine (servers listen on 127.0.0.1 only), so these checks
// run on a stand-in request context; the loopback and TLS paths are covered end to end.
function ctx(remoteAddress: string, headers: Record<string, string> = {}, encrypted = false): Context {
  return { req: { socket: { remoteAddress, encrypted }, headers } } as unknown as Context;
}
function services(security: Partial<Services['security']> = {}): Services {
  return { security: { allowInsecureSseC: false, trustProxy: false, ...security } } as Services;
}
const ep: Endpoint = { op: 'PutObject', bucket: 'b', key: 'k', query: new Map() };
const bucket: BucketRecord = {
  v: 1,
  name: 'b',
  owner: 'u',
  created: '2026-01-01T00:00:00.000Z',
  location: 'us-east-1',
};
const ssecHeaders = {
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': Buffer.alloc(32, 1).toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': '4Funlf7OsLF0HL+vKU+fkg==',
};

describe('isSecure', () => {
  it('should count loopback peers and TLS as secure', () => {
    assert.equal(isSecure(ctx('127.0.0.1'), services()), true);
    assert.equal(isSecure(ctx('::1'), services()), true);
    assert.equal(isSecure(ctx('::ffff:127.0.0.1'), services()), true);
    assert.equal(isSecure(ctx('10.1.2.3', {}, true), services()), true);
  });
  it('should count plain HTTP from another peer as insecure unless the operator opted in', () => {
    assert.equal(isSecure(ctx('10.1.2.3'), services()), false);
    assert.equal(isSecure(ctx('10.1.2.3'), services({ allowInsecureSseC: true })), true);
  });
  it('should trust X-Forwarded-Proto: https only when told to trust the proxy', () => {
    assert.equal(isSecure(ctx('10.1.2.3', { 'x-forwarded-proto': 'https' }), services()), false);
    assert.equal(isSecure(ctx('10.1.2.3', { 'x-forwarded-proto': 'https' }), services({ trustProxy: true })), true);
  });
});

describe('writeEncryption', () => {
  it('should refuse SSE-C over plain HTTP from a non-loopback peer with 400 InvalidRequest (Part B row 0)', () => {
    assert.throws(
      () => writeEncryption(ctx('10.1.2.3', ssecHeaders), ep, services(), bucket),
      (e: S3Error) =>
        e.code === 'InvalidRequest' &&
        e.status === 400 &&
        e.message ===
          'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.',
    );
  });
  it('should take SSE-C from a loopback peer, and SSE-S3 when no customer key is sent', () => {
    assert.equal(writeEncryption(ctx('127.0.0.1', ssecHeaders), ep, services(), bucket).scheme, 'SSE-C');
    assert.equal(writeEncryption(ctx('10.1.2.3'), ep, services(), bucket).scheme, 'SSE-S3');
  });
});
