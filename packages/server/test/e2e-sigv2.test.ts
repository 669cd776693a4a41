/**
 * End-to-end: AWS Signature Version 2 as real clients make it: boto3 with `signature_version='s3'` (objects,
 * metadata, listing, a multipart upload, a POST form), boto3's and the aws CLI v1's default presigned URLs, s3cmd
 * with `signature_v2 = True` (put, get, ls, del, signurl), and the URLs fetched over plain HTTP. Then S3's errors
 * for a tampered signature, a wrong key, an expired URL, a skewed Date, and `coffer serve --no-sigv2`.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { GetObjectCommand } from '@aws-sdk/client-s3';

import { bodyBytes, fetchBytes, md5hex, patternBytes } from './helpers/assert.ts';
import { Clients, describeRun, hasBoto3, hasProgram } from './helpers/clients.ts';
import { assertS3Error, httpSend, type HttpResult } from './helpers/http.ts';
import { serverForSuite } from './helpers/suite.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

const B = 'sigv2-bucket';
const skipBoto3 = hasBoto3() ? false : 'boto3 is not installed for python3';
const skipAws = hasProgram('aws') ? false : 'the aws CLI is not installed';
const skipS3cmd = hasProgram('s3cmd') ? false : 's3cmd is not installed (apt-get install -y s3cmd)';

/** Python: `s3v2`, a boto3 client that signs with SigV2 (`signature_version='s3'`), path-style. */
const BOTO3_V2 = `
s3v2 = boto3.client('s3', endpoint_url=os.environ['COFFER_ENDPOINT'], region_name='us-east-1',
    aws_access_key_id=os.environ['COFFER_AK'], aws_secret_access_key=os.environ['COFFER_SK'],
    config=Config(s3={'addressing_style': 'path'}, signature_version='s3', retries={'max_attempts': 1}))
`;

/** Base64 HMAC-SHA1: a SigV2 signature. */
function signV2(secret: string, toSign: string): string {
  return createHmac('sha1', secret).update(toSign, 'utf8').digest('base64');
}

/** How {@link headerGet} signs: the server's keys and the current time unless told otherwise. */
interface HeaderGetOptions {
  date?: string;
  accessKey?: string;
  secret?: string;
  /** Turns the signature into the one to send. */
  tamper?: (signature: string) => string;
  /** Sends this Authorization header instead. */
  authorization?: string;
}

/** A GET of `path` with the SigV2 Authorization header over `GET\n\n\n{date}\n{path}`, sent as is. */
function headerGet(server: RunningServer, path: string, opts: HeaderGetOptions = {}): Promise<HttpResult> {
  const date = opts.date ?? new Date().toUTCString();
  const signature = signV2(opts.secret ?? server.secretKey, `GET\n\n\n${date}\n${path}`);
  const sent = opts.tamper ? opts.tamper(signature) : signature;
  const authorization = opts.authorization ?? `AWS ${opts.accessKey ?? server.accessKey}:${sent}`;
  return httpSend({ method: 'GET', url: server.url, path, headers: { date, authorization } });
}

/** A fetch answer as {@link assertS3Error} takes it. */
async function fetched(res: Response): Promise<HttpResult> {
  const body = await fetchBytes(res);
  return { status: res.status, headers: Object.fromEntries(res.headers), body, text: body.toString('utf8') };
}

/** A SigV2 query-string-authenticated URL for a GET of `path`, expiring at `expires` (epoch seconds). */
function queryUrl(server: RunningServer, path: string, expires: number, secret = server.secretKey): string {
  const signature = encodeURIComponent(signV2(secret, `GET\n\n\n${expires}\n${path}`));
  return `${server.url}${path}?AWSAccessKeyId=${server.accessKey}&Expires=${expires}&Signature=${signature}`;
}

