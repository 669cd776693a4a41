import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { signRequest, verifyRequest, type Headers, type SignableRequest, type VerifyOptions } from '../src/index.ts';
import { ACCESS_KEY, SECRET_KEY, amzDateMs, fixtureNames, loadFixture, toRequest, type Fixture } from './fixtures.ts';
import { assertSigV4Error, mutateAt } from './helpers.ts';

const keys = (k: string) => (k === ACCESS_KEY ? SECRET_KEY : undefined);
const at = (f: Fixture, driftMs = 0): VerifyOptions => ({
  getSecretKey: keys,
  now: () => amzDateMs(f.amzDate) + driftMs,
});
const NOW = new Date('2026-11-27T07:00:00Z');
const nowOpts: VerifyOptions = { getSecretKey: keys, now: () => NOW.getTime() };

function signedHeaderNames(f: Fixture): string[] {
  const m = /SignedHeaders=([^,\s]+)/.exec(String(f.headers['authorization']));
  return m![1]!.split(';');
}

function withHeader(req: SignableRequest, name: string, value: string | undefined): SignableRequest {
  const headers: Headers = { ...req.headers, [name]: value };
  if (value === undefined) delete headers[name];
  return { ...req, headers };
}

/** A request signed with signRequest, as a server would receive it. */
function signed(
  url: string,
  extra: Record<string, string> = {},
  input: Partial<Parameters<typeof signRequest>[0]> = {},
): SignableRequest {
  const headers = signRequest({
    method: 'PUT',
    url,
    headers: extra,
    body: Buffer.from('hello'),
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    now: NOW,
    ...input,
  });
  const u = new URL(url);
  return { method: 'PUT', path: u.pathname, query: u.search.slice(1), headers };
}

