/**
 * S3 behaviours that clients, retries and test suites depend on (issue 11), against the real server with real
 * clients: DeleteBucket with only incomplete uploads left, retried CompleteMultipartUpload, header handling
 * (`Expect`, raw UTF-8 values, `Content-Encoding` with aws-chunked), CreateBucket of an owned bucket, an empty
 * ListObjectsV2 continuation token, SSE-C copy ETags and lifecycle rule forms.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  CreateBucketCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';

import { bodyBytes, rejectsS3 } from './helpers/assert.ts';
import { sdkClient } from './helpers/clients.ts';
import { assertS3Error, signedSend } from './helpers/http.ts';
import { addUser, makeTempDir, randomCredentials, startServer } from './helpers/server.ts';
import { serverForSuite } from './helpers/suite.ts';

describe('CreateBucket of a bucket the caller owns', () => {
  const t = serverForSuite(['own-again']);

  it('should answer 200 in us-east-1 and keep the objects and the configuration', async () => {
    await t.sdk.send(new PutObjectCommand({ Bucket: 'own-again', Key: 'kept', Body: 'still here' }));
    const TagSet = [{ Key: 'team', Value: 'storage' }];
    await t.sdk.send(new PutBucketTaggingCommand({ Bucket: 'own-again', Tagging: { TagSet } }));
    const r = await signedSend(t.server, { method: 'PUT', path: '/own-again' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['location'], '/own-again');
    const got = await t.sdk.send(new GetObjectCommand({ Bucket: 'own-again', Key: 'kept' }));
    assert.equal((await bodyBytes(got.Body)).toString(), 'still here');
    assert.deepEqual((await t.sdk.send(new GetBucketTaggingCommand({ Bucket: 'own-again' }))).TagSet, TagSet);
  });

  it('should still answer 409 BucketAlreadyExists to another user', async () => {
    const other = { ...randomCredentials(), name: 'other' };
    const dataDir = await makeTempDir();
    await addUser(dataDir, other);
    const server = await startServer({ dataDir });
    const owner = sdkClient(server, server);
    const stranger = sdkClient(server, other);
    try {
      await owner.send(new CreateBucketCommand({ Bucket: 'taken' }));
      await rejectsS3(stranger.send(new CreateBucketCommand({ Bucket: 'taken' })), 409, 'BucketAlreadyExists');
    } finally {
      owner.destroy();
      stranger.destroy();
      await server.stop({ removeDir: true });
    }
  });

  it('should answer 409 BucketAlreadyOwnedByYou in another region', async () => {
    const server = await startServer({ args: ['--region', 'eu-west-1'] });
    const sdk = sdkClient(server, server, { region: 'eu-west-1' });
    try {
      await sdk.send(new CreateBucketCommand({ Bucket: 'owned-eu' }));
      await rejectsS3(sdk.send(new CreateBucketCommand({ Bucket: 'owned-eu' })), 409, 'BucketAlreadyOwnedByYou');
    } finally {
      sdk.destroy();
      await server.stop({ removeDir: true });
    }
  });
});

describe('ListObjectsV2 with an empty continuation-token', () => {
  const t = serverForSuite(['list-empty-token']);
  before(async () => {
    for (const Key of ['a', 'b', 'c']) await t.sdk.send(new PutObjectCommand({ Bucket: 'list-empty-token', Key, Body: Key }));
  });

  it('should list from the start and echo the token empty', async () => {
    const query = { 'list-type': '2', 'continuation-token': '', 'max-keys': '2' };
    const r = await signedSend(t.server, { method: 'GET', path: '/list-empty-token', query });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /<ContinuationToken><\/ContinuationToken>/);
    assert.deepEqual([...r.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]), ['a', 'b']);
    assert.match(r.text, /<IsTruncated>true<\/IsTruncated><ContinuationToken><\/ContinuationToken><NextContinuationToken>/);
  });

  it('should still answer 400 InvalidArgument for a token that is not one', async () => {
    const query = { 'list-type': '2', 'continuation-token': 'bm90IGEgdG9rZW4' };
    assertS3Error(await signedSend(t.server, { method: 'GET', path: '/list-empty-token', query }), 400, 'InvalidArgument');
  });
});