function assertSigV2Url(url: string): void {
  const q = new URL(url).searchParams;
  assert.ok(q.has('AWSAccessKeyId') && q.has('Signature') && q.has('Expires'), `a SigV2 URL: ${url}`);
  assert.equal(q.has('X-Amz-Signature'), false, url);
}

describe('SigV2', () => {
  const t = serverForSuite([B]);
  const small = Buffer.from('hello over SigV2\n');

  before(async () => {
    await writeFile(join(t.clients.dir, 'small.txt'), small);
  });

  describe('boto3 with signature_version="s3"', { skip: skipBoto3 }, () => {
    it('should put with metadata, get, list and delete', async () => {
      const r = await t.clients.boto3(
        BOTO3_V2 +
          `
put = s3v2.put_object(Bucket='${B}', Key='boto/a b+c.txt', Body=b'boto3 v2 body', ContentType='text/plain',
    Metadata={'colour': 'blue'})
got = s3v2.get_object(Bucket='${B}', Key='boto/a b+c.txt')
listed = s3v2.list_objects_v2(Bucket='${B}', Prefix='boto/')
tags = s3v2.get_object_acl(Bucket='${B}', Key='boto/a b+c.txt')
s3v2.delete_object(Bucket='${B}', Key='boto/a b+c.txt')
after = s3v2.list_objects(Bucket='${B}', Prefix='boto/')
print(json.dumps({'etag': put['ETag'], 'body': got['Body'].read().decode(), 'type': got['ContentType'],
    'meta': got['Metadata'], 'keys': [o['Key'] for o in listed.get('Contents', [])],
    'after': len(after.get('Contents', []))}))
`,
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(JSON.parse(r.stdout), {
        etag: `"${md5hex(Buffer.from('boto3 v2 body'))}"`,
        body: 'boto3 v2 body',
        type: 'text/plain',
        meta: { colour: 'blue' },
        keys: ['boto/a b+c.txt'],
        after: 0,
      });
    });

    it('should run a multipart upload (uploads, uploadId and partNumber signed)', async () => {
      const r = await t.clients.boto3(
        BOTO3_V2 +
          `
part1 = b'a' * (5 * 1024 * 1024)
part2 = b'tail of the upload'
up = s3v2.create_multipart_upload(Bucket='${B}', Key='boto/multi.bin')
uid = up['UploadId']
e1 = s3v2.upload_part(Bucket='${B}', Key='boto/multi.bin', UploadId=uid, PartNumber=1, Body=part1)['ETag']
e2 = s3v2.upload_part(Bucket='${B}', Key='boto/multi.bin', UploadId=uid, PartNumber=2, Body=part2)['ETag']
parts = s3v2.list_parts(Bucket='${B}', Key='boto/multi.bin', UploadId=uid)['Parts']
done = s3v2.complete_multipart_upload(Bucket='${B}', Key='boto/multi.bin', UploadId=uid,
    MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': e1}, {'PartNumber': 2, 'ETag': e2}]})
body = s3v2.get_object(Bucket='${B}', Key='boto/multi.bin')['Body'].read()
print(json.dumps({'parts': len(parts), 'etag': done['ETag'], 'ok': body == part1 + part2}))
`,
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(JSON.parse(r.stdout), { parts: 2, etag: JSON.parse(r.stdout).etag, ok: true });
      assert.match(JSON.parse(r.stdout).etag, /^"[0-9a-f]{32}-2"$/);
    });

    it('should make default presigned URLs that are SigV2 and that a plain fetch reads', async () => {
      const r = await t.clients.boto3(`
plain = boto3.client('s3', endpoint_url=os.environ['COFFER_ENDPOINT'], region_name='us-east-1',
    aws_access_key_id=os.environ['COFFER_AK'], aws_secret_access_key=os.environ['COFFER_SK'])
s3.put_object(Bucket='${B}', Key='presigned/boto.txt', Body=b'presigned by boto3')
print(plain.generate_presigned_url('get_object', Params={'Bucket': '${B}', 'Key': 'presigned/boto.txt',
    'ResponseContentType': 'text/x-boto'}, ExpiresIn=300))
`);
      assert.equal(r.code, 0, describeRun(r));
      const url = r.stdout.trim();
      assertSigV2Url(url);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/x-boto');
      assert.equal((await fetchBytes(res)).toString(), 'presigned by boto3');
    });

    it('should store a POST form signed with SigV2 (generate_presigned_post)', async () => {
      const r = await t.clients.boto3(
        BOTO3_V2 +
          `
p = s3v2.generate_presigned_post('${B}', 'forms/\${filename}', Fields={'Content-Type': 'text/plain'},
    Conditions=[{'Content-Type': 'text/plain'}, ['starts-with', '$key', 'forms/']], ExpiresIn=300)
print(json.dumps(p))
`,
      );
      assert.equal(r.code, 0, describeRun(r));
      const p = JSON.parse(r.stdout) as { url: string; fields: Record<string, string> };
      assert.ok('AWSAccessKeyId' in p.fields && 'signature' in p.fields, JSON.stringify(p.fields));
      const send = async (fields: Record<string, string>) => {
        const form = new FormData();
        for (const [k, v] of Object.entries(fields)) form.append(k, v);
        form.append('file', new Blob([new Uint8Array(small)]), 'form.txt');
        return fetch(p.url, { method: 'POST', body: form, redirect: 'manual' });
      };
      const res = await send(p.fields);
      assert.equal(res.status, 204, await res.text());
      assert.equal(res.headers.get('etag'), `"${md5hex(small)}"`);
      const got = await t.sdk.send(new GetObjectCommand({ Bucket: B, Key: 'forms/form.txt' }));
      assert.deepEqual(await bodyBytes(got.Body), small);
      assert.equal(got.ContentType, 'text/plain');

      const bad = await send({ ...p.fields, signature: signV2('not-the-secret', p.fields['policy']!) });
      const text = await bad.text();
      assert.equal(bad.status, 403, text);
      assert.match(text, /<Code>SignatureDoesNotMatch<\/Code>/);
    });
  });

  describe('aws CLI v1', { skip: skipAws }, () => {
    it('should presign (SigV2 by default) a URL that a plain fetch reads', async () => {
      const put = await t.clients.aws(['s3', 'cp', join(t.clients.dir, 'small.txt'), `s3://${B}/presigned/cli.txt`]);
      assert.equal(put.code, 0, describeRun(put));
      const r = await t.clients.aws(['s3', 'presign', `s3://${B}/presigned/cli.txt`, '--expires-in', '300']);
      assert.equal(r.code, 0, describeRun(r));
      const url = r.stdout.trim();
      assertSigV2Url(url);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.deepEqual(await fetchBytes(res), small);
    });
  });

  describe('s3cmd with signature_v2 = True', { skip: skipS3cmd }, () => {
    async function s3cmd(...args: string[]): Promise<string> {
      const r = await t.clients.s3cmd(args);
      assert.equal(r.code, 0, `s3cmd ${args.join(' ')}\n${describeRun(r)}`);
      return r.stdout;
    }

    before(async () => {
      const cfg = await readFile(t.clients.s3cmdConfigFile, 'utf8');
      await writeFile(t.clients.s3cmdConfigFile, cfg.replace('signature_v2 = False', 'signature_v2 = True'));
    });

    it('should put, get, ls and del', async () => {
      const medium = patternBytes(1024 * 1024 + 7, 'sigv2-s3cmd');
      await writeFile(join(t.clients.dir, 'medium.bin'), medium);
      await s3cmd('put', join(t.clients.dir, 'medium.bin'), `s3://${B}/s3cmd/medium file.bin`);
      await s3cmd('get', '--force', `s3://${B}/s3cmd/medium file.bin`, join(t.clients.dir, 'medium.get'));
      assert.deepEqual(await readFile(join(t.clients.dir, 'medium.get')), medium);
      const listed = await s3cmd('ls', `s3://${B}/s3cmd/`);
      assert.match(listed, new RegExp(`\\s${medium.length}\\s+s3://${B}/s3cmd/medium file\\.bin$`, 'm'));
      assert.match(await s3cmd('del', `s3://${B}/s3cmd/medium file.bin`), /delete: /);
      assert.doesNotMatch(await s3cmd('ls', `s3://${B}/s3cmd/`), /medium/);
    });

    it('should make a signurl that a plain fetch reads', async () => {
      await s3cmd('put', join(t.clients.dir, 'small.txt'), `s3://${B}/s3cmd/signed.txt`);
      const url = (await s3cmd('signurl', `s3://${B}/s3cmd/signed.txt`, '+300')).trim();
      assertSigV2Url(url);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.deepEqual(await fetchBytes(res), small);
    });
  });

  describe('errors', () => {
    const path = `/${B}/errors.txt`;
    before(async () => {
      const r = await headerGet(t.server, `/${B}`);
      assert.equal(r.status, 200, r.text);
    });

    it('should answer a tampered signature with SignatureDoesNotMatch and its StringToSign', async () => {
      const date = new Date().toUTCString();
      let tampered = '';
      const tamper = (signature: string) => (tampered = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
      const r = await headerGet(t.server, path, { date, tamper });
      const e = assertS3Error(r, 403, 'SignatureDoesNotMatch');
      assert.equal(e['StringToSign'], `GET\n\n\n${date}\n${path}`);
      assert.equal(e['SignatureProvided'], tampered);
      assert.equal(e['AWSAccessKeyId'], t.server.accessKey);
      assert.ok(!r.text.includes(t.server.secretKey));
    });

    it('should answer another secret with SignatureDoesNotMatch, an unknown key with InvalidAccessKeyId', async () => {
      assertS3Error(await headerGet(t.server, path, { secret: 'not-the-secret' }), 403, 'SignatureDoesNotMatch');
      const unknown = await headerGet(t.server, path, { accessKey: 'AKIAUNKNOWNKEY' });
      const e = assertS3Error(unknown, 403, 'InvalidAccessKeyId');
      assert.equal(e['AWSAccessKeyId'], 'AKIAUNKNOWNKEY');
    });

    it('should answer an expired URL with AccessDenied "Request has expired", and serve it before', async () => {
      const live = await fetch(queryUrl(t.server, `/${B}`, Math.floor(Date.now() / 1000) + 60));
      assert.equal(live.status, 200, await live.text());
      const expires = Math.floor(Date.now() / 1000) - 1;
      const e = assertS3Error(await fetched(await fetch(queryUrl(t.server, path, expires))), 403, 'AccessDenied');
      assert.equal(e['Message'], 'Request has expired');
      assert.equal(e['Expires'], new Date(expires * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    });

    it('should answer a Date more than 15 minutes off with RequestTimeTooSkewed', async () => {
      const date = new Date(Date.now() - 16 * 60_000).toUTCString();
      const e = assertS3Error(await headerGet(t.server, path, { date }), 403, 'RequestTimeTooSkewed');
      assert.equal(e['RequestTime'], date);
      assert.equal(e['MaxAllowedSkewMilliseconds'], '900000');
    });

    it('should answer a malformed header with InvalidArgument, a partial query with AccessDenied', async () => {
      const malformed = await headerGet(t.server, path, { authorization: 'AWS nocolon' });
      const e = assertS3Error(malformed, 400, 'InvalidArgument');
      assert.equal(e['Message'], 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature');
      assert.equal(e['ArgumentName'], 'Authorization');
      const query = { AWSAccessKeyId: t.server.accessKey, Signature: 'x' };
      const q = await httpSend({ method: 'GET', url: t.server.url, path, query });
      assert.equal(
        assertS3Error(q, 403, 'AccessDenied')['Message'],
        'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
      );
    });
  });
});

describe('SigV2, virtual-hosted style (coffer serve --domain)', () => {
  const DOMAIN = 's3.coffer.test';
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--domain', DOMAIN] });
  });
  after(async () => {
    await server?.stop({ removeDir: true });
  });

  /** Sends a SigV2-signed request whose string to sign names `/vhost-bucket…` while the path does not. */
  function send(method: string, path: string, resource: string, headers: Record<string, string>, body?: Buffer) {
    const date = new Date().toUTCString();
    const amzNames = Object.keys(headers)
      .filter((h) => h.startsWith('x-amz-'))
      .sort();
    const amz = amzNames.map((h) => `${h}:${headers[h]}\n`).join('');
    const toSign = `${method}\n\n${headers['content-type'] ?? ''}\n${date}\n${amz}${resource}`;
    const authorization = `AWS ${server.accessKey}:${signV2(server.secretKey, toSign)}`;
    const host = `vhost-bucket.${DOMAIN}:${server.port}`;
    return httpSend({ method, url: server.url, path, headers: { ...headers, host, date, authorization }, body });
  }

  it('should sign /bucket/key for Host: bucket.domain, with the bucket from the Host', async () => {
    const created = await send('PUT', '/', '/vhost-bucket/', {});
    assert.equal(created.status, 200, created.text);
    const body = Buffer.from('virtual-hosted SigV2');
    const put = await send(
      'PUT',
      '/dir/v.txt',
      '/vhost-bucket/dir/v.txt',
      { 'content-type': 'text/plain', 'x-amz-meta-colour': 'green' },
      body,
    );
    assert.equal(put.status, 200, put.text);
    const got = await send('GET', '/dir/v.txt', '/vhost-bucket/dir/v.txt', {});
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.body, body);
    assert.equal(got.headers['x-amz-meta-colour'], 'green');
    const acl = await send('GET', '/dir/v.txt?acl', '/vhost-bucket/dir/v.txt?acl', {});
    assert.equal(acl.status, 200, acl.text);
    assert.match(acl.text, /<AccessControlPolicy/);
    const unsigned = await send('GET', '/dir/v.txt?acl', '/vhost-bucket/dir/v.txt', {});
    assertS3Error(unsigned, 403, 'SignatureDoesNotMatch');
  });
});

describe('coffer serve --no-sigv2', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ args: ['--no-sigv2'] });
  });
  after(async () => {
    await server?.stop({ removeDir: true });
  });

  const REFUSAL = 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.';

  it('should refuse SigV2 headers and URLs with InvalidRequest, as before SigV2 existed', async () => {
    const e = assertS3Error(await headerGet(server, '/'), 400, 'InvalidRequest');
    assert.equal(e['Message'], REFUSAL);
    const res = await fetched(await fetch(queryUrl(server, '/', Math.floor(Date.now() / 1000) + 60)));
    assert.equal(assertS3Error(res, 400, 'InvalidRequest')['Message'], REFUSAL);
  });

  it('should refuse a SigV2 POST form with InvalidRequest', async () => {
    const document = { expiration: '2099-01-01T00:00:00Z', conditions: [] };
    const policy = Buffer.from(JSON.stringify(document)).toString('base64');
    const form = new FormData();
    form.append('key', 'k');
    form.append('AWSAccessKeyId', server.accessKey);
    form.append('policy', policy);
    form.append('signature', signV2(server.secretKey, policy));
    form.append('file', new Blob([new Uint8Array(Buffer.from('x'))]), 'x.txt');
    const res = await fetched(await fetch(`${server.url}/any-bucket`, { method: 'POST', body: form }));
    assert.equal(assertS3Error(res, 400, 'InvalidRequest')['Message'], REFUSAL);
  });

  it('should still serve SigV4', async () => {
    const clients = await Clients.create(server);
    try {
      const r = await clients.aws(['s3api', 'list-buckets']);
      assert.equal(r.code, 0, describeRun(r));
    } finally {
      await clients.cleanup();
    }
  });
});
