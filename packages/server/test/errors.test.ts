import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { KvError } from '@coffer/kv';

import { PACKAGE_ERRORS, S3Error, S3_ERRORS, toS3Error, type S3ErrorCode } from '../src/errors.ts';

describe('S3_ERRORS', () => {
  const statuses: [string, number][] = [
    ['AccessDenied', 403],
    ['NoSuchBucket', 404],
    ['NoSuchKey', 404],
    ['BucketNotEmpty', 409],
    ['BucketAlreadyOwnedByYou', 409],
    ['InvalidBucketName', 400],
    ['InvalidRange', 416],
    ['PreconditionFailed', 412],
    ['SignatureDoesNotMatch', 403],
    ['RequestTimeTooSkewed', 403],
    ['MissingContentLength', 411],
    ['NotImplemented', 501],
    ['InternalError', 500],
    ['MethodNotAllowed', 405],
    ['KeyTooLongError', 400],
    ['XAmzContentSHA256Mismatch', 400],
    ['InvalidPartNumber', 416],
    ['XCofferStorageFull', 507],
    ['ServiceUnavailable', 503],
  ];
  for (const [code, status] of statuses) {
    it(`should answer ${code} with ${status}`, () => {
      assert.equal(S3_ERRORS[code as keyof typeof S3_ERRORS][0], status);
      assert.equal(new S3Error(code as keyof typeof S3_ERRORS).status, status);
    });
  }
  it('should keep AWS messages exactly (NoSuchBucket has no period, NoSuchKey has one)', () => {
    assert.equal(new S3Error('NoSuchBucket').message, 'The specified bucket does not exist');
    assert.equal(new S3Error('NoSuchKey').message, 'The specified key does not exist.');
  });
});

describe('toS3Error', () => {
  const mapped: [string, string, number][] = [
    ['SIGV4_SIGNATURE_MISMATCH', 'SignatureDoesNotMatch', 403],
    ['SIGV4_UNKNOWN_ACCESS_KEY', 'InvalidAccessKeyId', 403],
    ['SIGV4_MISSING_AUTH', 'AccessDenied', 403],
    ['SIGV4_PAYLOAD_HASH_MISMATCH', 'XAmzContentSHA256Mismatch', 400],
    ['SIGV4_INCOMPLETE_BODY', 'IncompleteBody', 400],
    ['SIGV4_CHECKSUM_MISMATCH', 'BadDigest', 400],
    ['XML_MALFORMED', 'MalformedXML', 400],
    ['CRYPTO_WRONG_KEY', 'AccessDenied', 403],
    ['CRYPTO_KMS_NOT_IMPLEMENTED', 'NotImplemented', 501],
    ['BLOB_NO_SUCH_BUCKET', 'NoSuchBucket', 404],
    ['BLOB_PRECONDITION_FAILED', 'PreconditionFailed', 412],
    ['BLOB_NO_SPACE', 'XCofferStorageFull', 507],
    ['BLOB_UNAVAILABLE', 'ServiceUnavailable', 503],
    ['CHUNKS_UNAVAILABLE', 'ServiceUnavailable', 503],
    ['CHUNKS_NO_SPACE', 'XCofferStorageFull', 507],
    ['CHUNKS_IO', 'InternalError', 500],
    ['POLICY_MALFORMED', 'MalformedPolicy', 400],
    ['POLICY_TOO_LARGE', 'PolicyTooLarge', 400],
  ];
  for (const [from, code, status] of mapped) {
    it(`should map ${from} to ${code} ${status}`, () => {
      const err = Object.assign(new Error('x'), { code: from, details: {} });
      const e = toS3Error(err);
      assert.equal(e.code, code);
      assert.equal(e.status, status);
    });
  }
  it('should hide the detail of anything unknown behind InternalError', () => {
    const e = toS3Error(new Error('ENOENT: /secret/path'));
    assert.equal(e.code, 'InternalError');
    assert.equal(e.status, 500);
    assert.equal(e.message, 'We encountered an internal error. Please try again.');
  });
  it("should answer a full disk with the reserve's message, which says to delete objects, not the store's", () => {
    const thrown = Object.assign(new Error('the metadata commit failed: no space left'), { code: 'BLOB_NO_SPACE' });
    const e = toS3Error(thrown);
    assert.match(e.message, /^Storage backend has reached its minimum free space threshold\. Please delete a few/);
  });
  it('should carry package details as extra elements', () => {
    const e = toS3Error(
      Object.assign(new Error('The Content-MD5 you specified did not match what we received.'), {
        code: 'SIGV4_BAD_DIGEST',
        details: { ExpectedDigest: 'ab' },
      }),
    );
    assert.equal(e.extra.ExpectedDigest, 'ab');
    assert.equal(e.message, 'The Content-MD5 you specified did not match what we received.');
  });
});

describe('PACKAGE_ERRORS', () => {
  const DEFAULT = "the package's own words, naming /internal/paths";
  for (const [from, { s3, showMessage }] of Object.entries(PACKAGE_ERRORS)) {
    it(`should answer ${from} with ${s3} ${S3_ERRORS[s3][0]}${showMessage ? ' and its message' : ', hiding its message'}`, () => {
      const e = toS3Error(Object.assign(new Error(DEFAULT), { code: from, details: { Detail: 'd' } }));
      assert.equal(e.code, s3);
      assert.equal(e.status, S3_ERRORS[s3][0]);
      assert.equal(e.message, showMessage ? DEFAULT : S3_ERRORS[s3][1]);
      // A server fault never carries the package's details into the error document.
      assert.deepEqual(e.extra, s3 === 'InternalError' ? {} : { Detail: 'd' });
    });
  }
  it("should answer a metadata engine's own KV_UNAVAILABLE (a read while PostgreSQL is down) with a bare 503", () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const e = toS3Error(new KvError('KV_UNAVAILABLE', 'the metadata database cannot be reached', { cause }));
    assert.equal(e.code, 'ServiceUnavailable');
    assert.equal(e.status, 503);
    assert.equal(e.message, 'Service is unable to handle request.');
    assert.deepEqual(e.extra, {});
  });
  it('should name each code once per package prefix (SIGV4_, XML_, CRYPTO_, BLOB_, CHUNKS_, MP_, KV_, POLICY_)', () => {
    for (const code of Object.keys(PACKAGE_ERRORS)) {
      assert.match(code, /^(SIGV4|XML|CRYPTO|BLOB|CHUNKS|MP|KV|POLICY)_[A-Z0-9_]+$/);
    }
  });
});

describe('S3_ERRORS', () => {
  it('should hold only codes the server answers with: each is a mapping target or named in a server source', () => {
    const srcDir = join(import.meta.dirname, '..', 'src');
    const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && f !== 'errors.ts',
    );
    const sources = files.map((f) => readFileSync(join(srcDir, f), 'utf8')).join('\n');
    const targets = new Set<S3ErrorCode>(Object.values(PACKAGE_ERRORS).map((m) => m.s3));
    const unused = (Object.keys(S3_ERRORS) as S3ErrorCode[]).filter(
      (c) => !targets.has(c) && !sources.includes(`'${c}'`),
    );
    assert.deepEqual(unused, []);
  });
});
