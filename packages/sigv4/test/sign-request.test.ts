import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { signRequest, verifyRequest } from '../src/index.ts';
import { ACCESS_KEY, SECRET_KEY, amzDateMs, loadFixture } from './fixtures.ts';

describe('signRequest', () => {
  it('should reproduce the signature a real client (aws CLI) sent', () => {
    const f = loadFixture('awscli-01-PUT');
    const headers = signRequest({
      method: 'PUT',
      url: `http://${f.headers['host']}${f.path}`,
      headers: {
        'x-amz-checksum-crc32': String(f.headers['x-amz-checksum-crc32']),
        'x-amz-sdk-checksum-algorithm': 'CRC32',
        'x-amz-content-sha256': String(f.headers['x-amz-content-sha256']),
      },
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      now: new Date(amzDateMs(f.amzDate)),
    });
    assert.equal(headers['authorization'], f.headers['authorization']);
  });

  it('should reproduce the signature of @aws-sdk/client-s3 with its query', () => {
    const f = loadFixture('sdkjs-05-POST');
    const signed = String(f.headers['authorization'])
      .match(/SignedHeaders=([^,]+)/)![1]!
      .split(';');
    const extra: Record<string, string> = {};
    for (const h of signed) if (h !== 'host' && h !== 'x-amz-date') extra[h] = String(f.headers[h]);
    const headers = signRequest({
      method: f.method,
      url: `http://${f.headers['host']}${f.path}?${f.query}`,
      headers: extra,
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      now: new Date(amzDateMs(f.amzDate)),
    });
    assert.equal(headers['authorization'], f.headers['authorization']);
  });

  it('should return host, x-amz-date, x-amz-content-sha256 and authorization', async () => {
    const now = new Date('2026-11-27T07:00:00Z');
    const body = Buffer.from('hello');
    const headers = signRequest({
      method: 'PUT',
      url: 'http://127.0.0.1:9000/bkt/k',
      headers: { 'Content-Type': 'text/plain' },
      body,
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      now,
    });
    assert.equal(headers['host'], '127.0.0.1:9000');
    assert.equal(headers['x-amz-date'], '20261127T070000Z');
    assert.equal(headers['x-amz-content-sha256'], '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    assert.equal(headers['content-type'], 'text/plain');
    assert.match(
      headers['authorization']!,
      /SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    const auth = await verifyRequest(
      { method: 'PUT', path: '/bkt/k', query: '', headers },
      { getSecretKey: () => SECRET_KEY, now: () => now.getTime() },
    );
    assert.deepEqual(auth.payload, { kind: 'signed', sha256: headers['x-amz-content-sha256'] });
  });

  it('should sign UNSIGNED-PAYLOAD and an empty body', () => {
    const base = { method: 'GET', url: 'http://h/bkt', accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY };
    assert.equal(signRequest({ ...base, body: 'UNSIGNED-PAYLOAD' })['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
    assert.equal(
      signRequest(base)['x-amz-content-sha256'],
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('should throw TypeError naming a bad input field', () => {
    assert.throws(() => signRequest({ method: 'GET', url: 'http://h/', accessKeyId: '', secretAccessKey: 's' }), {
      name: 'TypeError',
      message: /input\.accessKeyId/,
    });
  });
});
