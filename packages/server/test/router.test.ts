import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostBucket, route, splitPath, parseQuery } from '../src/router.ts';
import type { S3Error } from '../src/errors.ts';
import { OPERATIONS, type Operation } from '../src/operations.ts';
import { HANDLERS } from '../src/app.ts';

describe('route', () => {
  type Row = [
    method: string,
    path: string,
    query: string,
    headers: Record<string, string>,
    op: Operation,
    bucket?: string,
    key?: string,
  ];
  const table: Row[] = [
    ['GET', '/', '', {}, 'ListBuckets'],
    ['PUT', '/bkt', '', {}, 'CreateBucket', 'bkt'],
    ['PUT', '/bkt/', '', {}, 'CreateBucket', 'bkt'],
    ['HEAD', '/bkt', '', {}, 'HeadBucket', 'bkt'],
    ['DELETE', '/bkt', '', {}, 'DeleteBucket', 'bkt'],
    ['GET', '/bkt', 'location', {}, 'GetBucketLocation', 'bkt'],
    ['GET', '/bkt', 'versioning', {}, 'GetBucketVersioning', 'bkt'],
    ['PUT', '/bkt', 'versioning', {}, 'PutBucketVersioning', 'bkt'],
    ['GET', '/bkt', 'encryption', {}, 'GetBucketEncryption', 'bkt'],
    ['PUT', '/bkt', 'encryption', {}, 'PutBucketEncryption', 'bkt'],
    ['DELETE', '/bkt', 'encryption', {}, 'DeleteBucketEncryption', 'bkt'],
    ['GET', '/bkt', 'cors', {}, 'GetBucketCors', 'bkt'],
    ['PUT', '/bkt', 'cors', {}, 'PutBucketCors', 'bkt'],
    ['DELETE', '/bkt', 'cors', {}, 'DeleteBucketCors', 'bkt'],
    ['OPTIONS', '/bkt', '', {}, 'PreflightRequest', 'bkt'],
    ['GET', '/bkt', 'acl', {}, 'GetBucketAcl', 'bkt'],
    ['PUT', '/bkt', 'acl', {}, 'PutBucketAcl', 'bkt'],
    ['GET', '/bkt/k', 'acl', {}, 'GetObjectAcl', 'bkt', 'k'],
    ['PUT', '/bkt/k', 'acl', {}, 'PutObjectAcl', 'bkt', 'k'],
    ['GET', '/bkt', 'object-lock', {}, 'GetObjectLockConfiguration', 'bkt'],
    ['PUT', '/bkt', 'object-lock', {}, 'PutObjectLockConfiguration', 'bkt'],
    ['GET', '/bkt/k', 'retention&versionId=v1', {}, 'GetObjectRetention', 'bkt', 'k'],
    ['PUT', '/bkt/k', 'retention', {}, 'PutObjectRetention', 'bkt', 'k'],
    ['GET', '/bkt/k', 'legal-hold', {}, 'GetObjectLegalHold', 'bkt', 'k'],
    ['PUT', '/bkt/k', 'legal-hold&versionId=v1', {}, 'PutObjectLegalHold', 'bkt', 'k'],
    ['GET', '/bkt', 'tagging', {}, 'GetBucketTagging', 'bkt'],
    ['PUT', '/bkt', 'tagging', {}, 'PutBucketTagging', 'bkt'],
    ['DELETE', '/bkt', 'tagging', {}, 'DeleteBucketTagging', 'bkt'],
    ['GET', '/bkt/k', 'tagging', {}, 'GetObjectTagging', 'bkt', 'k'],
    ['PUT', '/bkt/k', 'tagging', {}, 'PutObjectTagging', 'bkt', 'k'],
    ['DELETE', '/bkt/k', 'tagging', {}, 'DeleteObjectTagging', 'bkt', 'k'],
    ['GET', '/bkt/k', 'attributes', {}, 'GetObjectAttributes', 'bkt', 'k'],
    ['GET', '/bkt', 'lifecycle', {}, 'GetBucketLifecycleConfiguration', 'bkt'],
    ['PUT', '/bkt', 'lifecycle', {}, 'PutBucketLifecycleConfiguration', 'bkt'],
    ['DELETE', '/bkt', 'lifecycle', {}, 'DeleteBucketLifecycle', 'bkt'],
    ['GET', '/bkt', 'policy', {}, 'GetBucketPolicy', 'bkt'],
    ['PUT', '/bkt', 'policy', {}, 'PutBucketPolicy', 'bkt'],
    ['DELETE', '/bkt', 'policy', {}, 'DeleteBucketPolicy', 'bkt'],
    ['GET', '/bkt', 'website', {}, 'GetBucketDefault', 'bkt'],
    ['GET', '/bkt', 'accelerate', {}, 'GetBucketDefault', 'bkt'],
    ['GET', '/bkt', 'ownershipControls', {}, 'GetBucketOwnershipControls', 'bkt'],
    ['PUT', '/bkt', 'ownershipControls', {}, 'PutBucketOwnershipControls', 'bkt'],
    ['DELETE', '/bkt', 'ownershipControls', {}, 'DeleteBucketOwnershipControls', 'bkt'],
    ['GET', '/bkt', 'publicAccessBlock', {}, 'GetPublicAccessBlock', 'bkt'],
    ['PUT', '/bkt', 'publicAccessBlock', {}, 'PutPublicAccessBlock', 'bkt'],
    ['DELETE', '/bkt', 'publicAccessBlock', {}, 'DeletePublicAccessBlock', 'bkt'],
    ['GET', '/bkt', 'policyStatus', {}, 'GetBucketPolicyStatus', 'bkt'],
    ['OPTIONS', '/bkt/a/b', 'uploads', {}, 'PreflightRequest', 'bkt', 'a/b'],
    ['GET', '/bkt', '', {}, 'ListObjects', 'bkt'],
    ['GET', '/bkt', 'list-type=2&prefix=a', {}, 'ListObjectsV2', 'bkt'],
    ['GET', '/bkt', 'versions', {}, 'ListObjectVersions', 'bkt'],
    ['GET', '/bkt', 'uploads', {}, 'ListMultipartUploads', 'bkt'],
    ['POST', '/bkt', 'delete', {}, 'DeleteObjects', 'bkt'],
    ['POST', '/bkt', '', { 'content-type': 'multipart/form-data; boundary=x' }, 'PostObject', 'bkt'],
    ['PUT', '/bkt/k', '', {}, 'PutObject', 'bkt', 'k'],
    ['PUT', '/bkt/k', 'x-id=PutObject', {}, 'PutObject', 'bkt', 'k'],
    ['PUT', '/bkt/k', '', { 'x-amz-copy-source': '/a/b' }, 'CopyObject', 'bkt', 'k'],
    ['PUT', '/bkt/k', 'partNumber=1&uploadId=u', {}, 'UploadPart', 'bkt', 'k'],
    ['PUT', '/bkt/k', 'partNumber=1&uploadId=u', { 'x-amz-copy-source': '/a/b' }, 'UploadPartCopy', 'bkt', 'k'],
    ['GET', '/bkt/k', '', {}, 'GetObject', 'bkt', 'k'],
    ['GET', '/bkt/k', 'uploadId=u', {}, 'ListParts', 'bkt', 'k'],
    ['HEAD', '/bkt/k', '', {}, 'HeadObject', 'bkt', 'k'],
    ['DELETE', '/bkt/k', '', {}, 'DeleteObject', 'bkt', 'k'],
    ['DELETE', '/bkt/k', 'uploadId=u', {}, 'AbortMultipartUpload', 'bkt', 'k'],
    ['POST', '/bkt/k', 'uploads', {}, 'CreateMultipartUpload', 'bkt', 'k'],
    ['POST', '/bkt/k', 'uploads=', {}, 'CreateMultipartUpload', 'bkt', 'k'],
    ['POST', '/bkt/k', 'uploadId=u', {}, 'CompleteMultipartUpload', 'bkt', 'k'],
    ['GET', '/bkt/a/b/c.txt', '', {}, 'GetObject', 'bkt', 'a/b/c.txt'],
  ];
  for (const [method, path, query, headers, op, bucket, key] of table) {
    it(`should route ${method} ${path}${query ? `?${query}` : ''} to ${op}`, () => {
      const ep = route(method, path, query, headers);
      assert.equal(ep.op, op);
      assert.equal('bucket' in ep ? ep.bucket : undefined, bucket);
      assert.equal('key' in ep ? ep.key : undefined, key);
    });
  }

  it('should have a routing row above for every operation, and no operation the table does not know', () => {
    assert.deepEqual([...new Set(table.map((row) => row[4]))].sort(), Object.keys(OPERATIONS).sort());
  });

  it('should give each operation the bucket and key its scope says, and nothing else', () => {
    const named = { service: [], bucket: ['bucket'], object: ['bucket', 'key'] };
    for (const [method, path, query, headers, op, , key] of table) {
      const ep: Record<string, unknown> = route(method, path, query, headers);
      const present = ['bucket', 'key'].filter((field) => ep[field] !== undefined);
      const { scope } = OPERATIONS[op];
      // A preflight names the bucket, or an object in it.
      const expected = scope === 'bucket-or-object' ? named[key === undefined ? 'bucket' : 'object'] : named[scope];
      assert.deepEqual(present, expected, `${method} ${path}?${query} (${op}, ${scope})`);
    }
  });

  it('should answer NotImplemented for a sub-resource Coffer does not implement', () => {
    assert.throws(
      () => route('GET', '/bkt', 'analytics', {}),
      (e: S3Error) => e.code === 'NotImplemented' && e.status === 501,
    );
    assert.throws(
      () => route('PUT', '/bkt', 'website', {}),
      (e: S3Error) => e.code === 'NotImplemented',
    );
    assert.throws(
      () => route('POST', '/bkt', '', { 'content-type': 'application/x-www-form-urlencoded' }),
      (e: S3Error) => e.code === 'NotImplemented',
    );
  });

  it('should answer MethodNotAllowed for a verb the resource does not take', () => {
    assert.throws(
      () => route('PATCH', '/bkt/k', '', {}),
      (e: S3Error) => e.code === 'MethodNotAllowed' && e.status === 405 && e.extra.Method === 'PATCH',
    );
    assert.throws(
      () => route('PUT', '/', '', {}),
      (e: S3Error) => e.code === 'MethodNotAllowed',
    );
    assert.throws(
      () => route('DELETE', '/bkt/k', 'acl', {}),
      (e: S3Error) => e.code === 'MethodNotAllowed',
    );
    // Never a DeleteBucket or DeleteObject: the lock sub-resources are not deleted.
    for (const [path, sub, type] of [
      ['/bkt', 'object-lock', 'BUCKET'],
      ['/bkt/k', 'retention', 'OBJECT'],
      ['/bkt/k', 'legal-hold', 'OBJECT'],
    ]) {
      assert.throws(
        () => route('DELETE', path!, sub!, {}),
        (e: S3Error) => e.code === 'MethodNotAllowed' && e.extra.ResourceType === type,
      );
    }
    assert.throws(
      () => route('PUT', '/bkt', 'policyStatus', {}),
      (e: S3Error) => e.code === 'MethodNotAllowed' && e.extra.ResourceType === 'BUCKET',
    );
  });
});

