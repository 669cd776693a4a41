import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  checkPostPolicy,
  isSigV2Request,
  verifyPostForm,
  verifyRequest,
  verifyV2Request,
  type Headers,
  type SigV4ErrorCode,
  type SignableRequest,
  type VerifyOptions,
} from '../src/index.ts';
import { assertSigV4Error } from './helpers.ts';

// The key pair and requests of the examples in AWS's "Signing and authenticating REST requests" (SigV2).
const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const keys = (k: string) => (k === AK ? SK : undefined);
/** `{bucket}.s3.amazonaws.com` is virtual-hosted; a CNAME such as static.johnsmith.net names its bucket whole. */
const virtualHostBucket = (host: string): string | undefined => {
  const name = host.replace(/:\d+$/, '');
  if (name === 's3.amazonaws.com') return undefined;
  return name.endsWith('.s3.amazonaws.com') ? name.slice(0, -'.s3.amazonaws.com'.length) : name;
};
const at = (date: string, extra: Partial<VerifyOptions> = {}): VerifyOptions => ({
  getSecretKey: keys,
  now: () => Date.parse(date),
  sigV2: true,
  virtualHostBucket,
  ...extra,
});
const sign = (toSign: string, secret = SK) => createHmac('sha1', secret).update(toSign, 'latin1').digest('base64');
/** Asserts the SigV4Error `code` (and message), and that the secret key is in neither. */
const fails = (fn: () => unknown, code: SigV4ErrorCode, message?: string, secret = SK) =>
  assertSigV4Error(fn, code, message, secret);
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
/** The query-string authentication example of the docs. */
const DOC_QUERY = `/photos/puppy.jpg?AWSAccessKeyId=${AK}&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620`;

function req(method: string, target: string, headers: Headers): SignableRequest {
  const q = target.indexOf('?');
  return { method, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), headers };
}

/** `r` with another Authorization header. */
const withAuthorization = (r: SignableRequest, authorization: string): SignableRequest => ({
  ...r,
  headers: { ...r.headers, authorization },
});

const OBJECT_GET = req('GET', '/photos/puppy.jpg', {
  host: 'johnsmith.s3.amazonaws.com',
  date: 'Tue, 27 Mar 2007 19:36:42 +0000',
  authorization: `AWS ${AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=`,
});

