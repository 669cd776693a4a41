import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BUILTIN_POLICIES, evaluate } from '../src/index.ts';
import { ANONYMOUS, BUCKET, bucketPolicy, request, user, userPolicy } from './fixtures.ts';

const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const OBJECTS_ARN = `arn:aws:s3:::${BUCKET}/*`;

describe('evaluate: the classic policies as written', () => {
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html (the two-statement form)
  const requireEncryption = bucketPolicy([
    {
      Sid: 'DenyIncorrectEncryptionHeader',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: OBJECTS_ARN,
      Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } },
    },
    {
      Sid: 'DenyUnEncryptedObjectUploads',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: OBJECTS_ARN,
      Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
    },
  ]);
  const writer = { userPolicies: [BUILTIN_POLICIES.readwrite], bucketPolicy: requireEncryption };

  it('should deny an upload without x-amz-server-side-encryption, even to a readwrite user', () => {
    const result = evaluate(request(user('alice'), 's3:PutObject', 'a.txt'), writer);
    assert.equal(result.decision, 'deny');
    assert.equal(result.reason?.sid, 'DenyIncorrectEncryptionHeader');
    assert.equal(result.bucketPolicy, 'deny');
    assert.equal(result.userPolicies, 'allow');
  });

  it('should deny an upload asking for another encryption', () => {
    const keys = { 's3:x-amz-server-side-encryption': 'aws:kms' };
    const result = evaluate(request(user('alice'), 's3:PutObject', 'a.txt', keys), writer);
    assert.deepEqual([result.decision, result.reason?.statement], ['deny', 0]);
  });

  it('should let an upload with x-amz-server-side-encryption: AES256 through to the user policy', () => {
    const keys = { 's3:x-amz-server-side-encryption': 'AES256' };
    const result = evaluate(request(user('alice'), 's3:PutObject', 'a.txt', keys), writer);
    assert.equal(result.decision, 'allow');
    assert.deepEqual(result.reason, {
      source: 'user-policy',
      policy: 0,
      statement: 0,
      sid: undefined,
      effect: 'Allow',
    });
    assert.equal(result.bucketPolicy, 'implicit-deny');
  });

  it('should leave other actions alone', () => {
    assert.equal(evaluate(request(user('alice'), 's3:GetObject', 'a.txt'), writer).decision, 'allow');
  });

  const denyHttp = bucketPolicy([
    {
      Sid: 'AllowSSLRequestsOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [BUCKET_ARN, OBJECTS_ARN],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    },
  ]);

  it('should deny every action over plain HTTP', () => {
    for (const [action, key] of [
      ['s3:GetObject', 'a'],
      ['s3:ListBucket', undefined],
      ['s3:DeleteBucket', undefined],
    ] as const) {
      const result = evaluate(request(user('alice'), action, key, { 'aws:SecureTransport': false }), {
        bucketPolicy: denyHttp,
        userPolicies: [BUILTIN_POLICIES.readwrite],
      });
      assert.equal(result.decision, 'deny', action);
      assert.equal(result.reason?.sid, 'AllowSSLRequestsOnly');
    }
  });

  it('should not deny over HTTPS', () => {
    const result = evaluate(request(user('alice'), 's3:GetObject', 'a', { 'aws:SecureTransport': 'true' }), {
      bucketPolicy: denyHttp,
      userPolicies: [BUILTIN_POLICIES.readwrite],
    });
    assert.equal(result.decision, 'allow');
  });

  const publicPrefix = bucketPolicy([
    {
      Sid: 'PublicRead',
      Effect: 'Allow',
      Principal: '*',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: `arn:aws:s3:::${BUCKET}/public/*`,
    },
  ]);

  it('should let anyone read under public/', () => {
    const result = evaluate(request(ANONYMOUS, 's3:GetObject', 'public/cat.jpg'), { bucketPolicy: publicPrefix });
    assert.equal(result.decision, 'allow');
    assert.equal(result.reason?.sid, 'PublicRead');
  });

  it('should deny anonymous reads elsewhere, listings and writes under public/', () => {
    for (const [action, key] of [
      ['s3:GetObject', 'private/cat.jpg'],
      ['s3:GetObject', 'publicity.jpg'],
      ['s3:ListBucket', undefined],
      ['s3:PutObject', 'public/cat.jpg'],
      ['s3:DeleteObject', 'public/cat.jpg'],
    ] as const) {
      const result = evaluate(request(ANONYMOUS, action, key), { bucketPolicy: publicPrefix });
      assert.equal(result.decision, 'implicit-deny', `${action} ${key}`);
      assert.equal(result.reason, undefined);
    }
  });

  const bobReadOnly = bucketPolicy([
    {
      Sid: 'BobReadsPhotos',
      Effect: 'Allow',
      Principal: { AWS: user('bob').arn },
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: [BUCKET_ARN, OBJECTS_ARN],
    },
  ]);

  it('should let the named user read and list the bucket', () => {
    assert.equal(evaluate(request(user('bob'), 's3:GetObject', 'a'), { bucketPolicy: bobReadOnly }).decision, 'allow');
    assert.equal(
      evaluate(request(user('bob'), 's3:ListBucket', undefined), { bucketPolicy: bobReadOnly }).decision,
      'allow',
    );
  });

  it('should not let the named user write, nor anyone else read', () => {
    assert.equal(
      evaluate(request(user('bob'), 's3:PutObject', 'a'), { bucketPolicy: bobReadOnly }).decision,
      'implicit-deny',
    );
    assert.equal(
      evaluate(request(user('carol'), 's3:GetObject', 'a'), { bucketPolicy: bobReadOnly }).decision,
      'implicit-deny',
    );
    assert.equal(
      evaluate(request(ANONYMOUS, 's3:GetObject', 'a'), { bucketPolicy: bobReadOnly }).decision,
      'implicit-deny',
    );
  });

  const backupKey = userPolicy([
    {
      Sid: 'WriteOnlyBackups',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      Resource: 'arn:aws:s3:::backups/*',
    },
  ]);

  it('should let a write-only backup key upload to its bucket and nothing else', () => {
    const backup = (action: string, resource: string) =>
      evaluate({ principal: user('backup'), action, resource }, { userPolicies: [backupKey] }).decision;
    assert.equal(backup('s3:PutObject', 'arn:aws:s3:::backups/2026/12/03.tar'), 'allow');
    assert.equal(backup('s3:AbortMultipartUpload', 'arn:aws:s3:::backups/2026/12/03.tar'), 'allow');
    assert.equal(backup('s3:GetObject', 'arn:aws:s3:::backups/2026/12/03.tar'), 'implicit-deny');
    assert.equal(backup('s3:DeleteObject', 'arn:aws:s3:::backups/2026/12/03.tar'), 'implicit-deny');
    assert.equal(backup('s3:ListBucket', 'arn:aws:s3:::backups'), 'implicit-deny');
    assert.equal(backup('s3:PutObject', 'arn:aws:s3:::photos/x'), 'implicit-deny');
    assert.equal(backup('s3:DeleteBucket', 'arn:aws:s3:::backups'), 'implicit-deny');
  });
});

