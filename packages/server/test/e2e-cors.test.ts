/**
 * Bucket CORS against the real server: configuration with the JS SDK and the aws CLI, the browser's preflight
 * (OPTIONS, no credentials), and the CORS headers on actual requests, errors included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeleteBucketCorsCommand, GetBucketCorsCommand, PutBucketCorsCommand } from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { describeRun } from './helpers/clients.ts';
import { assertS3Error, objectPath, parseErrorXml, signedSend } from './helpers/http.ts';
import { rejectsS3 } from './helpers/assert.ts';

const BUCKET = 'cors-bucket';
const PLAIN = 'no-cors-bucket';
const APP = 'https://app.example';

const RULES = [
  {
    ID: 'app',
    AllowedOrigins: [APP],
    AllowedMethods: ['PUT', 'POST', 'GET'],
    AllowedHeaders: ['*'],
    ExposeHeaders: ['ETag', 'x-amz-request-id'],
    MaxAgeSeconds: 600,
  },
  { AllowedOrigins: ['https://*.partner.example'], AllowedMethods: ['GET', 'HEAD'], AllowedHeaders: ['range'] },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
];

describe('bucket CORS', () => {
  const t = serverForSuite([BUCKET, PLAIN]);

  const preflight = (bucket: string, headers: Record<string, string>, key = 'some/key') =>
    fetch(`${t.server.url}${objectPath(bucket, key)}`, { method: 'OPTIONS', headers });

  it('should store the rules and give them back; 404 NoSuchCORSConfiguration before and after', async () => {
    await rejectsS3(t.sdk.send(new GetBucketCorsCommand({ Bucket: BUCKET })), 404, 'NoSuchCORSConfiguration');
    await t.sdk.send(new PutBucketCorsCommand({ Bucket: BUCKET, CORSConfiguration: { CORSRules: RULES } }));
    const got = await t.sdk.send(new GetBucketCorsCommand({ Bucket: BUCKET }));
    assert.deepEqual(
      got.CORSRules,
      [
        RULES[0],
        { ...RULES[1], ExposeHeaders: undefined },
        { ...RULES[2], AllowedHeaders: undefined, ExposeHeaders: undefined },
      ].map((r) => JSON.parse(JSON.stringify(r))),
    );
  });

  it('should refuse methods S3 does not take and origins with two wildcards, with 400 InvalidRequest', async () => {
    const bad = async (rule: Record<string, string[]>, message: string) => {
      const e = await rejectsS3(
        t.sdk.send(
          new PutBucketCorsCommand({
            Bucket: PLAIN,
            CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['GET'], ...rule }] },
          }),
        ),
        400,
        'InvalidRequest',
      );
      assert.equal(e.message, message);
    };
    await bad(
      { AllowedMethods: ['PATCH'] },
      'Found unsupported HTTP method in CORS config. Unsupported method is PATCH',
    );
    await bad(
      { AllowedOrigins: ['https://*.*.example'] },
      'AllowedOrigin "https://*.*.example" can not have more than one wildcard.',
    );
    await rejectsS3(t.sdk.send(new GetBucketCorsCommand({ Bucket: PLAIN })), 404, 'NoSuchCORSConfiguration');
  });

  it("should answer a preflight from an allowed origin with the rule's headers, without credentials", async () => {
    const r = await preflight(BUCKET, {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'Content-Type, X-Amz-Date',
    });
    assert.equal(r.status, 200, await r.text());
    assert.equal(r.headers.get('access-control-allow-origin'), APP);
    assert.equal(r.headers.get('access-control-allow-methods'), 'PUT, POST, GET');
    assert.equal(r.headers.get('access-control-allow-headers'), 'content-type, x-amz-date');
    assert.equal(r.headers.get('access-control-expose-headers'), 'ETag, x-amz-request-id');
    assert.equal(r.headers.get('access-control-max-age'), '600');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    // A wildcard origin rule, and one wildcard in an origin pattern.
    const any = await preflight(BUCKET, {
      Origin: 'https://elsewhere.example',
      'Access-Control-Request-Method': 'GET',
    });
    assert.equal(any.status, 200);
    assert.equal(any.headers.get('access-control-allow-origin'), '*');
    assert.equal(any.headers.get('access-control-allow-credentials'), null);
    const partner = await preflight(BUCKET, {
      Origin: 'https://eu.partner.example',
      'Access-Control-Request-Method': 'HEAD',
      'Access-Control-Request-Headers': 'Range',
    });
    assert.equal(partner.status, 200);
    assert.equal(partner.headers.get('access-control-allow-origin'), 'https://eu.partner.example');
  });

  it('should refuse preflights that no rule allows, and those of a bucket without CORS, with 403 AccessForbidden', async () => {
    const check = async (r: Response, status: number, code: string, message?: string) => {
      assert.equal(r.status, status);
      const e = parseErrorXml(await r.text());
      assert.equal(e['Code'], code);
      if (message) assert.equal(e['Message'], message);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
    };
    await check(
      await preflight(BUCKET, { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT' }),
      403,
      'AccessForbidden',
    );
    await check(
      await preflight(BUCKET, {
        Origin: 'https://eu.partner.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'x-custom',
      }),
      403,
      'AccessForbidden',
    );
    await check(
      await preflight(BUCKET, { Origin: APP, 'Access-Control-Request-Method': 'DELETE' }),
      403,
      'AccessForbidden',
    );
    await check(
      await preflight(PLAIN, { Origin: APP, 'Access-Control-Request-Method': 'GET' }),
      403,
      'AccessForbidden',
      'CORSResponse: CORS is not enabled for this bucket.',
    );
    await check(
      await preflight(BUCKET, { 'Access-Control-Request-Method': 'GET' }),
      400,
      'BadRequest',
      'Insufficient information. Origin request header needed.',
    );
  });

  it('should put the CORS headers on allowed actual requests, error responses included, and only there', async () => {
    const put = await signedSend(t.server, {
      method: 'PUT',
      path: objectPath(BUCKET, 'page.txt'),
      headers: { origin: APP },
      body: Buffer.from('hi'),
    });
    assert.equal(put.status, 200);
    assert.equal(put.headers['access-control-allow-origin'], APP);
    assert.equal(put.headers['access-control-expose-headers'], 'ETag, x-amz-request-id');
    const missing = await signedSend(t.server, {
      method: 'GET',
      path: objectPath(BUCKET, 'nope'),
      headers: { origin: APP },
    });
    assertS3Error(missing, 404, 'NoSuchKey');
    assert.equal(missing.headers['access-control-allow-origin'], APP);
    const refused = await signedSend(t.server, {
      method: 'PUT',
      path: objectPath(BUCKET, 'evil.txt'),
      headers: { origin: 'https://evil.example' },
      body: Buffer.from('x'),
    });
    assert.equal(refused.status, 200); // CORS is the browser's business; the request itself is signed
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    const plain = await signedSend(t.server, { method: 'GET', path: objectPath(BUCKET, 'page.txt') });
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
  });

  it('should be configured with the aws CLI, and deleted with 204', async () => {
    const config = JSON.stringify({
      CORSRules: [{ AllowedOrigins: [APP], AllowedMethods: ['GET'], MaxAgeSeconds: 60 }],
    });
    const put = await t.clients.aws(['s3api', 'put-bucket-cors', '--bucket', PLAIN, '--cors-configuration', config]);
    assert.equal(put.code, 0, describeRun(put));
    const got = await t.clients.aws(['s3api', 'get-bucket-cors', '--bucket', PLAIN]);
    assert.equal(got.code, 0, describeRun(got));
    assert.deepEqual(JSON.parse(got.stdout).CORSRules, [
      { AllowedMethods: ['GET'], AllowedOrigins: [APP], MaxAgeSeconds: 60 },
    ]);
    const del = await t.sdk.send(new DeleteBucketCorsCommand({ Bucket: PLAIN }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await rejectsS3(t.sdk.send(new GetBucketCorsCommand({ Bucket: PLAIN })), 404, 'NoSuchCORSConfiguration');
  });
});
