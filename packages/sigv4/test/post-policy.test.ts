import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

import { checkPostPolicy, verifyPostForm } from '../src/index.ts';
import { assertSigV4Error } from './helpers.ts';

const ACCESS_KEY = 'AKIDPOSTEXAMPLE';
const SECRET = 'post/secret/EXAMPLEKEY0000000000000000';
const NOW = Date.parse('2026-11-27T12:00:00Z');

const b64 = (doc: unknown): string => Buffer.from(JSON.stringify(doc)).toString('base64');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** Signs a policy the way AWS documents it: hex HMAC of the base64 policy under the SigV4 signing key. */
function signedForm(policy: string, extra: Record<string, string> = {}): Map<string, string> {
  const date = '20261127';
  const key = hmac(hmac(hmac(hmac(`AWS4${SECRET}`, date), 'us-east-1'), 's3'), 'aws4_request');
  return new Map(
    Object.entries({
      key: 'k',
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      'x-amz-credential': `${ACCESS_KEY}/${date}/us-east-1/s3/aws4_request`,
      'x-amz-date': `${date}T115900Z`,
      policy,
      'x-amz-signature': hmac(key, policy).toString('hex'),
      ...extra,
    }),
  );
}

const opts = { getSecretKey: (ak: string) => (ak === ACCESS_KEY ? SECRET : undefined), region: 'us-east-1' };

describe('verifyPostForm', () => {
  const policy = b64({ expiration: '2026-11-27T13:00:00Z', conditions: [] });

  it('should accept the documented signature and return the access key and scope', async () => {
    assert.deepEqual(await verifyPostForm(signedForm(policy), opts), {
      accessKeyId: ACCESS_KEY,
      signatureVersion: 'AWS4-HMAC-SHA256',
      amzDate: '20261127T115900Z',
      scope: '20261127/us-east-1/s3/aws4_request',
    });
  });

  it('should refuse a wrong signature, an unknown key, a wrong region and SigV2 or anonymous forms', async () => {
    const form = signedForm(policy);
    form.set('policy', b64({ expiration: '2099-01-01T00:00:00Z', conditions: [] }));
    await assertSigV4Error(() => verifyPostForm(form, opts), 'SIGV4_SIGNATURE_MISMATCH', undefined, SECRET);
    await assertSigV4Error(
      () =>
        verifyPostForm(
          signedForm(policy, { 'x-amz-credential': `AKIDOTHER/20261127/us-east-1/s3/aws4_request` }),
          opts,
        ),
      'SIGV4_UNKNOWN_ACCESS_KEY',
    );
    await assertSigV4Error(
      () =>
        verifyPostForm(
          signedForm(policy, { 'x-amz-credential': `${ACCESS_KEY}/20261127/eu-west-1/s3/aws4_request` }),
          opts,
        ),
      'SIGV4_MALFORMED_AUTH',
    );
    await assertSigV4Error(
      () => verifyPostForm(signedForm(policy, { 'x-amz-date': '20261126T115900Z' }), opts),
      'SIGV4_POST_MISSING_FIELD',
    );
    await assertSigV4Error(
      () =>
        verifyPostForm(
          new Map([
            ['awsaccesskeyid', ACCESS_KEY],
            ['signature', 'x'],
            ['policy', policy],
          ]),
          opts,
        ),
      'SIGV4_UNSUPPORTED_ALGORITHM',
    );
    await assertSigV4Error(() => verifyPostForm(new Map([['key', 'k']]), opts), 'SIGV4_MISSING_AUTH', 'Access Denied');
    const noSig = signedForm(policy);
    noSig.delete('x-amz-signature');
    await assertSigV4Error(
      () => verifyPostForm(noSig, opts),
      'SIGV4_POST_MISSING_FIELD',
      "Bucket POST must contain a field named 'x-amz-signature'.  If it is specified, please check the order of the fields.",
    );
  });
});

describe('checkPostPolicy', () => {
  const fields = (extra: Record<string, string> = {}) =>
    new Map(Object.entries({ bucket: 'b', key: 'user/eric/photo.jpg', 'x-amz-signature': 's', policy: 'p', ...extra }));
  const policy = (conditions: unknown[], expiration = '2026-11-27T13:00:00.000Z') => b64({ expiration, conditions });

  it('should pass a form that meets every condition, and return the content-length-range', () => {
    const p = policy([
      { bucket: 'b' },
      ['starts-with', '$key', 'user/eric/'],
      ['eq', '$Content-Type', 'image/jpeg'],
      ['content-length-range', 1, 1048576],
    ]);
    assert.deepEqual(checkPostPolicy(p, fields({ 'content-type': 'image/jpeg', 'x-ignore-me': '1' }), NOW), {
      contentLengthRange: { min: 1, max: 1048576 },
    });
    assert.deepEqual(checkPostPolicy(policy([{ bucket: 'b' }, ['starts-with', '$key', '']]), fields(), NOW), {});
  });

  it('should name the condition that failed, as S3 writes it', () => {
    const p = policy([{ bucket: 'b' }, ['starts-with', '$key', 'user/ann/']]);
    assert.throws(() => checkPostPolicy(p, fields(), NOW), {
      code: 'SIGV4_POST_POLICY_DENIED',
      message: 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/ann/"]',
    });
    assert.throws(() => checkPostPolicy(policy([{ bucket: 'other' }, ['starts-with', '$key', '']]), fields(), NOW), {
      message: 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "other"]',
    });
    // Every type of a Content-Type list must pass a starts-with.
    const ct = policy([{ bucket: 'b' }, ['starts-with', '$key', ''], ['starts-with', '$Content-Type', 'image/']]);
    assert.doesNotThrow(() => checkPostPolicy(ct, fields({ 'content-type': 'image/png, image/jpeg' }), NOW));
    assert.throws(() => checkPostPolicy(ct, fields({ 'content-type': 'image/png, text/html' }), NOW), {
      code: 'SIGV4_POST_POLICY_DENIED',
    });
  });

  it('should refuse a field no condition covers, an expired policy and a document that is not a policy', () => {
    const p = policy([{ bucket: 'b' }, ['starts-with', '$key', '']]);
    assert.throws(() => checkPostPolicy(p, fields({ 'x-amz-meta-x': '1' }), NOW), {
      message: 'Invalid according to Policy: Extra input fields: x-amz-meta-x',
    });
    assert.throws(() => checkPostPolicy(policy([{ bucket: 'b' }], '2026-11-27T11:59:59Z'), fields(), NOW), {
      message: 'Invalid according to Policy: Policy expired.',
    });
    assert.throws(() => checkPostPolicy(Buffer.from('{not json').toString('base64'), fields(), NOW), {
      code: 'SIGV4_POST_POLICY_INVALID',
    });
    assert.throws(() => checkPostPolicy(b64({ conditions: [] }), fields(), NOW), {
      message: 'Invalid Policy: Policy missing expiration.',
    });
    assert.throws(() => checkPostPolicy(policy([['content-length-range', 5, 1]]), fields(), NOW), {
      code: 'SIGV4_POST_POLICY_INVALID',
    });
    assert.throws(() => checkPostPolicy(policy([['matches', '$key', '.*']]), fields(), NOW), {
      code: 'SIGV4_POST_POLICY_INVALID',
    });
  });
});
