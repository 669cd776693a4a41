/** ListBuckets paging and filters (max-buckets, continuation-token, prefix, bucket-region) with the JS SDK. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ListBucketsCommand, paginateListBuckets } from '@aws-sdk/client-s3';
import { serverForSuite } from './helpers/suite.ts';
import { assertS3Error, signedSend } from './helpers/http.ts';

const NAMES = ['lb-delta', 'lb-alpha', 'lb-echo', 'lb-charlie', 'other-bucket'];

describe('ListBuckets', () => {
  const t = serverForSuite(NAMES);

  it('should list every bucket in name order when not asked to page', async () => {
    const r = await t.sdk.send(new ListBucketsCommand({}));
    assert.deepEqual(
      r.Buckets?.map((b) => b.Name),
      [...NAMES].sort(),
    );
    assert.equal(r.ContinuationToken, undefined);
    assert.equal(r.Buckets?.[0]?.BucketRegion, 'us-east-1');
  });

  it('should page with MaxBuckets and the continuation token, and filter by prefix and region', async () => {
    const first = await t.sdk.send(new ListBucketsCommand({ MaxBuckets: 2, Prefix: 'lb-' }));
    assert.deepEqual(
      first.Buckets?.map((b) => b.Name),
      ['lb-alpha', 'lb-charlie'],
    );
    assert.equal(first.Prefix, 'lb-');
    assert.ok(first.ContinuationToken);
    const names: string[] = [];
    for await (const page of paginateListBuckets({ client: t.sdk, pageSize: 2 }, { Prefix: 'lb-' }))
      names.push(...(page.Buckets ?? []).map((b) => b.Name!));
    assert.deepEqual(names, ['lb-alpha', 'lb-charlie', 'lb-delta', 'lb-echo']);
    assert.deepEqual((await t.sdk.send(new ListBucketsCommand({ BucketRegion: 'eu-west-1' }))).Buckets ?? [], []);
  });

  it('should refuse a bad max-buckets or continuation token with 400 InvalidArgument', async () => {
    assertS3Error(
      await signedSend(t.server, { method: 'GET', path: '/', query: { 'max-buckets': '0' } }),
      400,
      'InvalidArgument',
    );
    assertS3Error(
      await signedSend(t.server, { method: 'GET', path: '/', query: { 'max-buckets': '10001' } }),
      400,
      'InvalidArgument',
    );
    const bad = await signedSend(t.server, {
      method: 'GET',
      path: '/',
      query: { 'continuation-token': 'not a token!' },
    });
    assert.equal(assertS3Error(bad, 400, 'InvalidArgument')['Message'], 'The continuation token provided is incorrect');
  });
});
