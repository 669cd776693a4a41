import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { presignUrl, verifyRequest, type Headers, type SignableRequest, type VerifyOptions } from '../src/index.ts';
import { ACCESS_KEY, SECRET_KEY } from './fixtures.ts';
import { assertSigV4Error } from './helpers.ts';

const keys = (k: string) => (k === ACCESS_KEY ? SECRET_KEY : undefined);
const NOW = new Date('2026-11-27T07:00:00Z');
const at = (ms: number): VerifyOptions => ({ getSecretKey: keys, now: () => ms });
const T = NOW.getTime();

function presign(
  url = 'http://127.0.0.1:9000/bkt/a%20key.txt',
  extra: Partial<Parameters<typeof presignUrl>[0]> = {},
): string {
  return presignUrl({
    method: 'GET',
    url,
    expiresIn: 3600,
    accessKeyId: ACCESS_KEY,
    secretAccessKey: SECRET_KEY,
    now: NOW,
    ...extra,
  });
}

/** The request a server receives for a presigned URL. */
function received(url: string, headers: Headers = {}, method = 'GET'): SignableRequest {
  const u = new URL(url);
  return { method, path: u.pathname, query: u.search.slice(1), headers: { host: u.host, ...headers } };
}

function setParam(url: string, name: string, value: string | undefined): string {
  const u = new URL(url);
  const parts = u.search
    .slice(1)
    .split('&')
    .filter((p) => !p.startsWith(`${name}=`));
  if (value !== undefined) parts.push(`${name}=${value}`);
  return `${u.origin}${u.pathname}?${parts.join('&')}`;
}

