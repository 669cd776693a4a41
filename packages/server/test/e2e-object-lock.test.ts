/**
 * Object Lock against the real server with the JS SDK, the aws CLI and boto3: buckets created with Object Lock,
 * their default retention, retention and legal hold of objects from every kind of write, deletes refused while an
 * object is locked (GOVERNANCE bypassed on request, COMPLIANCE never), and the lifecycle run leaving locked objects.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetBucketVersioningCommand,
  PutBucketVersioningCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { describeRun, sdkClient } from './helpers/clients.ts';
import { assertS3Error, signedSend } from './helpers/http.ts';
import { md5b64, rejectsS3, sleep } from './helpers/assert.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

const LOCKED = 'lock-bucket';
const PLAIN = 'plain-bucket';
const DAY = 86_400_000;
const PAST = new Date('2020-01-01T00:00:00Z');
/** A retention date `days` ahead, at whole seconds (as clients send it). */
const ahead = (days: number) => new Date(Math.floor((Date.now() + days * DAY) / 1000) * 1000);

describe('Object Lock', () => {
  const t = serverForSuite([PLAIN]);
  before(async () => {
    await t.sdk.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
  });

  const put = (Key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) =>
    t.sdk.send(new PutObjectCommand({ Bucket: LOCKED, Key, Body: Key, ...extra }));
  const head = (Key: string) => t.sdk.send(new HeadObjectCommand({ Bucket: LOCKED, Key }));
  /** Deletes one version of `Key` for good (the latest's when `VersionId` is not given). */
  const del = async (Key: string, BypassGovernanceRetention?: boolean, VersionId?: string) =>
    t.sdk.send(
      new DeleteObjectCommand({
        Bucket: LOCKED,
        Key,
        VersionId: VersionId ?? (await head(Key)).VersionId,
        BypassGovernanceRetention,
      }),
    );
  const retain = (Key: string, Mode: 'GOVERNANCE' | 'COMPLIANCE', until: Date, BypassGovernanceRetention?: boolean) =>
    t.sdk.send(
      new PutObjectRetentionCommand({
        Bucket: LOCKED,
        Key,
        Retention: { Mode, RetainUntilDate: until },
        BypassGovernanceRetention,
      }),
    );
  const lockXml = (inner: string) =>
    `<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</ObjectLockConfiguration>`;
  const putLockXml = (Bucket: string, xml: string) => {
    const body = Buffer.from(xml);
    return signedSend(t.server, {
      method: 'PUT',
      path: `/${Bucket}`,
      query: { 'object-lock': '' },
      headers: { 'content-md5': md5b64(body) },
      body,
    });
  };

  it('should turn Object Lock on at CreateBucket, and only there', async () => {
    const got = await t.sdk.send(new GetObjectLockConfigurationCommand({ Bucket: LOCKED }));
    assert.deepEqual(got.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' });
    await rejectsS3(
      t.sdk.send(new GetObjectLockConfigurationCommand({ Bucket: PLAIN })),
      404,
      'ObjectLockConfigurationNotFoundError',
    );
    const r = await putLockXml(PLAIN, lockXml('<ObjectLockEnabled>Enabled</ObjectLockEnabled>'));
    assertS3Error(r, 409, 'InvalidBucketState');
    // It comes with versioning, which can then not be suspended.
    const versioning = await t.sdk.send(new GetBucketVersioningCommand({ Bucket: LOCKED }));
    assert.equal(versioning.Status, 'Enabled');
    await rejectsS3(
      t.sdk.send(new PutBucketVersioningCommand({ Bucket: LOCKED, VersioningConfiguration: { Status: 'Suspended' } })),
      409,
      'InvalidBucketState',
    );
    // A bucket whose versioning is on can take it.
    await t.sdk.send(new CreateBucketCommand({ Bucket: 'lock-later' }));
    await t.sdk.send(
      new PutBucketVersioningCommand({ Bucket: 'lock-later', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const later = await putLockXml('lock-later', lockXml('<ObjectLockEnabled>Enabled</ObjectLockEnabled>'));
    assert.equal(later.status, 200, later.text);
    const bad = await signedSend(t.server, {
      method: 'PUT',
      path: '/lock-bad-header',
      headers: { 'x-amz-bucket-object-lock-enabled': 'yes' },
    });
    assertS3Error(bad, 400, 'InvalidArgument');
  });

  it('should set and clear the default retention, with S3 checks', async () => {
    await t.sdk.send(
      new PutObjectLockConfigurationCommand({
        Bucket: LOCKED,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 2 } },
        },
      }),
    );
    const got = await t.sdk.send(new GetObjectLockConfigurationCommand({ Bucket: LOCKED }));
    assert.deepEqual(got.ObjectLockConfiguration, {
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 2 } },
    });
    const rule = (r: string) =>
      lockXml(`<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>${r}</DefaultRetention></Rule>`);
    const cases: [string, number, string, string?][] = [
      [
        lockXml('<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>'),
        400,
        'MalformedXML',
      ],
      [rule('<Mode>FOREVER</Mode><Days>1</Days>'), 400, 'MalformedXML'],
      [rule('<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>'), 400, 'MalformedXML'],
      [rule('<Mode>GOVERNANCE</Mode>'), 400, 'MalformedXML'],
      [
        rule('<Mode>COMPLIANCE</Mode><Days>0</Days>'),
        400,
        'InvalidArgument',
        'Default retention period must be a positive integer value',
      ],
      [rule('<Mode>COMPLIANCE</Mode><Years>101</Years>'), 400, 'InvalidArgument', 'Default retention period too large'],
    ];
    for (const [xml, status, code, message] of cases) {
      const e = assertS3Error(await putLockXml(LOCKED, xml), status, code);
      if (message) assert.equal(e.Message, message, xml);
    }
    // A new object without lock headers takes the default retention.
    await put('defaulted', { ContentMD5: md5b64(Buffer.from('defaulted')) });
    const h = await head('defaulted');
    assert.equal(h.ObjectLockMode, 'GOVERNANCE');
    const until = h.ObjectLockRetainUntilDate!.getTime();
    assert.ok(until > Date.now() + DAY && until <= Date.now() + 2 * DAY, String(h.ObjectLockRetainUntilDate));
    // Enabled without a rule clears the default.
    const cleared = await putLockXml(LOCKED, lockXml('<ObjectLockEnabled>Enabled</ObjectLockEnabled>'));
    assert.equal(cleared.status, 200, cleared.text);
    await put('undefaulted');
    assert.equal((await head('undefaulted')).ObjectLockMode, undefined);
    await del('defaulted', true);
  });

  it('should require Content-MD5 or a checksum on a PUT with lock headers, and check the headers', async () => {
    const until = ahead(1).toISOString();
    const send = (Bucket: string, headers: Record<string, string>) =>
      signedSend(t.server, { method: 'PUT', path: `/${Bucket}/raw`, headers, body: Buffer.from('raw') });
    const lock = { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': until };
    const e = assertS3Error(await send(LOCKED, lock), 400, 'InvalidRequest');
    assert.equal(
      e.Message,
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
    const md5 = { 'content-md5': md5b64(Buffer.from('raw')) };
    const missing = assertS3Error(await send(PLAIN, { ...lock, ...md5 }), 400, 'InvalidRequest');
    assert.equal(missing.Message, 'Bucket is missing Object Lock Configuration');
    const invalid: [Record<string, string>, string][] = [
      [
        { 'x-amz-object-lock-mode': 'GOVERNANCE' },
        'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      ],
      [{ ...lock, 'x-amz-object-lock-mode': 'FOREVER' }, 'Unknown wormMode directive.'],
      [
        { ...lock, 'x-amz-object-lock-retain-until-date': '2020-01-01T00:00:00Z' },
        'The retain until date must be in the future!',
      ],
      [
        { ...lock, 'x-amz-object-lock-retain-until-date': 'tomorrow' },
        'The retain until date must be provided in ISO 8601 format',
      ],
      [{ 'x-amz-object-lock-legal-hold': 'YES' }, "Legal Hold must be either of 'ON' or 'OFF'"],
    ];
    for (const [headers, message] of invalid) {
      assert.equal(assertS3Error(await send(LOCKED, { ...headers, ...md5 }), 400, 'InvalidArgument').Message, message);
    }
    const ok = await send(LOCKED, { ...lock, ...md5, 'x-amz-object-lock-legal-hold': 'OFF' });
    assert.equal(ok.status, 200, ok.text);
    const h = await head('raw');
    assert.equal(h.ObjectLockMode, 'GOVERNANCE');
    assert.equal(h.ObjectLockRetainUntilDate?.toISOString(), until);
    assert.equal(h.ObjectLockLegalHoldStatus, 'OFF');
    await del('raw', true);
  });

  it('should refuse to delete a GOVERNANCE version unless bypassed, and a COMPLIANCE one always', async () => {
    await put('gov', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: ahead(1) });
    await put('comp', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: ahead(1) });
    const e = await rejectsS3(del('gov'), 403, 'AccessDenied');
    assert.equal(e.message, 'Access Denied because object protected by object lock.');
    await rejectsS3(del('comp', true), 403, 'AccessDenied');
    assert.equal((await del('gov', true)).$metadata.httpStatusCode, 204);
    await rejectsS3(head('gov'), 404);
    const got = await t.sdk.send(new GetObjectCommand({ Bucket: LOCKED, Key: 'comp' }));
    assert.equal(got.ObjectLockMode, 'COMPLIANCE');
    assert.equal(await got.Body?.transformToString(), 'comp');

    const versions = { comp: (await head('comp')).VersionId, undefaulted: (await head('undefaulted')).VersionId };
    const many = await t.sdk.send(
      new DeleteObjectsCommand({
        Bucket: LOCKED,
        Delete: {
          Objects: [
            { Key: 'comp', VersionId: versions.comp },
            { Key: 'undefaulted', VersionId: versions.undefaulted },
          ],
        },
      }),
    );
    assert.deepEqual(
      many.Deleted?.map((d) => [d.Key, d.VersionId]),
      [['undefaulted', versions.undefaulted]],
    );
    assert.deepEqual(
      many.Errors?.map((x) => [x.Key, x.Code]),
      [['comp', 'AccessDenied']],
    );

    // A delete without a version id only adds a delete marker: allowed, and the locked version stays.
    const marked = await t.sdk.send(new DeleteObjectCommand({ Bucket: LOCKED, Key: 'comp' }));
    assert.equal(marked.DeleteMarker, true);
    await rejectsS3(head('comp'), 404);
    const kept = await t.sdk.send(new GetObjectCommand({ Bucket: LOCKED, Key: 'comp', VersionId: versions.comp }));
    assert.equal(await kept.Body?.transformToString(), 'comp');
    const hold = await t.sdk.send(
      new GetObjectRetentionCommand({ Bucket: LOCKED, Key: 'comp', VersionId: versions.comp }),
    );
    assert.equal(hold.Retention?.Mode, 'COMPLIANCE');
    await rejectsS3(del('comp', true, versions.comp), 403, 'AccessDenied');
  });

  it('should extend a retention, and shorten or weaken it only with a GOVERNANCE bypass', async () => {
    await put('ret', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: ahead(2) });
    await retain('ret', 'GOVERNANCE', ahead(3));
    await rejectsS3(retain('ret', 'GOVERNANCE', ahead(1)), 403, 'AccessDenied');
    const shorter = ahead(1);
    await retain('ret', 'GOVERNANCE', shorter, true);
    const got = await t.sdk.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: 'ret' }));
    assert.equal(got.Retention?.Mode, 'GOVERNANCE');
    assert.equal(got.Retention?.RetainUntilDate?.getTime(), shorter.getTime());
    // GOVERNANCE → COMPLIANCE strengthens it; back is refused even with the bypass.
    await retain('ret', 'COMPLIANCE', ahead(2));
    await rejectsS3(retain('ret', 'GOVERNANCE', ahead(5), true), 403, 'AccessDenied');
    await rejectsS3(retain('ret', 'COMPLIANCE', ahead(1), true), 403, 'AccessDenied');
    await rejectsS3(retain('ret', 'COMPLIANCE', new Date('2020-01-01T00:00:00Z')), 400, 'InvalidArgument');
    await rejectsS3(
      t.sdk.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: 'undefaulted-none' })),
      404,
      'NoSuchKey',
    );
    await put('free');
    await rejectsS3(
      t.sdk.send(new GetObjectRetentionCommand({ Bucket: LOCKED, Key: 'free' })),
      404,
      'NoSuchObjectLockConfiguration',
    );
    await t.sdk.send(new PutObjectCommand({ Bucket: PLAIN, Key: 'p', Body: 'p' }));
    await rejectsS3(t.sdk.send(new GetObjectRetentionCommand({ Bucket: PLAIN, Key: 'p' })), 400, 'InvalidRequest');
  });

  it('should keep an object under legal hold whatever its retention, until the hold is off', async () => {
    await put('held', { ObjectLockLegalHoldStatus: 'ON' });
    const hold = () => t.sdk.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: 'held' }));
    assert.equal((await hold()).LegalHold?.Status, 'ON');
    await rejectsS3(del('held', true), 403, 'AccessDenied');
    await t.sdk.send(new PutObjectLegalHoldCommand({ Bucket: LOCKED, Key: 'held', LegalHold: { Status: 'OFF' } }));
    assert.equal((await hold()).LegalHold?.Status, 'OFF');
    assert.equal((await head('held')).ObjectLockLegalHoldStatus, 'OFF');
    assert.equal((await del('held')).$metadata.httpStatusCode, 204);
    await rejectsS3(
      t.sdk.send(new GetObjectLegalHoldCommand({ Bucket: LOCKED, Key: 'free' })),
      404,
      'NoSuchObjectLockConfiguration',
    );
    const bad = Buffer.from('<LegalHold><Status>MAYBE</Status></LegalHold>');
    const r = await signedSend(t.server, {
      method: 'PUT',
      path: `/${LOCKED}/free`,
      query: { 'legal-hold': '' },
      headers: { 'content-md5': md5b64(bad) },
      body: bad,
    });
    assertS3Error(r, 400, 'MalformedXML');
  });

  it('should take lock headers on CopyObject and CreateMultipartUpload, not the source lock', async () => {
    await put('src', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: ahead(1) });
    await t.sdk.send(new CopyObjectCommand({ Bucket: LOCKED, Key: 'copy-free', CopySource: `${LOCKED}/src` }));
    assert.equal((await head('copy-free')).ObjectLockMode, undefined);
    await t.sdk.send(
      new CopyObjectCommand({
        Bucket: LOCKED,
        Key: 'copy-held',
        CopySource: `${LOCKED}/src`,
        ObjectLockLegalHoldStatus: 'ON',
      }),
    );
    assert.equal((await head('copy-held')).ObjectLockLegalHoldStatus, 'ON');
    const until = ahead(1);
    const mpu = await t.sdk.send(
      new CreateMultipartUploadCommand({
        Bucket: LOCKED,
        Key: 'mpu',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: until,
      }),
    );
    const part = await t.sdk.send(
      new UploadPartCommand({ Bucket: LOCKED, Key: 'mpu', UploadId: mpu.UploadId, PartNumber: 1, Body: 'part' }),
    );
    await t.sdk.send(
      new CompleteMultipartUploadCommand({
        Bucket: LOCKED,
        Key: 'mpu',
        UploadId: mpu.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const h = await head('mpu');
    assert.equal(h.ObjectLockMode, 'GOVERNANCE');
    assert.equal(h.ObjectLockRetainUntilDate?.getTime(), until.getTime());
    await rejectsS3(del('mpu'), 403, 'AccessDenied');
  });

  it('should work from the aws CLI', async () => {
    const aws = async (...args: string[]) => {
      const r = await t.clients.aws(['s3api', ...args]);
      assert.equal(r.code, 0, describeRun(r));
      return r.stdout ? JSON.parse(r.stdout) : undefined;
    };
    await aws('create-bucket', '--bucket', 'lock-cli', '--object-lock-enabled-for-bucket');
    const config = JSON.stringify({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Years: 1 } },
    });
    await aws('put-object-lock-configuration', '--bucket', 'lock-cli', '--object-lock-configuration', config);
    const got = await aws('get-object-lock-configuration', '--bucket', 'lock-cli');
    assert.deepEqual(got.ObjectLockConfiguration.Rule, { DefaultRetention: { Mode: 'COMPLIANCE', Years: 1 } });
    await aws(
      'put-object-lock-configuration',
      '--bucket',
      'lock-cli',
      '--object-lock-configuration',
      '{"ObjectLockEnabled":"Enabled"}',
    );
    const { VersionId } = await aws(
      'put-object',
      '--bucket',
      'lock-cli',
      '--key',
      'k',
      '--body',
      t.clients.awsConfigFile,
    );
    const version = ['--bucket', 'lock-cli', '--key', 'k', '--version-id', VersionId];
    const until = ahead(1).toISOString();
    await aws(
      'put-object-retention',
      '--bucket',
      'lock-cli',
      '--key',
      'k',
      '--retention',
      JSON.stringify({ Mode: 'GOVERNANCE', RetainUntilDate: until }),
    );
    assert.equal(
      (await aws('get-object-retention', '--bucket', 'lock-cli', '--key', 'k')).Retention.Mode,
      'GOVERNANCE',
    );
    await aws('put-object-legal-hold', '--bucket', 'lock-cli', '--key', 'k', '--legal-hold', 'Status=ON');
    const refused = await t.clients.aws(['s3api', 'delete-object', ...version, '--bypass-governance-retention']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /AccessDenied/);
    await aws('put-object-legal-hold', '--bucket', 'lock-cli', '--key', 'k', '--legal-hold', 'Status=OFF');
    const still = await t.clients.aws(['s3api', 'delete-object', ...version]);
    assert.match(still.stderr, /AccessDenied/, describeRun(still));
    await aws('delete-object', ...version, '--bypass-governance-retention');
    const gone = await t.clients.aws(['s3api', 'head-object', ...version]);
    assert.match(gone.stderr, /404/, describeRun(gone));
  });

  it('should work from boto3', async () => {
    const r = await t.clients.boto3(`
import datetime
s3.create_bucket(Bucket='lock-boto', ObjectLockEnabledForBucket=True)
until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
v = s3.put_object(Bucket='lock-boto', Key='k', Body=b'boto', ObjectLockMode='GOVERNANCE',
    ObjectLockRetainUntilDate=until)['VersionId']
h = s3.head_object(Bucket='lock-boto', Key='k')
out = {'mode': h['ObjectLockMode']}
try:
    s3.delete_object(Bucket='lock-boto', Key='k', VersionId=v)
except ClientError as e:
    out['refused'] = [e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code']]
s3.put_object_retention(Bucket='lock-boto', Key='k', Retention={'Mode': 'COMPLIANCE', 'RetainUntilDate': until})
try:
    s3.delete_object(Bucket='lock-boto', Key='k', VersionId=v, BypassGovernanceRetention=True)
except ClientError as e:
    out['compliance'] = e.response['Error']['Code']
out['retention'] = s3.get_object_retention(Bucket='lock-boto', Key='k')['Retention']['Mode']
print(json.dumps(out))
`);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(JSON.parse(r.stdout), {
      mode: 'GOVERNANCE',
      refused: [403, 'AccessDenied'],
      compliance: 'AccessDenied',
      retention: 'COMPLIANCE',
    });
  });
});