describe('evaluate: principals, actions and resources', () => {
  it('should let an explicit Deny in a user policy win over a bucket policy Allow', () => {
    const allow = bucketPolicy([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: OBJECTS_ARN }]);
    const deny = userPolicy([{ Sid: 'no', Effect: 'Deny', Action: 's3:GetObject', Resource: '*' }]);
    const result = evaluate(request(user('alice'), 's3:GetObject', 'a'), { bucketPolicy: allow, userPolicies: [deny] });
    assert.equal(result.decision, 'deny');
    assert.deepEqual(result.reason, { source: 'user-policy', policy: 0, statement: 0, sid: 'no', effect: 'Deny' });
    assert.deepEqual([result.bucketPolicy, result.userPolicies], ['allow', 'deny']);
  });

  it('should let a user policy given as the bucket policy grant no one anything', () => {
    const result = evaluate(request(ANONYMOUS, 's3:GetObject', 'a'), { bucketPolicy: BUILTIN_POLICIES.readwrite });
    assert.equal(result.decision, 'implicit-deny');
  });

  it('should give implicit-deny with no policies at all', () => {
    const result = evaluate(request(user('alice'), 's3:GetObject', 'a'), {});
    assert.deepEqual(result, {
      decision: 'implicit-deny',
      reason: undefined,
      bucketPolicy: undefined,
      userPolicies: undefined,
    });
  });

  it('should let an account principal deny its users but grant them nothing', () => {
    const policy = bucketPolicy([
      { Effect: 'Allow', Principal: { AWS: '111122223333' }, Action: 's3:GetObject', Resource: OBJECTS_ARN },
      {
        Effect: 'Deny',
        Principal: { AWS: 'arn:aws:iam::111122223333:root' },
        Action: 's3:DeleteObject',
        Resource: OBJECTS_ARN,
      },
    ]);
    assert.equal(
      evaluate(request(user('alice'), 's3:GetObject', 'a'), { bucketPolicy: policy }).decision,
      'implicit-deny',
    );
    assert.equal(evaluate(request(user('alice'), 's3:DeleteObject', 'a'), { bucketPolicy: policy }).decision, 'deny');
  });

  it('should match a canonical user ID in any case', () => {
    const alice = user('alice');
    const policy = bucketPolicy([
      {
        Effect: 'Allow',
        Principal: { CanonicalUser: alice.canonicalId.toUpperCase() },
        Action: 's3:GetObject',
        Resource: OBJECTS_ARN,
      },
    ]);
    assert.equal(evaluate(request(alice, 's3:GetObject', 'a'), { bucketPolicy: policy }).decision, 'allow');
    assert.equal(
      evaluate(request(user('bob'), 's3:GetObject', 'a'), { bucketPolicy: policy }).decision,
      'implicit-deny',
    );
  });

  it('should deny everyone but the NotPrincipal', () => {
    const policy = bucketPolicy([
      { Effect: 'Deny', NotPrincipal: { AWS: user('admin').arn }, Action: 's3:DeleteObject', Resource: OBJECTS_ARN },
    ]);
    assert.equal(
      evaluate(request(user('admin'), 's3:DeleteObject', 'a'), { bucketPolicy: policy }).decision,
      'implicit-deny',
    );
    assert.equal(evaluate(request(user('alice'), 's3:DeleteObject', 'a'), { bucketPolicy: policy }).decision, 'deny');
    assert.equal(evaluate(request(ANONYMOUS, 's3:DeleteObject', 'a'), { bucketPolicy: policy }).decision, 'deny');
  });

  it('should match actions without regard to case and with wildcards, and NotAction by exclusion', () => {
    const policy = userPolicy([
      { Effect: 'Allow', Action: 'S3:get*', Resource: '*' },
      { Effect: 'Deny', NotAction: ['s3:Get*', 's3:List*'], Resource: '*' },
    ]);
    const decide = (action: string) => evaluate(request(user('a'), action, 'k'), { userPolicies: [policy] }).decision;
    assert.equal(decide('s3:GetObject'), 'allow');
    assert.equal(decide('s3:GetObjectTagging'), 'allow');
    assert.equal(decide('s3:ListBucket'), 'implicit-deny');
    assert.equal(decide('s3:PutObject'), 'deny');
  });

  it('should match resources with * across slashes and ? as one character, case-sensitively', () => {
    const policy = userPolicy([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/20??/*.jpg' },
    ]);
    const decide = (key: string) =>
      evaluate(request(user('a'), 's3:GetObject', key), { userPolicies: [policy] }).decision;
    assert.equal(decide('2026/12/03/cat.jpg'), 'allow');
    assert.equal(decide('2026/cat.JPG'), 'implicit-deny');
    assert.equal(decide('202/cat.jpg'), 'implicit-deny');
  });

  it('should apply NotResource to every resource but those named', () => {
    const policy = userPolicy([
      { Effect: 'Allow', Action: 's3:*', Resource: '*' },
      { Effect: 'Deny', Action: 's3:*', NotResource: ['arn:aws:s3:::photos', 'arn:aws:s3:::photos/*'] },
    ]);
    const decide = (resource: string) =>
      evaluate({ principal: user('a'), action: 's3:GetObject', resource }, { userPolicies: [policy] }).decision;
    assert.equal(decide('arn:aws:s3:::photos/a'), 'allow');
    assert.equal(decide('arn:aws:s3:::other/a'), 'deny');
  });

  it('should substitute policy variables as literal text, and match nothing without a value', () => {
    const policy = userPolicy([
      { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::photos/home/${aws:username}/*' },
    ]);
    const decide = (principal: ReturnType<typeof user>, key: string) =>
      evaluate(request(principal, 's3:PutObject', key), { userPolicies: [policy] }).decision;
    assert.equal(decide(user('alice'), 'home/alice/a.txt'), 'allow');
    assert.equal(decide(user('alice'), 'home/bob/a.txt'), 'implicit-deny');
    // A user named `*` gets no wildcard: the variable's value is literal.
    assert.equal(decide({ ...user('x'), userName: '*' }, 'home/bob/a.txt'), 'implicit-deny');
    assert.equal(decide({ ...user('x'), userName: '*' }, 'home/*/a.txt'), 'allow');
    const anonymousPolicy = bucketPolicy([
      {
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `arn:aws:s3:::${BUCKET}/\${aws:username}/*`,
      },
    ]);
    assert.equal(
      evaluate(request(ANONYMOUS, 's3:GetObject', '/x'), { bucketPolicy: anonymousPolicy }).decision,
      'implicit-deny',
    );
  });

  it('should use a variable default, and ${*} ${?} ${$} as literal characters', () => {
    const policy = userPolicy([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: "arn:aws:s3:::photos/${s3:prefix, 'none'}/${*}${?}${$}" },
    ]);
    const decide = (key: string, keys = {}) =>
      evaluate(request(user('a'), 's3:GetObject', key, keys), { userPolicies: [policy] }).decision;
    assert.equal(decide('none/*?$'), 'allow');
    assert.equal(decide('none/ab$'), 'implicit-deny');
    assert.equal(decide('docs/*?$', { 's3:prefix': 'docs' }), 'allow');
  });

  it('should read a tagged variable by its key in any case and its tag key exactly', () => {
    const policy = userPolicy([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::photos/${AWS:PrincipalTag/Team}/*' },
    ]);
    const decide = (keys: Record<string, string>) =>
      evaluate(request(user('a'), 's3:GetObject', 'blue/x', keys), { userPolicies: [policy] }).decision;
    assert.equal(decide({ 'aws:principaltag/Team': 'blue' }), 'allow');
    assert.equal(decide({ 'aws:PrincipalTag/team': 'blue' }), 'implicit-deny');
  });

  it('should allow ListAllMyBuckets (resource *) under readwrite but not readonly', () => {
    const list = { principal: user('a'), action: 's3:ListAllMyBuckets', resource: '*' };
    assert.equal(evaluate(list, { userPolicies: [BUILTIN_POLICIES.readwrite] }).decision, 'allow');
    assert.equal(evaluate(list, { userPolicies: [BUILTIN_POLICIES.readonly] }).decision, 'implicit-deny');
  });

  it('should derive aws:username, aws:userid and aws:PrincipalType from the principal, not from keys', () => {
    const policy = userPolicy([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:username': 'alice', 'aws:PrincipalType': 'User', 'aws:userid': 'AIDAALICE' },
        },
      },
    ]);
    const spoof = { 'aws:username': 'alice', 'aws:userid': 'AIDAALICE' };
    assert.equal(evaluate(request(user('alice'), 's3:GetObject', 'k'), { userPolicies: [policy] }).decision, 'allow');
    assert.equal(
      evaluate(request(user('bob'), 's3:GetObject', 'k', spoof), { userPolicies: [policy] }).decision,
      'implicit-deny',
    );
  });
});

describe('BUILTIN_POLICIES', () => {
  const decide = (name: keyof typeof BUILTIN_POLICIES, action: string, key?: string) =>
    evaluate(request(user('a'), action, key), { userPolicies: [BUILTIN_POLICIES[name]] }).decision;

  it('should let readwrite do every S3 action on every bucket and object', () => {
    for (const [action, key] of [
      ['s3:GetObject', 'k'],
      ['s3:PutObject', 'k'],
      ['s3:DeleteObject', 'k'],
      ['s3:ListBucket', undefined],
      ['s3:DeleteBucket', undefined],
      ['s3:PutBucketPolicy', undefined],
    ] as const) {
      assert.equal(decide('readwrite', action, key), 'allow', action);
    }
  });

  it('should let readonly get objects and bucket locations only', () => {
    assert.equal(decide('readonly', 's3:GetObject', 'k'), 'allow');
    assert.equal(decide('readonly', 's3:GetBucketLocation'), 'allow');
    assert.equal(decide('readonly', 's3:PutObject', 'k'), 'implicit-deny');
    assert.equal(decide('readonly', 's3:DeleteObject', 'k'), 'implicit-deny');
  });

  it('should let writeonly put objects only', () => {
    assert.equal(decide('writeonly', 's3:PutObject', 'k'), 'allow');
    assert.equal(decide('writeonly', 's3:GetObject', 'k'), 'implicit-deny');
    assert.equal(decide('writeonly', 's3:DeleteObject', 'k'), 'implicit-deny');
    assert.equal(decide('writeonly', 's3:ListBucket'), 'implicit-deny');
  });
});