describe('verifyV2Request', () => {
  describe('the AWS documentation examples', () => {
    it('should verify the object GET (virtual-hosted: the bucket comes from the Host)', async () => {
      const auth = await verifyV2Request(OBJECT_GET, at('2007-03-27T19:36:42Z'));
      assert.equal(auth.accessKeyId, AK);
      assert.equal(auth.signatureVersion, 'AWS');
      assert.equal(auth.via, 'header');
      assert.deepEqual(auth.payload, { kind: 'unsigned' });
      assert.equal(auth.amzDate, '20070327T193642Z');
    });

    it('should verify the object PUT (Content-Type signed)', async () => {
      const r = req('PUT', '/photos/puppy.jpg', {
        host: 'johnsmith.s3.amazonaws.com',
        'content-type': 'image/jpeg',
        'content-length': '94328',
        date: 'Tue, 27 Mar 2007 21:15:45 +0000',
        authorization: `AWS ${AK}:MyyxeRY7whkBe+bq8fHCL/2kKUg=`,
      });
      assert.equal((await verifyV2Request(r, at('2007-03-27T21:15:45Z'))).accessKeyId, AK);
    });

    it('should verify the list (query parameters that are not sub-resources are not signed)', async () => {
      const r = req('GET', '/?prefix=photos&max-keys=50&marker=puppy', {
        host: 'johnsmith.s3.amazonaws.com',
        'user-agent': 'Mozilla/5.0',
        date: 'Tue, 27 Mar 2007 19:42:41 +0000',
        authorization: `AWS ${AK}:htDYFYduRNen8P9ZfE/s9SuKy0U=`,
      });
      assert.equal((await verifyV2Request(r, at('2007-03-27T19:42:41Z'))).accessKeyId, AK);
    });

    it('should verify the ACL fetch (a sub-resource is signed)', async () => {
      const r = req('GET', '/?acl', {
        host: 'johnsmith.s3.amazonaws.com',
        date: 'Tue, 27 Mar 2007 19:44:46 +0000',
        authorization: `AWS ${AK}:c2WLPFtWHVgbEmeEG93a4cG37dM=`,
      });
      assert.equal((await verifyV2Request(r, at('2007-03-27T19:44:46Z'))).accessKeyId, AK);
    });

    it('should verify the upload: Content-MD5, x-amz-* sorted and lower-cased, repeated values joined', async () => {
      const r = req('PUT', '/db-backup.dat.gz', {
        host: 'static.johnsmith.net:8080',
        date: 'Tue, 27 Mar 2007 21:06:08 +0000',
        'x-amz-acl': 'public-read',
        'content-type': 'application/x-download',
        'content-md5': '4gJE4saaMU4BqNR0kLY+lw==',
        'x-amz-meta-reviewedby': ['joe@johnsmith.net', 'jane@johnsmith.net'],
        'x-amz-meta-filechecksum': '0x02661779',
        'x-amz-meta-checksumalgorithm': 'crc32',
        'content-disposition': 'attachment; filename=database.dat',
        'content-encoding': 'gzip',
        authorization: `AWS ${AK}:ilyl83RwaSoYIEdixDQcA4OnAnc=`,
      });
      assert.equal((await verifyV2Request(r, at('2007-03-27T21:06:08Z'))).accessKeyId, AK);
    });

    it('should verify the query-string authentication example until it expires', async () => {
      const r = req('GET', DOC_QUERY, { host: 'johnsmith.s3.amazonaws.com' });
      const auth = await verifyV2Request(r, at('2007-03-29T03:40:00Z'));
      assert.equal(auth.via, 'query');
      assert.equal(auth.accessKeyId, AK);
      const late = at('2007-03-29T03:40:21Z');
      const err = await fails(() => verifyV2Request(r, late), 'SIGV4_EXPIRED', 'Request has expired');
      assert.deepEqual(err.details, { Expires: '2007-03-29T03:40:20Z', ServerTime: '2007-03-29T03:40:21Z' });
    });
  });

  describe('the string to sign', () => {
    const date = 'Tue, 01 Dec 2026 10:00:00 GMT';
    const when = at('2026-12-01T10:00:00Z');

    it('should sign the path-style resource as sent, sub-resources sorted, response-* values decoded', async () => {
      const target = '/bkt/a%20b%2Bc?versionId=v1&response-content-type=text%2Fplain&prefix=x&acl';
      const toSign = `GET\n\n\n${date}\n/bkt/a%20b%2Bc?acl&response-content-type=text/plain&versionId=v1`;
      const r = req('GET', target, { host: 's3.amazonaws.com', date, authorization: `AWS ${AK}:${sign(toSign)}` });
      assert.equal((await verifyV2Request(r, when)).accessKeyId, AK);
    });

    it('should take a path-style bucket request signed over `/bucket/`, as botocore signs it', async () => {
      const toSign = `GET\n\n\n${date}\n/bkt/`;
      const headers = { host: 's3.amazonaws.com', date, authorization: `AWS ${AK}:${sign(toSign)}` };
      const r = req('GET', '/bkt?list-type=2&prefix=a%2F', headers);
      assert.equal((await verifyV2Request(r, when)).accessKeyId, AK);
      const object = withAuthorization(req('GET', '/bkt/k', headers), `AWS ${AK}:${sign(`GET\n\n\n${date}\n/bkt/k/`)}`);
      await fails(() => verifyV2Request(object, when), 'SIGV4_SIGNATURE_MISMATCH');
    });

    it('should sign uploadId and partNumber of an UploadPart', async () => {
      const toSign = `PUT\n\n\n${date}\n/bkt/k?partNumber=2&uploadId=abc`;
      const r = req('PUT', '/bkt/k?uploadId=abc&partNumber=2', {
        host: 's3.amazonaws.com',
        date,
        authorization: `AWS ${AK}:${sign(toSign)}`,
      });
      assert.equal((await verifyV2Request(r, when)).accessKeyId, AK);
    });

    it('should leave the Date line empty when x-amz-date is sent, and sign x-amz-date among the x-amz-*', async () => {
      const toSign = `DELETE\n\n\n\nx-amz-date:${date}\n/bkt/k`;
      const r = req('DELETE', '/bkt/k', {
        host: 's3.amazonaws.com',
        date: 'Mon, 01 Jan 2001 00:00:00 GMT',
        'x-amz-date': date,
        authorization: `AWS ${AK}:${sign(toSign)}`,
      });
      assert.equal((await verifyV2Request(r, when)).accessKeyId, AK);
    });

    it('should sign header bytes above 0x7F as sent (raw UTF-8 metadata)', async () => {
      const value = Buffer.from('café', 'utf8').toString('latin1');
      const toSign = `PUT\n\n\n${date}\nx-amz-meta-name:${value}\n/bkt/k`;
      const r = req('PUT', '/bkt/k', {
        host: 's3.amazonaws.com',
        date,
        'x-amz-meta-name': value,
        authorization: `AWS ${AK}:${sign(toSign)}`,
      });
      assert.equal((await verifyV2Request(r, when)).accessKeyId, AK);
    });

    it('should take x-amz-* and Content-Type from the query of a presigned URL (as botocore signs)', async () => {
      const expires = String(Date.parse('2026-12-01T11:00:00Z') / 1000);
      const toSign = `PUT\n\ntext/plain\n${expires}\nx-amz-acl:private\n/bkt/k`;
      const q =
        `AWSAccessKeyId=${AK}&Signature=${encodeURIComponent(sign(toSign))}&Expires=${expires}` +
        '&content-type=text%2Fplain&x-amz-acl=private';
      const auth = await verifyV2Request(req('PUT', `/bkt/k?${q}`, { host: 's3.amazonaws.com' }), when);
      assert.equal(auth.via, 'query');
    });

    it('should leave a hex x-amz-content-sha256 to the decoder, and refuse a streaming signed payload', async () => {
      const sha = 'a'.repeat(64);
      const toSign = `PUT\n\n\n${date}\nx-amz-content-sha256:${sha}\n/bkt/k`;
      const headers = {
        host: 's3.amazonaws.com',
        date,
        'x-amz-content-sha256': sha,
        authorization: `AWS ${AK}:${sign(toSign)}`,
      };
      const auth = await verifyV2Request(req('PUT', '/bkt/k', headers), when);
      assert.deepEqual(auth.payload, { kind: 'signed', sha256: sha });
      const streaming = { ...headers, 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' };
      await fails(() => verifyV2Request(req('PUT', '/bkt/k', streaming), when), 'SIGV4_INVALID_CONTENT_SHA256');
    });
  });

  describe('errors', () => {
    const when = at('2007-03-27T19:36:42Z');

    it('should refuse a tampered signature with SignatureDoesNotMatch, showing the string to sign', async () => {
      const r = withAuthorization(OBJECT_GET, `AWS ${AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMV=`);
      const err = await fails(() => verifyV2Request(r, when), 'SIGV4_SIGNATURE_MISMATCH', MISMATCH);
      const toSign = 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg';
      assert.deepEqual(err.details, {
        AWSAccessKeyId: AK,
        StringToSign: toSign,
        SignatureProvided: 'bWq2s1WEIj+Ydj0vQ697zp+IXMV=',
        StringToSignBytes: Array.from(Buffer.from(toSign), (b) => b.toString(16).padStart(2, '0')).join(' '),
      });
    });

    it('should refuse a request signed with another secret', async () => {
      const toSign = 'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg';
      const r = withAuthorization(OBJECT_GET, `AWS ${AK}:${sign(toSign, 'not-the-secret')}`);
      await fails(() => verifyV2Request(r, when), 'SIGV4_SIGNATURE_MISMATCH', MISMATCH);
    });

    it('should refuse a changed path, method or sub-resource', async () => {
      for (const r of [
        { ...OBJECT_GET, path: '/photos/kitten.jpg' },
        { ...OBJECT_GET, method: 'DELETE' },
        { ...OBJECT_GET, query: 'acl' },
      ])
        await fails(() => verifyV2Request(r, when), 'SIGV4_SIGNATURE_MISMATCH');
    });

    it('should never show an SSE-C key in the error', async () => {
      const key = Buffer.alloc(32, 7).toString('base64');
      const r = { ...OBJECT_GET, headers: { ...OBJECT_GET.headers, 'x-amz-server-side-encryption-customer-key': key } };
      const err = await fails(() => verifyV2Request(r, when), 'SIGV4_SIGNATURE_MISMATCH', undefined, key);
      assert.match(err.details['StringToSign']!, /^x-amz-server-side-encryption-customer-key:\*\*\*\*\*$/m);
    });

    it('should refuse an unknown access key with InvalidAccessKeyId', async () => {
      const r = withAuthorization(OBJECT_GET, 'AWS AKIAUNKNOWN:bWq2s1WEIj+Ydj0vQ697zp+IXMU=');
      const err = await fails(
        () => verifyV2Request(r, when),
        'SIGV4_UNKNOWN_ACCESS_KEY',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
      assert.deepEqual(err.details, { AWSAccessKeyId: 'AKIAUNKNOWN' });
    });

    it('should refuse a Date more than 15 minutes off with RequestTimeTooSkewed', async () => {
      const err = await fails(
        () => verifyV2Request(OBJECT_GET, at('2007-03-27T19:51:43Z')),
        'SIGV4_TIME_SKEWED',
        'The difference between the request time and the current time is too large.',
      );
      assert.deepEqual(err.details, {
        RequestTime: 'Tue, 27 Mar 2007 19:36:42 +0000',
        ServerTime: '2007-03-27T19:51:43Z',
        MaxAllowedSkewMilliseconds: '900000',
      });
      assert.equal((await verifyV2Request(OBJECT_GET, at('2007-03-27T19:51:42Z'))).accessKeyId, AK);
    });

    it('should refuse a request without a valid Date or x-amz-date', async () => {
      for (const date of [undefined, 'yesterday']) {
        const r = { ...OBJECT_GET, headers: { ...OBJECT_GET.headers, date } };
        await fails(
          () => verifyV2Request(r, when),
          'SIGV4_MISSING_AUTH',
          'AWS authentication requires a valid Date or x-amz-date header',
        );
      }
    });

    it('should refuse a malformed Authorization header with InvalidArgument', async () => {
      for (const value of ['AWS nocolon', `AWS ${AK}:`, 'AWS :sig']) {
        const r = { ...OBJECT_GET, headers: { ...OBJECT_GET.headers, authorization: value } };
        const err = await fails(
          () => verifyV2Request(r, when),
          'SIGV4_V2_MALFORMED_AUTH',
          'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature',
        );
        assert.deepEqual(err.details, { ArgumentName: 'Authorization', ArgumentValue: value });
      }
    });

    it('should refuse query authentication without all three parameters, or with a bad Expires', async () => {
      for (const q of [`AWSAccessKeyId=${AK}&Signature=x`, 'Signature=x&Expires=1', `AWSAccessKeyId=${AK}&Expires=1`]) {
        await fails(
          () => verifyV2Request(req('GET', `/b/k?${q}`, {}), when),
          'SIGV4_V2_QUERY_PARAMS',
          'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
        );
      }
      const badExpires = req('GET', `/b/k?AWSAccessKeyId=${AK}&Signature=x&Expires=soon`, {});
      await fails(
        () => verifyV2Request(badExpires, when),
        'SIGV4_V2_QUERY_PARAMS',
        'Invalid date (should be seconds since epoch): soon',
      );
    });
  });
});

describe('verifyRequest with SigV2', () => {
  it('should verify SigV2 only with opts.sigV2, and refuse it otherwise as before', async () => {
    assert.equal((await verifyRequest(OBJECT_GET, at('2007-03-27T19:36:42Z'))).signatureVersion, 'AWS');
    const off = at('2007-03-27T19:36:42Z', { sigV2: false });
    await fails(
      () => verifyRequest(OBJECT_GET, off),
      'SIGV4_UNSUPPORTED_ALGORITHM',
      'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
    );
    const query = req('GET', DOC_QUERY, { host: 'johnsmith.s3.amazonaws.com' });
    await fails(() => verifyRequest(query, off), 'SIGV4_UNSUPPORTED_ALGORITHM');
  });

  it('should tell SigV2 requests from others', () => {
    assert.equal(isSigV2Request(OBJECT_GET), true);
    assert.equal(isSigV2Request(req('GET', '/b?Signature=x', {})), true);
    assert.equal(isSigV2Request(req('GET', '/b', { authorization: 'AWS4-HMAC-SHA256 Credential=x' })), false);
    assert.equal(isSigV2Request(req('GET', '/b?X-Amz-Signature=x', {})), false);
    assert.equal(isSigV2Request(req('GET', '/b?prefix=AWSAccessKeyId', {})), false);
  });

  it('should check its options', async () => {
    await assert.rejects(() => verifyRequest(OBJECT_GET, { getSecretKey: keys, sigV2: 'yes' as unknown as boolean }), {
      name: 'TypeError',
      message: 'opts.sigV2 must be a boolean',
    });
    await assert.rejects(() => verifyRequest(OBJECT_GET, { getSecretKey: keys, virtualHostBucket: 'x' as never }), {
      name: 'TypeError',
      message: 'opts.virtualHostBucket must be a function',
    });
  });
});

describe('verifyPostForm with SigV2', () => {
  const policy = Buffer.from(
    JSON.stringify({
      expiration: '2030-01-01T00:00:00Z',
      conditions: [{ bucket: 'bkt' }, ['starts-with', '$key', 'up/']],
    }),
  ).toString('base64');
  const form = (fields: Record<string, string>) => new Map(Object.entries(fields));
  const opts = (sigV2: boolean): VerifyOptions => ({ getSecretKey: keys, sigV2 });

  it('should verify the base64 HMAC-SHA1 of the policy under the key of AWSAccessKeyId', async () => {
    const fields = form({ awsaccesskeyid: AK, policy, signature: sign(policy), key: 'up/a' });
    const auth = await verifyPostForm(fields, opts(true));
    assert.deepEqual(auth, { accessKeyId: AK, signatureVersion: 'AWS', amzDate: '', scope: '' });
  });

  it('should refuse a tampered signature, an unknown key and a missing field', async () => {
    const tampered = form({ awsaccesskeyid: AK, policy, signature: sign(policy + 'x') });
    const err = await fails(() => verifyPostForm(tampered, opts(true)), 'SIGV4_SIGNATURE_MISMATCH', MISMATCH);
    assert.deepEqual(err.details, { AWSAccessKeyId: AK, SignatureProvided: sign(policy + 'x') });
    const otherKey = form({ awsaccesskeyid: 'AKIAOTHER', policy, signature: sign(policy) });
    await fails(() => verifyPostForm(otherKey, opts(true)), 'SIGV4_UNKNOWN_ACCESS_KEY');
    const noPolicy = form({ awsaccesskeyid: AK, signature: sign(policy) });
    await fails(
      () => verifyPostForm(noPolicy, opts(true)),
      'SIGV4_POST_MISSING_FIELD',
      "Bucket POST must contain a field named 'Policy'.  If it is specified, please check the order of the fields.",
    );
  });

  it('should refuse a SigV2 form without opts.sigV2', async () => {
    const fields = form({ awsaccesskeyid: AK, policy, signature: sign(policy) });
    await fails(() => verifyPostForm(fields, opts(false)), 'SIGV4_UNSUPPORTED_ALGORITHM');
  });

  it('should not ask the policy to name AWSAccessKeyId and signature of a SigV2 form', () => {
    const fields = form({ awsaccesskeyid: AK, policy, signature: sign(policy), key: 'up/a', bucket: 'bkt' });
    assert.deepEqual(checkPostPolicy(policy, fields, Date.parse('2026-12-01T00:00:00Z')), {});
    fields.set('x-amz-algorithm', 'AWS4-HMAC-SHA256');
    assert.throws(() => checkPostPolicy(policy, fields, Date.parse('2026-12-01T00:00:00Z')), {
      code: 'SIGV4_POST_POLICY_DENIED',
      message: 'Invalid according to Policy: Extra input fields: awsaccesskeyid',
    });
  });
});