describe('HANDLERS', () => {
  it('should have a handler for every operation, and no other entry', () => {
    assert.deepEqual(Object.keys(HANDLERS).sort(), Object.keys(OPERATIONS).sort());
    for (const [op, handler] of Object.entries(HANDLERS)) assert.equal(typeof handler, 'function', op);
  });
});

describe('virtual-hosted style', () => {
  const domains = ['s3.coffer.test'];
  const vh = (method: string, host: string, path: string, query = '', headers: Record<string, string> = {}) =>
    route(method, path, query, { host, ...headers }, domains);

  it('should take the bucket from the Host and the whole path as the key', () => {
    assert.deepEqual(pick(vh('PUT', 'bkt.s3.coffer.test:9000', '/a/b%20c//d')), {
      op: 'PutObject',
      bucket: 'bkt',
      key: 'a/b c//d',
    });
    assert.deepEqual(pick(vh('GET', 'bkt.s3.coffer.test', '/', 'list-type=2')), {
      op: 'ListObjectsV2',
      bucket: 'bkt',
      key: undefined,
    });
    assert.deepEqual(pick(vh('PUT', 'bkt.s3.coffer.test', '/')), { op: 'CreateBucket', bucket: 'bkt', key: undefined });
    assert.deepEqual(pick(vh('PUT', 'bkt.s3.coffer.test', '/k', '', { 'x-amz-copy-source': '/a/b' })), {
      op: 'CopyObject',
      bucket: 'bkt',
      key: 'k',
    });
    assert.deepEqual(pick(vh('POST', 'my.dotted.bkt.s3.coffer.test', '/', 'delete')), {
      op: 'DeleteObjects',
      bucket: 'my.dotted.bkt',
      key: undefined,
    });
  });

  it('should route path style for the domain itself, other hosts, and when no domain is configured', () => {
    assert.deepEqual(pick(vh('GET', 's3.coffer.test:9000', '/')), {
      op: 'ListBuckets',
      bucket: undefined,
      key: undefined,
    });
    assert.deepEqual(pick(vh('GET', 's3.coffer.test', '/bkt/k')), { op: 'GetObject', bucket: 'bkt', key: 'k' });
    assert.deepEqual(pick(vh('GET', '127.0.0.1:9000', '/bkt/k')), { op: 'GetObject', bucket: 'bkt', key: 'k' });
    assert.deepEqual(pick(vh('GET', 'bkt.xs3.coffer.test', '/k')), { op: 'ListObjects', bucket: 'k', key: undefined });
    assert.deepEqual(pick(route('GET', '/k', '', { host: 'bkt.s3.coffer.test' })), {
      op: 'ListObjects',
      bucket: 'k',
      key: undefined,
    });
  });

  it('should compare host names without case and ignore the port', () => {
    assert.equal(hostBucket('BKT.S3.Coffer.TEST:443', domains), 'bkt');
    assert.equal(hostBucket('bkt.s3.coffer.test', ['S3.COFFER.TEST']), 'bkt');
    assert.equal(hostBucket('s3.coffer.test', domains), undefined);
    assert.equal(hostBucket('.s3.coffer.test', domains), undefined);
    assert.equal(hostBucket(undefined, domains), undefined);
    assert.equal(hostBucket('[::1]:9000', domains), undefined);
  });

  it('should answer InvalidURI for a key that does not decode', () => {
    assert.throws(
      () => vh('GET', 'bkt.s3.coffer.test', '/%E2%82'),
      (e: S3Error) => e.code === 'InvalidURI',
    );
  });
});

function pick(ep: { op: string; bucket?: string; key?: string }) {
  return { op: ep.op, bucket: ep.bucket, key: ep.key };
}

describe('splitPath', () => {
  it('should decode keys exactly once, keeping +, encoded slashes, spaces and unicode', () => {
    assert.deepEqual(splitPath('/bkt/a%2Fb%20c+d%25e%E2%82%AC'), { bucket: 'bkt', key: 'a/b c+d%e€' });
  });
  it('should keep empty path segments in keys', () => {
    assert.deepEqual(splitPath('/bkt//x/'), { bucket: 'bkt', key: '/x/' });
  });
  it('should answer InvalidURI for a path that does not decode', () => {
    assert.throws(
      () => splitPath('/bkt/%E2%82'),
      (e: S3Error) => e.code === 'InvalidURI' && e.status === 400,
    );
  });
});

describe('parseQuery', () => {
  it('should give parameters without = an empty value and decode + as space', () => {
    const q = parseQuery('uploads&prefix=a+b%2Bc&max-keys=10');
    assert.equal(q.get('uploads'), '');
    assert.equal(q.get('prefix'), 'a b+c');
    assert.equal(q.get('max-keys'), '10');
  });
});
