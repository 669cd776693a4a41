/**
 * Bucket configurations Coffer has no feature for read back as on an S3 bucket that never had one, with the JS
 * SDK and s3cmd; writing them stays 501.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetBucketAccelerateConfigurationCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketReplicationCommand,
  GetBucketRequestPaymentCommand,
  GetBucketWebsiteCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  PutBucketWebsiteCommand,
} from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { describeRun } from './helpers/clients.ts';
import { rejectsS3 } from './helpers/assert.ts';
import { route } from '../src/router.ts';
import { BUCKET_DEFAULTS } from '../src/handlers/bucket-defaults.ts';

const BUCKET = 'plain-bucket';

describe('bucket configurations Coffer does not have', () => {
  const t = serverForSuite([BUCKET]);
  const Bucket = BUCKET;

  it('should route GET of every one of them to the defaults', () => {
    for (const name of Object.keys(BUCKET_DEFAULTS))
      assert.equal(route('GET', `/${BUCKET}`, name, {}).op, 'GetBucketDefault', name);
  });

  it('should answer "not configured" with S3\'s 404 codes for the absent ones', async () => {
    await rejectsS3(t.sdk.send(new GetBucketPolicyCommand({ Bucket })), 404, 'NoSuchBucketPolicy');
    await rejectsS3(
      t.sdk.send(new GetBucketLifecycleConfigurationCommand({ Bucket })),
      404,
      'NoSuchLifecycleConfiguration',
    );
    await rejectsS3(t.sdk.send(new GetBucketWebsiteCommand({ Bucket })), 404, 'NoSuchWebsiteConfiguration');
    await rejectsS3(
      t.sdk.send(new GetBucketReplicationCommand({ Bucket })),
      404,
      'ReplicationConfigurationNotFoundError',
    );
    await rejectsS3(
      t.sdk.send(new GetObjectLockConfigurationCommand({ Bucket })),
      404,
      'ObjectLockConfigurationNotFoundError',
    );
    await rejectsS3(t.sdk.send(new GetBucketPolicyCommand({ Bucket: 'no-such-bucket-here' })), 404, 'NoSuchBucket');
    const website = { IndexDocument: { Suffix: 'index.html' } };
    await rejectsS3(
      t.sdk.send(new PutBucketWebsiteCommand({ Bucket, WebsiteConfiguration: website })),
      501,
      'NotImplemented',
    );
    // A 501 is the client asking for something Coffer does not do, not a server fault: no error-level log line.
    assert.doesNotMatch(t.server.stderr(), /"level":50/);
  });

  it('should give the documents that always exist: logging off, no notifications, owner pays, ACLs disabled, public access blocked', async () => {
    assert.equal((await t.sdk.send(new GetBucketLoggingCommand({ Bucket }))).LoggingEnabled, undefined);
    const n = await t.sdk.send(new GetBucketNotificationConfigurationCommand({ Bucket }));
    assert.deepEqual(
      [n.TopicConfigurations, n.QueueConfigurations, n.LambdaFunctionConfigurations],
      [undefined, undefined, undefined],
    );
    assert.equal((await t.sdk.send(new GetBucketRequestPaymentCommand({ Bucket }))).Payer, 'BucketOwner');
    assert.equal((await t.sdk.send(new GetBucketAccelerateConfigurationCommand({ Bucket }))).Status, undefined);
    assert.deepEqual((await t.sdk.send(new GetBucketOwnershipControlsCommand({ Bucket }))).OwnershipControls?.Rules, [
      { ObjectOwnership: 'BucketOwnerEnforced' },
    ]);
    assert.deepEqual((await t.sdk.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: true,
    });
    assert.equal((await t.sdk.send(new GetBucketPolicyStatusCommand({ Bucket }))).PolicyStatus?.IsPublic, false);
    const info = await t.clients.s3cmd(['info', `s3://${BUCKET}`]);
    assert.equal(info.code, 0, describeRun(info));
    assert.match(info.stdout, /Payer:\s+BucketOwner/);
  });
});
