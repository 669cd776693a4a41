/**
 * Bucket policies and user policies end to end (issue 16 points 4, 5 and 7): the classic policies as AWS's
 * documentation writes them, put with the JS SDK and enforced against the JS SDK, presigned URLs, POST forms and
 * anonymous curl; Block Public Access's BlockPublicPolicy and RestrictPublicBuckets; user policies set with
 * `coffer user add --policy` and `coffer user policy set|show|clear`, which bound a user even on its own buckets.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from 'node:https';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DOCUMENTS } from '../../policy/test/bad-documents.ts';
import { rejectsS3 } from './helpers/assert.ts';
import { Clients, describeRun, hasProgram, sdkClient } from './helpers/clients.ts';
import { httpSend, parseErrorXml, signedSend } from './helpers/http.ts';
import { makeTempDir, randomCredentials, runCli, startServer, type RunningServer } from './helpers/server.ts';

type Credentials = { accessKey: string; secretKey: string; name: string };

/** Adds a user with the CLI (optionally with `--policy`) and returns its ARN, which `user add` prints. */
async function addUser(dataDir: string, user: Credentials, policy?: string): Promise<string> {
  const args = ['user', 'add', '--data', dataDir, '--access-key', user.accessKey, '--secret-key', user.secretKey];
  const r = await runCli([...args, '--name', user.name, ...(policy ? ['--policy', policy] : [])]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return /arn:aws:iam::\d{12}:user\/\S+(?=\))/.exec(r.stdout)![0];
}

const policyOf = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

/** AWS's policy that denies every request over plain HTTP (aws:SecureTransport false). */
const denyPlainHttp = (bucket: string) =>
  policyOf({
    Sid: 'AllowSSLRequestsOnly',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  });