describe('presignUrl', () => {
  it('should produce a URL that verifyRequest accepts, as UNSIGNED-PAYLOAD via query', async () => {
    const url = presign();
    assert.match(
      url,
      /X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLEKEY000001%2F20261127%2Fus-east-1%2Fs3%2Faws4_request&/,
    );
    const auth = await verifyRequest(received(url), at(T + 60_000));
    assert.equal(auth.via, 'query');
    assert.deepEqual(auth.payload, { kind: 'unsigned' });
    assert.equal(auth.accessKeyId, ACCESS_KEY);
  });

  it('should keep and sign existing query parameters', async () => {
    const url = presign('http://h:1/bkt/k?versionId=abc&response-content-type=text%2Fplain');
    await verifyRequest(received(url), at(T));
    await assertSigV4Error(
      () => verifyRequest(received(setParam(url, 'versionId', 'abd')), at(T)),
      'SIGV4_SIGNATURE_MISMATCH',
    );
  });

  it('should sign extra headers', async () => {
    const url = presign('http://h:1/bkt/k', { method: 'PUT', signedHeaders: { 'Content-Type': 'text/plain' } });
    assert.match(url, /X-Amz-SignedHeaders=content-type%3Bhost/);
    await verifyRequest(received(url, { 'content-type': 'text/plain' }, 'PUT'), at(T));
    await assertSigV4Error(
      () => verifyRequest(received(url, { 'content-type': 'text/html' }, 'PUT'), at(T)),
      'SIGV4_SIGNATURE_MISMATCH',
    );
  });

  it('should reject a tampered signature or path with SIGV4_SIGNATURE_MISMATCH', async () => {
    const url = presign();
    await assertSigV4Error(
      () => verifyRequest(received(setParam(url, 'X-Amz-Signature', '0'.repeat(64))), at(T)),
      'SIGV4_SIGNATURE_MISMATCH',
    );
    await assertSigV4Error(
      () => verifyRequest(received(url.replace('a%20key', 'a%20kez')), at(T)),
      'SIGV4_SIGNATURE_MISMATCH',
    );
    await assertSigV4Error(() => verifyRequest(received(url, {}, 'PUT'), at(T)), 'SIGV4_SIGNATURE_MISMATCH');
  });

  it('should reject an expired URL with SIGV4_EXPIRED and its details', async () => {
    const url = presign(undefined, { expiresIn: 60 });
    await verifyRequest(received(url), at(T + 60_000));
    const err = await assertSigV4Error(
      () => verifyRequest(received(url), at(T + 61_000)),
      'SIGV4_EXPIRED',
      'Request has expired',
    );
    assert.deepEqual(err.details, {
      'X-Amz-Expires': '60',
      Expires: '2026-11-27T07:01:00Z',
      ServerTime: '2026-11-27T07:01:01Z',
    });
  });

  it('should reject X-Amz-Expires 0, 604801, -1 and abc with SIGV4_QUERY_PARAMS', async () => {
    const url = presign();
    const cases: [string, string][] = [
      ['0', 'X-Amz-Expires must be non-negative'],
      [
        '604801',
        'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds',
      ],
      ['-1', 'X-Amz-Expires must be non-negative'],
      ['abc', 'X-Amz-Expires should be a number'],
    ];
    for (const [value, message] of cases) {
      await assertSigV4Error(
        () => verifyRequest(received(setParam(url, 'X-Amz-Expires', value)), at(T)),
        'SIGV4_QUERY_PARAMS',
        message,
      );
    }
    await verifyRequest(received(presign(undefined, { expiresIn: 604800 })), at(T + 604_800_000));
  });

  it('should reject a missing presign parameter with SIGV4_QUERY_PARAMS', async () => {
    for (const name of ['X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires']) {
      await assertSigV4Error(
        () => verifyRequest(received(setParam(presign(), name, undefined)), at(T)),
        'SIGV4_QUERY_PARAMS',
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
  });

  it('should reject a malformed credential or date with SIGV4_QUERY_PARAMS', async () => {
    await assertSigV4Error(
      () => verifyRequest(received(setParam(presign(), 'X-Amz-Credential', 'AKIA%2F2026')), at(T)),
      'SIGV4_QUERY_PARAMS',
      'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
    await assertSigV4Error(
      () => verifyRequest(received(setParam(presign(), 'X-Amz-Date', '2026-11-27')), at(T)),
      'SIGV4_QUERY_PARAMS',
    );
    await assertSigV4Error(
      () => verifyRequest(received(setParam(presign(), 'X-Amz-Algorithm', 'AWS4-HMAC-SHA1')), at(T)),
      'SIGV4_QUERY_PARAMS',
    );
  });

  it('should reject a URL signed too far in the future with SIGV4_TIME_SKEWED', async () => {
    const url = presign(undefined, { now: new Date(T + 16 * 60_000) });
    await assertSigV4Error(() => verifyRequest(received(url), at(T)), 'SIGV4_TIME_SKEWED');
    await verifyRequest(received(presign(undefined, { now: new Date(T + 14 * 60_000) })), at(T));
  });

  it('should reject an unknown access key with SIGV4_UNKNOWN_ACCESS_KEY', async () => {
    const url = presign(undefined, { accessKeyId: 'AKIANOBODY' });
    const err = await assertSigV4Error(() => verifyRequest(received(url), at(T)), 'SIGV4_UNKNOWN_ACCESS_KEY');
    assert.deepEqual(err.details, { AWSAccessKeyId: 'AKIANOBODY' });
  });

  it('should reject a wrong region with details.Region', async () => {
    const url = presign(undefined, { region: 'eu-central-1' });
    const err = await assertSigV4Error(
      () => verifyRequest(received(url), at(T)),
      'SIGV4_QUERY_PARAMS',
      "Error parsing the X-Amz-Credential parameter; the region 'eu-central-1' is wrong; expecting 'us-east-1'",
    );
    assert.deepEqual(err.details, { Region: 'us-east-1' });
  });

  it('should reject a SigV2 presigned URL with SIGV4_UNSUPPORTED_ALGORITHM', async () => {
    const req = received('http://h:1/bkt/k?AWSAccessKeyId=AKIAEXAMPLEKEY000001&Expires=1795763000&Signature=abc%3D');
    await assertSigV4Error(() => verifyRequest(req, at(T)), 'SIGV4_UNSUPPORTED_ALGORITHM');
  });

  it('should reject unsigned x-amz-* headers but allow an unsigned x-amz-content-sha256', async () => {
    const url = presign('http://h:1/bkt/k', { method: 'PUT' });
    const err = await assertSigV4Error(
      () => verifyRequest(received(url, { 'x-amz-acl': 'public-read' }, 'PUT'), at(T)),
      'SIGV4_UNSIGNED_HEADERS',
    );
    assert.deepEqual(err.details, { HeadersNotSigned: 'x-amz-acl' });
    // the payload hash enters the canonical request, so a hash the signer did not use fails the signature
    const sha = 'a'.repeat(64);
    await assertSigV4Error(
      () => verifyRequest(received(url, { 'x-amz-content-sha256': sha }, 'PUT'), at(T)),
      'SIGV4_SIGNATURE_MISMATCH',
    );
    const unsigned = await verifyRequest(received(url, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, 'PUT'), at(T));
    assert.equal(unsigned.payload.kind, 'unsigned');
  });

  it('should throw RangeError naming input.expiresIn', () => {
    for (const expiresIn of [0, 604801, 1.5]) {
      assert.throws(() => presign(undefined, { expiresIn }), { name: 'RangeError', message: /input\.expiresIn/ });
    }
  });
});
