/**
 * Bucket lifecycle against the real server with the JS SDK: the configuration kept and given back, S3's checks,
 * the x-amz-expiration header, and a date rule carried out by the server's own lifecycle run.
 */
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type RunningServer } from './helpers/server.ts';
import { sdkClient } from './helpers/clients.ts';
import { signedSend } from './helpers/http.ts';
import { rejectsS3, sleep } from './helpers/assert.ts';

const BUCKET = 'lifecycle-bucket';
const PAST = new Date('2020-01-01T00:00:00Z');

describe('bucket lifecycle', () => {
  let server: RunningServer;
  let sdk: S3Client;

  before(async () => {
    server = await startServer({ args: ['--lifecycle-interval', '1'] });
    sdk = sdkClient(server, server);
    await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    sdk?.destroy();
    await server?.stop({ removeDir: true });
  });

  const put = (Key: string, Tagging?: string) =>
    sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key, Tagging }));
  const exists = async (Key: string) =>
    sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key })).then(
      () => true,
      (e: { $metadata?: { httpStatusCode?: number } }) => {
        if (e.$metadata?.httpStatusCode === 404) return false;
        throw e;
      },
    );
  const setRules = (Rules: LifecycleRule[]) =>
    sdk.send(new PutBucketLifecycleConfigurationCommand({ Bucket: BUCKET, LifecycleConfiguration: { Rules } }));

  it('should refuse what S3 refuses, and what Coffer cannot do with 501', async () => {
    await rejectsS3(
      sdk.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })),
      404,
      'NoSuchLifecycleConfiguration',
    );
    const bad = async (r: LifecycleRule, status: number, code: string, message?: string) => {
      const e = await rejectsS3(setRules([r]), status, code);
      if (message) assert.equal(e.message, message);
    };
    await bad(
      { Status: 'Enabled', Filter: { Prefix: 'a/' }, Expiration: { Days: 0 } },
      400,
      'InvalidArgument',
      "'Days' for Expiration action must be a positive integer",
    );
    await bad(
      { Status: 'Enabled', Filter: { Prefix: 'a/' }, Expiration: { Date: new Date('2030-01-01T12:00:00Z') } },
      400,
      'InvalidArgument',
      "'Date' must be at midnight GMT",
    );
    await bad(
      { Status: 'Enabled', Filter: { Prefix: 'a/' } },
      400,
      'InvalidRequest',
      'At least one action needs to be specified in a rule',
    );
    await bad(
      { Status: 'Enabled', Filter: { Prefix: 'a/' }, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] },
      501,
      'NotImplemented',
    );
    await bad(
      { Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 0 } },
      400,
      'InvalidArgument',
      "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    );
    await bad(
      {
        Status: 'Enabled',
        Filter: {},
        NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 101 },
      },
      400,
      'InvalidArgument',
      "'NewerNoncurrentVersions' must not be greater than 100",
    );
    const both = `<LifecycleConfiguration><Rule><Status>Enabled</Status><Filter/><Expiration><Days>1</Days>
<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule></LifecycleConfiguration>`;
    const raw = await signedSend(server, {
      method: 'PUT',
      path: `/${BUCKET}`,
      query: { lifecycle: '' },
      headers: { 'content-md5': createHash('md5').update(both).digest('base64') },
      body: Buffer.from(both),
    });
    assert.equal(raw.status, 400, raw.text);
    assert.match(raw.text, /<Code>MalformedXML<\/Code>/);
    await setRules([
      {
        ID: 'versions',
        Status: 'Enabled',
        Filter: { Prefix: 'v/' },
        Expiration: { ExpiredObjectDeleteMarker: true },
        NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 3 },
      },
    ]);
    const kept = await sdk.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
    assert.deepEqual(kept.Rules?.[0]?.Expiration, { ExpiredObjectDeleteMarker: true });
    assert.deepEqual(kept.Rules?.[0]?.NoncurrentVersionExpiration, { NoncurrentDays: 7, NewerNoncurrentVersions: 3 });
    await sdk.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }));
    await rejectsS3(
      setRules([
        { ID: 'same', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } },
        { ID: 'same', Status: 'Enabled', Filter: {}, Expiration: { Days: 2 } },
      ]),
      400,
      'InvalidArgument',
    );
  });

  it('should run a date rule: matching objects go, others stay, and announce Days rules on GET', async () => {
    for (const k of ['logs/a', 'logs/b', 'docs/d', 'keep/k']) await put(k);
    await put('tmp/x', 'temp=yes');
    await put('tmp/y', 'temp=no');
    await setRules([
      { ID: 'old-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Date: PAST } },
      {
        ID: 'temp',
        Status: 'Enabled',
        Filter: { And: { Prefix: 'tmp/', Tags: [{ Key: 'temp', Value: 'yes' }] } },
        Expiration: { Date: PAST },
      },
      { ID: 'docs-30', Status: 'Enabled', Filter: { Prefix: 'docs/' }, Expiration: { Days: 30 } },
      { ID: 'off', Status: 'Disabled', Filter: { Prefix: 'keep/' }, Expiration: { Date: PAST } },
      {
        ID: 'uploads',
        Status: 'Enabled',
        Filter: { Prefix: '' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ]);
    const got = await sdk.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
    assert.deepEqual(
      got.Rules?.map((r) => [r.ID, r.Status]),
      [
        ['old-logs', 'Enabled'],
        ['temp', 'Enabled'],
        ['docs-30', 'Enabled'],
        ['off', 'Disabled'],
        ['uploads', 'Enabled'],
      ],
    );
    assert.deepEqual(got.Rules?.[1]?.Filter?.And?.Tags, [{ Key: 'temp', Value: 'yes' }]);
    assert.equal(got.Rules?.[2]?.Expiration?.Days, 30);

    const deadline = Date.now() + 15_000;
    while (((await exists('logs/a')) || (await exists('tmp/x'))) && Date.now() < deadline) await sleep(200);
    assert.deepEqual(await Promise.all(['logs/a', 'logs/b', 'tmp/x'].map(exists)), [false, false, false]);
    assert.deepEqual(await Promise.all(['tmp/y', 'docs/d', 'keep/k'].map(exists)), [true, true, true]);

    const docs = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/d' }));
    assert.match(String(docs.Expiration), /^expiry-date="\w{3}, \d{2} \w{3} \d{4} 00:00:00 GMT", rule-id="docs-30"$/);
    const expiry = Date.parse(/expiry-date="([^"]+)"/.exec(String(docs.Expiration))![1]!);
    assert.ok(expiry > Date.now() + 29 * 86_400_000 && expiry <= Date.now() + 31 * 86_400_000);

    assert.equal((await sdk.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }))).$metadata.httpStatusCode, 204);
    await rejectsS3(
      sdk.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET })),
      404,
      'NoSuchLifecycleConfiguration',
    );
    assert.equal((await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'docs/d' }))).Expiration, undefined);
  });

  it('should give each rule back in the form it was written: rule-level Prefix or Filter', async () => {
    await setRules([
      { ID: 'older', Prefix: 'old/', Status: 'Enabled', Expiration: { Days: 3 } },
      { ID: 'newer', Filter: { Prefix: 'new/' }, Status: 'Enabled', Expiration: { Days: 4 } },
      { ID: 'everything', Prefix: '', Status: 'Disabled', Expiration: { Days: 5 } },
    ]);
    const r = await signedSend(server, { method: 'GET', path: `/${BUCKET}`, query: { lifecycle: '' } });
    assert.equal(r.status, 200, r.text);
    const rules = [...r.text.matchAll(/<Rule>(.*?)<\/Rule>/gs)].map((m) => m[1]);
    assert.deepEqual(rules, [
      '<ID>older</ID><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><Days>3</Days></Expiration>',
      '<ID>newer</ID><Filter><Prefix>new/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>4</Days></Expiration>',
      '<ID>everything</ID><Prefix></Prefix><Status>Disabled</Status><Expiration><Days>5</Days></Expiration>',
    ]);
    const got = await sdk.send(new GetBucketLifecycleConfigurationCommand({ Bucket: BUCKET }));
    assert.deepEqual(
      got.Rules?.map((x) => [x.Prefix, x.Filter?.Prefix]),
      [
        ['old/', undefined],
        [undefined, 'new/'],
        ['', undefined],
      ],
    );
    await sdk.send(new DeleteBucketLifecycleCommand({ Bucket: BUCKET }));
  });
});