/** Anonymous GET with curl: the status code. */
function curlStatus(url: string): number {
  return Number(execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', url], { encoding: 'utf8' }));
}

describe('bucket and user policies', () => {
  let server: RunningServer;
  let root: S3Client;
  let other: S3Client;
  let backup: S3Client;
  let limited: S3Client;
  let otherArn: string;
  let backupArn: string;

  before(async () => {
    const dataDir = await makeTempDir();
    const users = (name: string) => ({ ...randomCredentials(), name });
    const [o, b, l] = [users('other'), users('backup'), users('limited')];
    otherArn = await addUser(dataDir, o);
    backupArn = await addUser(dataDir, b, 'writeonly');
    // A key limited to one bucket's objects, allowed to create buckets: even its own second bucket is closed to it.
    const limitedPolicy = join(dataDir, 'limited.json');
    await writeFile(
      limitedPolicy,
      policyOf(
        { Effect: 'Allow', Action: 's3:CreateBucket', Resource: 'arn:aws:s3:::*' },
        { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: 'arn:aws:s3:::lim-a/*' },
      ),
    );
    await addUser(dataDir, l, limitedPolicy);
    server = await startServer({ dataDir, args: ['--default-public-access-block', 'off'] });
    root = sdkClient(server, server);
    other = sdkClient(server, o);
    backup = sdkClient(server, b);
    limited = sdkClient(server, l);
  });

  after(async () => {
    for (const c of [root, other, backup, limited]) c?.destroy();
    await server?.stop({ removeDir: true });
  });

  it('should store a policy as sent, return it, and answer NoSuchBucketPolicy once it is deleted', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'pol-crud' }));
    await rejectsS3(root.send(new GetBucketPolicyCommand({ Bucket: 'pol-crud' })), 404, 'NoSuchBucketPolicy');
    const text = `${policyOf({
      Sid: 'ReadForOther',
      Effect: 'Allow',
      Principal: { AWS: otherArn },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::pol-crud/*',
    })}\n`;
    const put = await root.send(new PutBucketPolicyCommand({ Bucket: 'pol-crud', Policy: text }));
    assert.equal(put.$metadata.httpStatusCode, 204);
    assert.equal((await root.send(new GetBucketPolicyCommand({ Bucket: 'pol-crud' }))).Policy, text);
    const status = await root.send(new GetBucketPolicyStatusCommand({ Bucket: 'pol-crud' }));
    assert.equal(status.PolicyStatus?.IsPublic, false);
    // Only the owner (or a policy that allows it) reads and writes a bucket's policy.
    await rejectsS3(other.send(new GetBucketPolicyCommand({ Bucket: 'pol-crud' })), 403, 'AccessDenied');
    await rejectsS3(other.send(new DeleteBucketPolicyCommand({ Bucket: 'pol-crud' })), 403, 'AccessDenied');
    const del = await root.send(new DeleteBucketPolicyCommand({ Bucket: 'pol-crud' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await rejectsS3(root.send(new GetBucketPolicyCommand({ Bucket: 'pol-crud' })), 404, 'NoSuchBucketPolicy');
  });

  it('should refuse a principal that is no user, with MalformedPolicy and S3 message', async () => {
    const text = policyOf({
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:user/nobody' },
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::pol-crud/*',
    });
    const err = await rejectsS3(
      root.send(new PutBucketPolicyCommand({ Bucket: 'pol-crud', Policy: text })),
      400,
      'MalformedPolicy',
    );
    assert.equal(err.message, 'Invalid principal in policy');
  });

  it('should deny uploads without x-amz-server-side-encryption: SDK, presigned PUT and POST form', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'pol-sse' }));
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html (as written there)
    const text = policyOf(
      {
        Sid: 'DenyIncorrectEncryptionHeader',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::pol-sse/*',
        Condition: { StringNotEquals: { 's3:x-amz-server-side-encryption': 'AES256' } },
      },
      {
        Sid: 'DenyUnEncryptedObjectUploads',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: 'arn:aws:s3:::pol-sse/*',
        Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
      },
    );
    await root.send(new PutBucketPolicyCommand({ Bucket: 'pol-sse', Policy: text }));
    const put = (extra: object) =>
      root.send(new PutObjectCommand({ Bucket: 'pol-sse', Key: 'k', Body: 'x', ...extra }));
    await rejectsS3(put({}), 403, 'AccessDenied');
    const ok = await put({ ServerSideEncryption: 'AES256' });
    assert.equal(ok.ServerSideEncryption, 'AES256');

    const url = await getSignedUrl(root, new PutObjectCommand({ Bucket: 'pol-sse', Key: 'presigned' }));
    assert.equal((await fetch(url, { method: 'PUT', body: 'x' })).status, 403);

    const post = async (fields: Record<string, string>) => {
      const form = await createPresignedPost(root as never, {
        Bucket: 'pol-sse',
        Key: 'posted',
        Fields: fields,
        Conditions: Object.entries(fields).map(([k, v]) => ({ [k]: v })),
      });
      const body = new FormData();
      for (const [k, v] of Object.entries(form.fields)) body.append(k, v);
      body.append('file', new Blob([new Uint8Array(Buffer.from('form bytes'))]), 'f.txt');
      return (await fetch(form.url, { method: 'POST', body })).status;
    };
    assert.equal(await post({}), 403);
    assert.equal(await post({ 'x-amz-server-side-encryption': 'AES256' }), 204);
  });

  it('should deny plain HTTP (aws:SecureTransport false) to all, the owner too, who may remove the policy', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'pol-tls' }));
    await root.send(new PutObjectCommand({ Bucket: 'pol-tls', Key: 'k', Body: 'x' }));
    const text = denyPlainHttp('pol-tls');
    await root.send(new PutBucketPolicyCommand({ Bucket: 'pol-tls', Policy: text }));
    await rejectsS3(root.send(new GetObjectCommand({ Bucket: 'pol-tls', Key: 'k' })), 403, 'AccessDenied');
    await rejectsS3(root.send(new ListObjectsV2Command({ Bucket: 'pol-tls' })), 403, 'AccessDenied');
    // The owner is never locked out of its bucket's policy (as an account's root user on AWS).
    await root.send(new DeleteBucketPolicyCommand({ Bucket: 'pol-tls' }));
    assert.equal(
      (await root.send(new GetObjectCommand({ Bucket: 'pol-tls', Key: 'k' }))).$metadata.httpStatusCode,
      200,
    );
  });

  it('should open one prefix to anonymous curl, and close it again under RestrictPublicBuckets', async () => {
    assert.ok(hasProgram('curl'), 'curl is installed');
    await root.send(new CreateBucketCommand({ Bucket: 'pol-public' }));
    for (const Key of ['public/a.txt', 'private/a.txt'])
      await root.send(new PutObjectCommand({ Bucket: 'pol-public', Key, Body: 'x' }));
    const text = policyOf({
      Sid: 'PublicRead',
      Effect: 'Allow',
      Principal: '*',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: 'arn:aws:s3:::pol-public/public/*',
    });
    await root.send(new PutBucketPolicyCommand({ Bucket: 'pol-public', Policy: text }));
    assert.equal(curlStatus(`${server.url}/pol-public/public/a.txt`), 200);
    assert.equal(curlStatus(`${server.url}/pol-public/private/a.txt`), 403);
    assert.equal(curlStatus(`${server.url}/pol-public`), 403);
    const status = await root.send(new GetBucketPolicyStatusCommand({ Bucket: 'pol-public' }));
    assert.equal(status.PolicyStatus?.IsPublic, true);

    const block = (flags: object) =>
      root.send(new PutPublicAccessBlockCommand({ Bucket: 'pol-public', PublicAccessBlockConfiguration: flags }));
    await block({ RestrictPublicBuckets: true });
    assert.equal(curlStatus(`${server.url}/pol-public/public/a.txt`), 403);
    // Another user is another account: a public policy no longer lets it in either.
    await rejectsS3(
      other.send(new GetObjectCommand({ Bucket: 'pol-public', Key: 'public/a.txt' })),
      403,
      'AccessDenied',
    );

    await block({ BlockPublicPolicy: true });
    await rejectsS3(root.send(new PutBucketPolicyCommand({ Bucket: 'pol-public', Policy: text })), 403, 'AccessDenied');
  });

  it('should give another user read-only access to one bucket and nothing more', async () => {
    for (const Bucket of ['pol-shared', 'pol-unshared']) {
      await root.send(new CreateBucketCommand({ Bucket }));
      await root.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'shared bytes' }));
    }
    const text = policyOf({
      Sid: 'ReadOnlyForOther',
      Effect: 'Allow',
      Principal: { AWS: [otherArn] },
      Action: ['s3:GetObject', 's3:ListBucket'],
      Resource: ['arn:aws:s3:::pol-shared', 'arn:aws:s3:::pol-shared/*'],
    });
    await root.send(new PutBucketPolicyCommand({ Bucket: 'pol-shared', Policy: text }));
    const got = await other.send(new GetObjectCommand({ Bucket: 'pol-shared', Key: 'k' }));
    assert.equal(await got.Body?.transformToString(), 'shared bytes');
    const listed = await other.send(new ListObjectsV2Command({ Bucket: 'pol-shared' }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      ['k'],
    );
    const denied = [
      () => other.send(new PutObjectCommand({ Bucket: 'pol-shared', Key: 'new', Body: 'x' })),
      () => other.send(new DeleteObjectCommand({ Bucket: 'pol-shared', Key: 'k' })),
      () => other.send(new GetObjectCommand({ Bucket: 'pol-unshared', Key: 'k' })),
      () => other.send(new GetBucketPolicyCommand({ Bucket: 'pol-shared' })),
    ];
    for (const send of denied) await rejectsS3(send(), 403, 'AccessDenied');
  });

  it('should let a write-only backup key (user policy writeonly) PUT, and refuse it GET and DELETE', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'pol-backups' }));
    // The bucket's side allows more than the key's own policy does: the user policy still bounds it.
    const text = policyOf({
      Effect: 'Allow',
      Principal: { AWS: backupArn },
      Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
      Resource: 'arn:aws:s3:::pol-backups/*',
    });
    await root.send(new PutBucketPolicyCommand({ Bucket: 'pol-backups', Policy: text }));
    const put = await backup.send(new PutObjectCommand({ Bucket: 'pol-backups', Key: 'db.dump', Body: 'dump' }));
    assert.equal(put.$metadata.httpStatusCode, 200);
    await rejectsS3(backup.send(new GetObjectCommand({ Bucket: 'pol-backups', Key: 'db.dump' })), 403, 'AccessDenied');
    await rejectsS3(
      backup.send(new DeleteObjectCommand({ Bucket: 'pol-backups', Key: 'db.dump' })),
      403,
      'AccessDenied',
    );
    const kept = await root.send(new GetObjectCommand({ Bucket: 'pol-backups', Key: 'db.dump' }));
    assert.equal(await kept.Body?.transformToString(), 'dump');
  });

  it("should bound a user by its policy on its own buckets: one bucket's objects, not its second bucket", async () => {
    for (const Bucket of ['lim-a', 'lim-b']) await limited.send(new CreateBucketCommand({ Bucket }));
    await limited.send(new PutObjectCommand({ Bucket: 'lim-a', Key: 'k', Body: 'mine' }));
    const got = await limited.send(new GetObjectCommand({ Bucket: 'lim-a', Key: 'k' }));
    assert.equal(await got.Body?.transformToString(), 'mine');
    await rejectsS3(limited.send(new PutObjectCommand({ Bucket: 'lim-b', Key: 'k', Body: 'x' })), 403, 'AccessDenied');
    await rejectsS3(limited.send(new DeleteObjectCommand({ Bucket: 'lim-a', Key: 'k' })), 403, 'AccessDenied');
    await rejectsS3(limited.send(new ListObjectsV2Command({ Bucket: 'lim-a' })), 403, 'AccessDenied');
  });

  it('should take a policy from aws s3api put-bucket-policy, and serve its public prefix to boto3 unsigned', async () => {
    const clients = await Clients.create(server);
    try {
      await root.send(new CreateBucketCommand({ Bucket: 'pol-cli' }));
      for (const Key of ['pub/a', 'priv/a'])
        await root.send(new PutObjectCommand({ Bucket: 'pol-cli', Key, Body: Key }));
      const text = policyOf({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::pol-cli/pub/*',
      });
      await writeFile(join(clients.dir, 'policy.json'), text);
      const put = await clients.aws([
        's3api',
        'put-bucket-policy',
        '--bucket',
        'pol-cli',
        '--policy',
        'file://policy.json',
      ]);
      assert.equal(put.code, 0, describeRun(put));
      const got = await clients.aws(['s3api', 'get-bucket-policy', '--bucket', 'pol-cli']);
      assert.equal(got.code, 0, describeRun(got));
      assert.equal(JSON.parse(got.stdout).Policy, text);
      await writeFile(join(clients.dir, 'bad.json'), text.replace('s3:GetObject', 's3:GetObjekt'));
      const bad = await clients.aws([
        's3api',
        'put-bucket-policy',
        '--bucket',
        'pol-cli',
        '--policy',
        'file://bad.json',
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /\(MalformedPolicy\).*Policy has invalid action/);
      const r = await clients.boto3(`
from botocore import UNSIGNED
anon = boto3.client('s3', endpoint_url=os.environ['COFFER_ENDPOINT'], region_name='us-east-1',
    config=Config(signature_version=UNSIGNED, s3={'addressing_style': 'path'}))
print(anon.get_object(Bucket='pol-cli', Key='pub/a')['Body'].read().decode())
try:
    anon.get_object(Bucket='pol-cli', Key='priv/a')
except ClientError as e:
    print(e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'])
`);
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(r.stdout.trim().split('\n'), ['pub/a', 'AccessDenied 403']);
    } finally {
      await clients.cleanup();
    }
  });

  it('should deny presigned URLs where a policy says s3:authType must not be REST-QUERY-STRING', async () => {
    await root.send(new CreateBucketCommand({ Bucket: 'pol-presign' }));
    await root.send(new PutObjectCommand({ Bucket: 'pol-presign', Key: 'k', Body: 'x' }));
    const url = await getSignedUrl(root, new GetObjectCommand({ Bucket: 'pol-presign', Key: 'k' }));
    assert.equal((await fetch(url)).status, 200);
    const text = policyOf({
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::pol-presign/*',
      Condition: { StringEquals: { 's3:authType': 'REST-QUERY-STRING' } },
    });
    await root.send(new PutBucketPolicyCommand({ Bucket: 'pol-presign', Policy: text }));
    const r = await fetch(url);
    assert.equal(r.status, 403);
    assert.match(await r.text(), /<Code>AccessDenied<\/Code>/);
    const got = await root.send(new GetObjectCommand({ Bucket: 'pol-presign', Key: 'k' }));
    assert.equal(got.$metadata.httpStatusCode, 200);
  });
});

describe('aws:SecureTransport over HTTPS', () => {
  let server: RunningServer;
  let sdk: S3Client;

  before(async () => {
    const dir = await makeTempDir('coffer-tls-');
    const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', ...subject, '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore' },
    );
    server = await startServer({ args: ['--tls-cert', certFile, '--tls-key', keyFile] });
    const httpsAgent = new Agent({ ca: await readFile(certFile) });
    sdk = sdkClient(server, server, { requestHandler: new NodeHttpHandler({ httpsAgent }) });
  });

  after(async () => {
    sdk?.destroy();
    await server?.stop({ removeDir: true });
  });

  it('should allow over TLS what the deny-plain-HTTP policy refuses over HTTP', async () => {
    await sdk.send(new CreateBucketCommand({ Bucket: 'pol-tls' }));
    const text = denyPlainHttp('pol-tls');
    await sdk.send(new PutBucketPolicyCommand({ Bucket: 'pol-tls', Policy: text }));
    await sdk.send(new PutObjectCommand({ Bucket: 'pol-tls', Key: 'k', Body: 'over tls' }));
    const got = await sdk.send(new GetObjectCommand({ Bucket: 'pol-tls', Key: 'k' }));
    assert.equal(await got.Body?.transformToString(), 'over tls');
  });
});

describe("PutBucketPolicy with malformed and hostile documents (the policy package's bad-input set)", () => {
  let server: RunningServer;
  // The bucket the set's documents are written for.
  const BUCKET = 'photos';

  before(async () => {
    server = await startServer({ args: ['--default-public-access-block', 'off'] });
    await signedSend(server, { method: 'PUT', path: `/${BUCKET}` });
    const r = await signedSend(server, { method: 'PUT', path: `/${BUCKET}/secret`, body: Buffer.from('secret') });
    assert.equal(r.status, 200);
  });

  after(async () => {
    await server?.stop({ removeDir: true });
  });

  it(`should refuse each of ${DOCUMENTS.length} documents with 400 MalformedPolicy or PolicyTooLarge`, async () => {
    assert.ok(DOCUMENTS.length >= 100);
    for (const [what, text] of DOCUMENTS) {
      const body = Buffer.from(text);
      const r = await signedSend(server, { method: 'PUT', path: `/${BUCKET}`, query: { policy: '' }, body });
      const code = parseErrorXml(r.text)['Code'];
      assert.equal(r.status, 400, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
      assert.ok(code === 'MalformedPolicy' || code === 'PolicyTooLarge', `${what}: ${code}`);
    }
  });

  it('should have stored none of them, and let nobody in', async () => {
    const stored = await signedSend(server, { method: 'GET', path: `/${BUCKET}`, query: { policy: '' } });
    assert.equal(parseErrorXml(stored.text)['Code'], 'NoSuchBucketPolicy');
    for (const path of [`/${BUCKET}/secret`, `/${BUCKET}`]) {
      const r = await httpSend({ method: 'GET', url: server.url, path });
      assert.equal(r.status, 403, path);
      assert.equal(parseErrorXml(r.text)['Code'], 'AccessDenied', path);
    }
    const alive = await signedSend(server, { method: 'GET', path: `/${BUCKET}/secret` });
    assert.equal(alive.text, 'secret');
  });
});

describe('coffer user policy set|show|clear', () => {
  it('should set a built-in or a file policy, show it, refuse a malformed one, and clear it', async () => {
    const dataDir = await makeTempDir();
    const user = { ...randomCredentials(), name: 'cli-user' };
    await addUser(dataDir, user);
    const cli = (...args: string[]) => runCli(['user', 'policy', ...args, '--data', dataDir]);
    assert.equal((await cli('show', 'cli-user')).stdout, 'no policy\n');
    assert.equal((await cli('set', 'cli-user', 'readonly')).code, 0);
    assert.equal((await cli('show', user.accessKey)).stdout, 'readonly\n');
    const file = join(dataDir, 'p.json');
    const text = policyOf({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' });
    await writeFile(file, text);
    assert.equal((await cli('set', 'cli-user', file)).code, 0);
    assert.equal((await cli('show', 'cli-user')).stdout, `${text}\n`);
    // A user policy names no principal (IAM's rule): refused, and the stored policy stays.
    await writeFile(file, policyOf({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' }));
    const bad = await cli('set', 'cli-user', file);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'coffer: Policy document should not specify a principal.\n');
    assert.equal((await cli('show', 'cli-user')).stdout, `${text}\n`);
    assert.equal((await cli('clear', 'cli-user')).code, 0);
    assert.equal((await cli('show', 'cli-user')).stdout, 'no policy\n');
    const missing = await cli('show', 'nobody');
    assert.equal(missing.code, 1);
    await rm(dataDir, { recursive: true, force: true });
  });
});