describe('verifyRequest', () => {
  describe('captured client requests', () => {
    const names = fixtureNames();
    it('should have all 61 captures', () => assert.equal(names.length, 61));

    for (const name of names) {
      it(`should verify ${name}`, async () => {
        const f = loadFixture(name);
        const auth = await verifyRequest(toRequest(f), at(f));
        assert.equal(auth.accessKeyId, ACCESS_KEY);
        assert.equal(auth.via, 'header');
        assert.equal(auth.amzDate, f.amzDate);
        assert.equal(auth.scope, `${f.amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`);
        assert.match(auth.signature, /^[0-9a-f]{64}$/);
        const sha = String(f.headers['x-amz-content-sha256']);
        const kind = /^[0-9a-f]{64}$/.test(sha)
          ? 'signed'
          : { 'UNSIGNED-PAYLOAD': 'unsigned', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer' }[sha];
        assert.equal(auth.payload.kind, kind);
      });

      it(`should reject ${name} with one byte of a signed header or of the path changed`, async () => {
        const f = loadFixture(name);
        const req = toRequest(f);
        for (const h of signedHeaderNames(f)) {
          const value = String(f.headers[h]);
          if (h === 'x-amz-content-sha256' && !/^[0-9a-f]{64}$/.test(value)) continue; // a mode name, not a hash
          // x-amz-date: change the seconds only, so the date stays valid and within the skew
          const index = h === 'x-amz-date' ? 14 : Math.floor(value.length / 2);
          await assertSigV4Error(
            () => verifyRequest(withHeader(req, h, mutateAt(value, index)), at(f)),
            'SIGV4_SIGNATURE_MISMATCH',
          );
        }
        await assertSigV4Error(
          () => verifyRequest({ ...req, path: mutateAt(req.path, 6) }, at(f)),
          'SIGV4_SIGNATURE_MISMATCH',
        );
        await assertSigV4Error(
          () => verifyRequest({ ...req, method: 'POST' === req.method ? 'PUT' : 'POST' }, at(f)),
          'SIGV4_SIGNATURE_MISMATCH',
        );
        if (req.query !== '') {
          await assertSigV4Error(
            () => verifyRequest({ ...req, query: `${req.query}&x=1` }, at(f)),
            'SIGV4_SIGNATURE_MISMATCH',
          );
        }
      });
    }

    it('should accept a capture within the 15-minute skew and reject it beyond', async () => {
      const f = loadFixture('s3cmd-01-PUT');
      await verifyRequest(toRequest(f), at(f, 14 * 60_000));
      await verifyRequest(toRequest(f), at(f, -14 * 60_000));
      const err = await assertSigV4Error(
        () => verifyRequest(toRequest(f), at(f, 15 * 60_000 + 1000)),
        'SIGV4_TIME_SKEWED',
        'The difference between the request time and the current time is too large.',
      );
      assert.deepEqual(err.details, {
        RequestTime: f.amzDate,
        ServerTime: '2026-11-27T07:16:19Z',
        MaxAllowedSkewMilliseconds: '900000',
      });
    });

    it('should report the canonical request and string to sign on a mismatch, never the secret', async () => {
      const f = loadFixture('awscli-01-PUT');
      const err = await assertSigV4Error(
        () => verifyRequest(withHeader(toRequest(f), 'host', '127.0.0.1:9103'), at(f)),
        'SIGV4_SIGNATURE_MISMATCH',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      );
      assert.equal(err.details['AWSAccessKeyId'], ACCESS_KEY);
      assert.match(err.details['SignatureProvided']!, /^dc56a91a/);
      assert.ok(err.details['CanonicalRequest']!.startsWith('PUT\n/bkt/api.txt\n\nhost:127.0.0.1:9103\n'));
      assert.ok(
        err.details['StringToSign']!.startsWith(`AWS4-HMAC-SHA256\n${f.amzDate}\n20261127/us-east-1/s3/aws4_request\n`),
      );
      assert.match(err.details['CanonicalRequestBytes']!, /^50 55 54 0a/);
    });

    it('should reject an unsigned x-amz-* header or Content-MD5 with SIGV4_UNSIGNED_HEADERS', async () => {
      const f = loadFixture('awscli-01-PUT');
      const req = withHeader(
        withHeader(toRequest(f), 'x-amz-meta-color', 'red'),
        'content-md5',
        'VmaDrOFhBp+TanS9/JIuag==',
      );
      const err = await assertSigV4Error(
        () => verifyRequest(req, at(f)),
        'SIGV4_UNSIGNED_HEADERS',
        'There were headers present in the request which were not signed',
      );
      assert.deepEqual(err.details, { HeadersNotSigned: 'content-md5, x-amz-meta-color' });
    });

    it('should accept unsigned non-x-amz headers (amz-sdk-invocation-id, user-agent, expect)', async () => {
      const f = loadFixture('awscli-01-PUT');
      await verifyRequest(withHeader(toRequest(f), 'amz-sdk-invocation-id', 'changed'), at(f));
    });

    it('should reject a missing x-amz-content-sha256 with SIGV4_MISSING_CONTENT_SHA256', async () => {
      const f = loadFixture('s3cmd-01-PUT');
      await assertSigV4Error(
        () => verifyRequest(withHeader(toRequest(f), 'x-amz-content-sha256', undefined), at(f)),
        'SIGV4_MISSING_CONTENT_SHA256',
        'Missing required header for this request: x-amz-content-sha256',
      );
    });

    it('should reject a malformed x-amz-content-sha256 with SIGV4_INVALID_CONTENT_SHA256', async () => {
      const f = loadFixture('s3cmd-01-PUT');
      await assertSigV4Error(
        () => verifyRequest(withHeader(toRequest(f), 'x-amz-content-sha256', 'abc'), at(f)),
        'SIGV4_INVALID_CONTENT_SHA256',
      );
    });
  });

  describe('authorization header', () => {
    it('should verify what signRequest signs', async () => {
      const auth = await verifyRequest(signed('http://127.0.0.1:9000/bkt/key.txt?x-id=PutObject'), nowOpts);
      assert.equal(auth.payload.kind, 'signed');
    });

    it('should stop accepting the old secret as soon as the user secret changes (signing keys are cached)', async () => {
      let secret = SECRET_KEY;
      const opts: VerifyOptions = { ...nowOpts, getSecretKey: (k) => (k === ACCESS_KEY ? secret : undefined) };
      const old = signed('http://127.0.0.1:9000/bkt/rotated');
      await verifyRequest(old, opts);
      await verifyRequest(old, opts); // served from the cache
      secret = 'aNewSecretKeyAfterRotation0000000000000';
      await assertSigV4Error(() => verifyRequest(old, opts), 'SIGV4_SIGNATURE_MISMATCH', undefined, secret);
      await verifyRequest(signed('http://127.0.0.1:9000/bkt/rotated', {}, { secretAccessKey: secret }), opts);
      secret = SECRET_KEY;
      await verifyRequest(old, opts);
    });

    it('should verify a header value with bytes above 0x7F over the raw bytes the client sent', async () => {
      // What botocore does: the canonical request holds the value's UTF-8 bytes, and the same bytes go on the wire,
      // where Node decodes them as latin1 (one char per byte). Signed here independently of the package.
      const value = 'héllo wörld ✓';
      const date = '20261127T070000Z';
      const scope = '20261127/us-east-1/s3/aws4_request';
      const payload = createHash('sha256').update('').digest('hex');
      const canonical = Buffer.concat([
        Buffer.from(`PUT\n/bkt/k\n\nhost:h\nx-amz-content-sha256:${payload}\nx-amz-date:${date}\nx-amz-meta-name:`),
        Buffer.from(value, 'utf8'),
        Buffer.from(`\n\nhost;x-amz-content-sha256;x-amz-date;x-amz-meta-name\n${payload}`),
      ]);
      const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
      let key: Buffer | string = `AWS4${SECRET_KEY}`;
      for (const part of ['20261127', 'us-east-1', 's3', 'aws4_request'])
        key = createHmac('sha256', key).update(part).digest();
      const signature = createHmac('sha256', key).update(toSign).digest('hex');
      const headers: Headers = {
        host: 'h',
        'x-amz-content-sha256': payload,
        'x-amz-date': date,
        'x-amz-meta-name': Buffer.from(value, 'utf8').toString('latin1'),
        authorization:
          `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, ` +
          `SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-meta-name, Signature=${signature}`,
      };
      await verifyRequest({ method: 'PUT', path: '/bkt/k', query: '', headers }, nowOpts);
      // signRequest signs a value the same way Node will send it: byte for char.
      await verifyRequest(
        signed('http://h/bkt/k', { 'x-amz-meta-name': headers['x-amz-meta-name'] as string }),
        nowOpts,
      );
    });

    it('should accept an async getSecretKey', async () => {
      await verifyRequest(signed('http://127.0.0.1:9000/bkt/k'), { ...nowOpts, getSecretKey: async (k) => keys(k) });
    });

    it('should verify keys however the client escaped them', async () => {
      // signed as the WHATWG URL escapes it; sent as other clients escape the same key
      const req = signed("http://h:1/bkt/a b!*'()+~ü=@,;:$&.txt");
      await verifyRequest(req, nowOpts);
      for (const path of [
        "/bkt/a%20b!*'()+~%C3%BC=@,;:$&.txt",
        '/bkt/a%20b%21%2A%27%28%29%2B%7E%c3%bc%3D%40%2C%3B%3A%24%26.txt',
      ]) {
        await verifyRequest({ ...req, path }, nowOpts);
      }
    });

    it('should keep an escaped slash distinct from a path separator', async () => {
      const req = signed('http://h:1/bkt/a%2Fb');
      await verifyRequest(req, nowOpts);
      await assertSigV4Error(() => verifyRequest({ ...req, path: '/bkt/a/b' }, nowOpts), 'SIGV4_SIGNATURE_MISMATCH');
    });

    it('should not normalise the path (S3 signs it as sent)', async () => {
      const req = signed('http://h:1/bkt/a//b');
      assert.equal(req.path, '/bkt/a//b');
      await verifyRequest(req, nowOpts);
      await assertSigV4Error(() => verifyRequest({ ...req, path: '/bkt/a/b' }, nowOpts), 'SIGV4_SIGNATURE_MISMATCH');
    });

    it('should sort the query and give parameters without "=" an empty value', async () => {
      const req = signed('http://h:1/bkt/k?uploads&b=2&a=1&a=0');
      await verifyRequest({ ...req, query: 'a=0&a=1&b=2&uploads=' }, nowOpts);
    });

    it('should collapse whitespace in header values', async () => {
      const req = signed('http://h:1/bkt/k', { 'x-amz-meta-note': 'a  b\t c' });
      await verifyRequest(withHeader(req, 'x-amz-meta-note', '  a b c  '), nowOpts);
    });

    it('should accept an Authorization header without spaces after the commas', async () => {
      const req = signed('http://h:1/bkt/k');
      const auth = String(req.headers['authorization']).replace(/, /g, ',');
      await verifyRequest(withHeader(req, 'authorization', auth), nowOpts);
    });

    it('should reject an unknown access key with SIGV4_UNKNOWN_ACCESS_KEY', async () => {
      const req = signed('http://h:1/bkt/k', {}, { accessKeyId: 'AKIAUNKNOWN' });
      const err = await assertSigV4Error(
        () => verifyRequest(req, nowOpts),
        'SIGV4_UNKNOWN_ACCESS_KEY',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
      assert.deepEqual(err.details, { AWSAccessKeyId: 'AKIAUNKNOWN' });
    });

    it('should reject a wrong secret with SIGV4_SIGNATURE_MISMATCH', async () => {
      const req = signed('http://h:1/bkt/k', {}, { secretAccessKey: 'wrong-secret-000000000000000000000' });
      await assertSigV4Error(() => verifyRequest(req, nowOpts), 'SIGV4_SIGNATURE_MISMATCH');
    });

    it('should reject a wrong region with SIGV4_MALFORMED_AUTH and details.Region', async () => {
      const req = signed('http://h:1/bkt/k', {}, { region: 'eu-west-1' });
      const err = await assertSigV4Error(
        () => verifyRequest(req, nowOpts),
        'SIGV4_MALFORMED_AUTH',
        "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'",
      );
      assert.deepEqual(err.details, { Region: 'us-east-1' });
      await verifyRequest(req, { ...nowOpts, region: 'eu-west-1' });
    });

    it('should reject a malformed Authorization header with SIGV4_MALFORMED_AUTH', async () => {
      const req = signed('http://h:1/bkt/k');
      const auth = String(req.headers['authorization']);
      await assertSigV4Error(
        () => verifyRequest(withHeader(req, 'authorization', auth.replace(/, Signature=.*/, '')), nowOpts),
        'SIGV4_MALFORMED_AUTH',
        'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
      );
      await assertSigV4Error(
        () => verifyRequest(withHeader(req, 'authorization', auth.replace('/s3/aws4_request', '/s3')), nowOpts),
        'SIGV4_MALFORMED_AUTH',
        'The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
      );
      await assertSigV4Error(
        () =>
          verifyRequest(withHeader(req, 'authorization', auth.replace('/us-east-1/s3/', '/us-east-1/ec2/')), nowOpts),
        'SIGV4_MALFORMED_AUTH',
      );
    });

    it('should reject a credential date that is not the X-Amz-Date day', async () => {
      const req = signed('http://h:1/bkt/k');
      const auth = String(req.headers['authorization']).replace('/20261127/', '/20261126/');
      await assertSigV4Error(
        () => verifyRequest(withHeader(req, 'authorization', auth), nowOpts),
        'SIGV4_MALFORMED_AUTH',
      );
    });

    it('should reject a request without a valid date as AccessDenied (SIGV4_MISSING_AUTH)', async () => {
      const req = withHeader(signed('http://h:1/bkt/k'), 'x-amz-date', undefined);
      await assertSigV4Error(
        () => verifyRequest(req, nowOpts),
        'SIGV4_MISSING_AUTH',
        'AWS authentication requires a valid Date or x-amz-date header',
      );
    });

    it('should reject a skewed request with SIGV4_TIME_SKEWED', async () => {
      const req = signed('http://h:1/bkt/k', {}, { now: new Date(NOW.getTime() - 16 * 60_000) });
      await assertSigV4Error(() => verifyRequest(req, nowOpts), 'SIGV4_TIME_SKEWED');
      await verifyRequest(req, { ...nowOpts, maxSkewMs: 17 * 60_000 });
    });

    it('should reject SigV2 and other algorithms with SIGV4_UNSUPPORTED_ALGORITHM', async () => {
      for (const authorization of [
        'AWS AKIAEXAMPLEKEY000001:frJIUN8DYpKDtOLCwo//yllqDzg=',
        'AWS4-HMAC-SHA512 Credential=x',
      ]) {
        await assertSigV4Error(
          () =>
            verifyRequest({ method: 'GET', path: '/bkt', query: '', headers: { host: 'h', authorization } }, nowOpts),
          'SIGV4_UNSUPPORTED_ALGORITHM',
          'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
        );
      }
    });

    it('should reject an anonymous request with SIGV4_MISSING_AUTH', async () => {
      await assertSigV4Error(
        () => verifyRequest({ method: 'GET', path: '/bkt/k', query: 'list-type=2', headers: { host: 'h' } }, nowOpts),
        'SIGV4_MISSING_AUTH',
        'Access Denied',
      );
    });
  });

  describe('options', () => {
    const req: SignableRequest = { method: 'GET', path: '/', query: '', headers: {} };
    it('should throw TypeError naming opts.getSecretKey', async () => {
      await assert.rejects(verifyRequest(req, {} as VerifyOptions), {
        name: 'TypeError',
        message: /opts\.getSecretKey/,
      });
    });
    it('should throw TypeError naming opts.region', async () => {
      await assert.rejects(verifyRequest(req, { getSecretKey: keys, region: '' }), {
        name: 'TypeError',
        message: /opts\.region/,
      });
    });
    it('should throw RangeError naming opts.maxSkewMs', async () => {
      await assert.rejects(verifyRequest(req, { getSecretKey: keys, maxSkewMs: -1 }), {
        name: 'RangeError',
        message: /opts\.maxSkewMs/,
      });
    });
  });
});

describe('SignatureDoesNotMatch details', () => {
  it('should show the canonical request with SSE-C key values replaced by *****, as a header and in the query', async () => {
    const key = Buffer.alloc(32, 3).toString('base64');
    const url = new URL(
      `http://127.0.0.1:9000/b/k?x-amz-copy-source-server-side-encryption-customer-key=${encodeURIComponent(key)}`,
    );
    const headers = signRequest({
      method: 'PUT',
      url,
      headers: { 'x-amz-server-side-encryption-customer-key': key },
      body: 'UNSIGNED-PAYLOAD',
      accessKeyId: ACCESS_KEY,
      secretAccessKey: 'some-other-secret',
    });
    const err = await assertSigV4Error(
      () =>
        verifyRequest(
          { method: 'PUT', path: url.pathname, query: url.search.slice(1), headers },
          {
            getSecretKey: () => SECRET_KEY,
            now: () =>
              Date.parse(
                `${headers['x-amz-date']!.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')}`,
              ),
          },
        ),
      'SIGV4_SIGNATURE_MISMATCH',
    );
    const canonical = String(err.details?.CanonicalRequest);
    assert.match(canonical, /^x-amz-server-side-encryption-customer-key:\*{5}$/m);
    assert.match(canonical, /x-amz-copy-source-server-side-encryption-customer-key=\*{5}/);
    assert.ok(
      !JSON.stringify(err.details).includes(key) && !JSON.stringify(err.details).includes(encodeURIComponent(key)),
    );
  });
});