describe('Object Lock and lifecycle', () => {
  let server: RunningServer;
  let sdk: S3Client;
  before(async () => {
    server = await startServer({ args: ['--lifecycle-interval', '1'] });
    sdk = sdkClient(server, server);
  });
  after(async () => {
    sdk?.destroy();
    await server?.stop({ removeDir: true });
  });

  it('should only add delete markers when objects expire on a locked (versioned) bucket, keeping every version', async () => {
    await sdk.send(new CreateBucketCommand({ Bucket: LOCKED, ObjectLockEnabledForBucket: true }));
    const versions: Record<string, string | undefined> = {};
    const lockOf = {
      'old/free': {},
      'old/kept': { ObjectLockMode: 'GOVERNANCE' as const, ObjectLockRetainUntilDate: ahead(1) },
      'old/held': { ObjectLockLegalHoldStatus: 'ON' as const },
    };
    for (const [Key, lock] of Object.entries(lockOf)) {
      versions[Key] = (await sdk.send(new PutObjectCommand({ Bucket: LOCKED, Key, Body: Key, ...lock }))).VersionId;
    }
    await sdk.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: LOCKED,
        LifecycleConfiguration: {
          Rules: [{ ID: 'all', Status: 'Enabled', Filter: { Prefix: 'old/' }, Expiration: { Date: PAST } }],
        },
      }),
    );
    const exists = (Key: string) =>
      sdk.send(new HeadObjectCommand({ Bucket: LOCKED, Key })).then(
        () => true,
        (e: { $metadata?: { httpStatusCode?: number } }) => {
          if (e.$metadata?.httpStatusCode === 404) return false;
          throw e;
        },
      );
    const keys = Object.keys(lockOf);
    const deadline = Date.now() + 15_000;
    while ((await Promise.all(keys.map(exists))).some(Boolean) && Date.now() < deadline) await sleep(200);
    assert.deepEqual(await Promise.all(keys.map(exists)), [false, false, false]);
    for (const Key of keys) {
      const got = await sdk.send(new GetObjectCommand({ Bucket: LOCKED, Key, VersionId: versions[Key] }));
      assert.equal(await got.Body?.transformToString(), Key);
    }
  });
});
