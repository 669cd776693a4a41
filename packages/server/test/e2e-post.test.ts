/**
 * Browser-based uploads (POST Object with a signed POST policy) against the real server: forms made by boto3's
 * generate_presigned_post and by the JS SDK's createPresignedPost, sent as multipart/form-data by fetch; the
 * policy's signature, expiry, conditions, extra fields and content-length-range; the three kinds of answer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { serverForSuite } from './helpers/suite.ts';
import { describeRun } from './helpers/clients.ts';
import { parseErrorXml } from './helpers/http.ts';
import { bodyBytes, rejectsS3 } from './helpers/assert.ts';

const BUCKET = 'post-bucket';
const TAGGING = '<Tagging><TagSet><Tag><Key>source</Key><Value>form</Value></Tag></TagSet></Tagging>';

/** A presigned POST: the URL and the fields to send before the file. */
interface Presigned {
  url: string;
  fields: Record<string, string>;
}

/** Sends the form: `fields` in order, then `extra`, then the file, then `after` (fields S3 ignores). */
async function send(
  p: Presigned,
  file: Buffer,
  opts: { filename?: string; extra?: Record<string, string>; after?: Record<string, string>; omit?: string[] } = {},
): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries({ ...p.fields, ...opts.extra })) if (!opts.omit?.includes(k)) form.append(k, v);
  form.append('file', new Blob([new Uint8Array(file)]), opts.filename ?? 'upload.bin');
  for (const [k, v] of Object.entries(opts.after ?? {})) form.append(k, v);
  return fetch(p.url, { method: 'POST', body: form, redirect: 'manual' });
}

async function errorOf(r: Response): Promise<{ status: number; code?: string; message?: string }> {
  const e = parseErrorXml(await r.text());
  return { status: r.status, code: e['Code'], message: e['Message'] };
}

describe('POST Object (browser-based uploads)', () => {
  const t = serverForSuite([BUCKET]);

  /** A form from boto3's generate_presigned_post. */
  async function boto3Post(
    key: string,
    fields: Record<string, string>,
    conditions: unknown[],
    expiresIn = 300,
  ): Promise<Presigned> {
    const r = await t.clients.boto3(`
p = s3.generate_presigned_post('${BUCKET}', ${JSON.stringify(key)}, Fields=json.loads(${JSON.stringify(JSON.stringify(fields))}),
    Conditions=json.loads(${JSON.stringify(JSON.stringify(conditions))}), ExpiresIn=${expiresIn})
print(json.dumps(p))
`);
    assert.equal(r.code, 0, describeRun(r));
    return JSON.parse(r.stdout) as Presigned;
  }

  it('should store a file from a boto3 form: ${filename} in the key, Content-Type and metadata from fields, MD5 ETag, SSE-S3', async () => {
    const p = await boto3Post('uploads/${filename}', { 'Content-Type': 'text/plain', 'x-amz-meta-origin': 'browser' }, [
      { 'Content-Type': 'text/plain' },
      { 'x-amz-meta-origin': 'browser' },
      ['starts-with', '$key', 'uploads/'],
      ['content-length-range', 1, 1000],
    ]);
    const body = Buffer.from('hello from a form\n');
    const r = await send(p, body, { filename: 'hello.txt' });
    assert.equal(r.status, 204, await r.text());
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    assert.equal(r.headers.get('etag'), etag);
    assert.equal(r.headers.get('location'), `${t.server.url}/${BUCKET}/uploads/hello.txt`);
    assert.equal(r.headers.get('x-amz-server-side-encryption'), 'AES256');
    const got = await t.sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploads/hello.txt' }));
    assert.deepEqual(await bodyBytes(got.Body), body);
    assert.equal(got.ContentType, 'text/plain');
    assert.deepEqual(got.Metadata, { origin: 'browser' });
    assert.equal(got.ETag, etag);
    assert.equal(got.ServerSideEncryption, 'AES256');
  });

  it('should enforce content-length-range with 400 EntityTooLarge / EntityTooSmall and store nothing', async () => {
    const p = await boto3Post('ranged', {}, [['content-length-range', 10, 1000]]);
    assert.deepEqual(await errorOf(await send(p, Buffer.alloc(1001, 1))), {
      status: 400,
      code: 'EntityTooLarge',
      message: 'Your proposed upload exceeds the maximum allowed size',
    });
    assert.deepEqual(await errorOf(await send(p, Buffer.alloc(9, 1))), {
      status: 400,
      code: 'EntityTooSmall',
      message: 'Your proposed upload is smaller than the minimum allowed size',
    });
    await rejectsS3(t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'ranged' })), 404);
    assert.equal((await send(p, Buffer.alloc(10, 1))).status, 204);
  });

  it('should refuse a form that breaks its policy with 403 AccessDenied, naming the condition or the extra field', async () => {
    const p = await boto3Post('policy/${filename}', { 'Content-Type': 'image/png' }, [
      { 'Content-Type': 'image/png' },
      ['starts-with', '$key', 'policy/'],
    ]);
    const file = Buffer.from('png?');
    assert.deepEqual(await errorOf(await send(p, file, { extra: { 'Content-Type': 'text/html' } })), {
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]',
    });
    assert.deepEqual(await errorOf(await send(p, file, { extra: { key: 'elsewhere/x' } })), {
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "policy/"]',
    });
    assert.deepEqual(await errorOf(await send(p, file, { extra: { 'x-amz-meta-sneaky': '1' } })), {
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky',
    });
    // x-ignore-* fields, and anything after the file, are not the policy's business.
    const ok = await send(p, file, {
      filename: 'a.png',
      extra: { 'x-ignore-tracking': '42' },
      after: { 'x-amz-meta-late': 'ignored' },
    });
    assert.equal(ok.status, 204, await ok.text());
    const head = await t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'policy/a.png' }));
    assert.deepEqual(head.Metadata, {});
  });

  it('should check the signature and the expiry: SignatureDoesNotMatch, Policy expired, anonymous forms', async () => {
    const p = await boto3Post('signed', {}, []);
    const sig = p.fields['x-amz-signature']!;
    const bad = { ...p, fields: { ...p.fields, 'x-amz-signature': (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1) } };
    assert.equal((await errorOf(await send(bad, Buffer.from('x')))).code, 'SignatureDoesNotMatch');
    const forged = {
      ...p,
      fields: {
        ...p.fields,
        policy: Buffer.from(
          JSON.stringify({ expiration: '2099-01-01T00:00:00Z', conditions: [{ bucket: BUCKET }, { key: 'signed' }] }),
        ).toString('base64'),
      },
    };
    assert.equal((await errorOf(await send(forged, Buffer.from('x')))).status, 403);
    const anonymous = await send({ url: p.url, fields: { key: 'anon' } }, Buffer.from('x'));
    assert.deepEqual(await errorOf(anonymous), { status: 403, code: 'AccessDenied', message: 'Access Denied' });
    const noKey = await errorOf(await send(p, Buffer.from('x'), { omit: ['key'] }));
    assert.equal(noKey.code, 'InvalidArgument');
    assert.equal(
      noKey.message,
      "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
    );

    const short = await boto3Post('expired', {}, [], 1);
    await new Promise((r) => setTimeout(r, 2100));
    assert.deepEqual(await errorOf(await send(short, Buffer.from('x'))), {
      status: 403,
      code: 'AccessDenied',
      message: 'Invalid according to Policy: Policy expired.',
    });
    await rejectsS3(t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'expired' })), 404);
  });

  it('should answer success_action_status 201 with a PostResponse, and success_action_redirect with 303', async () => {
    const p = await boto3Post('answered', { success_action_status: '201' }, [{ success_action_status: '201' }]);
    const r = await send(p, Buffer.from('created'));
    assert.equal(r.status, 201);
    const xml = await r.text();
    const etag = `"${createHash('md5').update('created').digest('hex')}"`;
    assert.match(
      xml,
      new RegExp(
        `<PostResponse[^>]*><Location>${t.server.url}/${BUCKET}/answered</Location><Bucket>${BUCKET}</Bucket><Key>answered</Key><ETag>&quot;${etag.slice(1, -1)}&quot;</ETag></PostResponse>`,
      ),
    );

    const back = 'https://app.example/done?x=1';
    const q = await boto3Post('redirected', { success_action_redirect: back }, [{ success_action_redirect: back }]);
    const rr = await send(q, Buffer.from('moved'));
    assert.equal(rr.status, 303);
    const loc = new URL(rr.headers.get('location')!);
    assert.equal(loc.origin + loc.pathname, 'https://app.example/done');
    assert.deepEqual(Object.fromEntries(loc.searchParams), {
      x: '1',
      bucket: BUCKET,
      key: 'redirected',
      etag: `"${createHash('md5').update('moved').digest('hex')}"`,
    });
  });

  it('should store nothing when the form is cut off in the middle of the file, and go on serving', async () => {
    const p = await boto3Post('cut', {}, []);
    const boundary = '----coffer-cut';
    const head = Buffer.from(
      Object.entries(p.fields)
        .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join('') + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n`,
    );
    const u = new URL(p.url);
    await new Promise<void>((resolve) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + 200_000),
        },
      });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.write(head);
      req.write(Buffer.alloc(100_000, 3), () => {
        req.destroy();
        resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    await rejectsS3(t.sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cut' })), 404);
    const malformed = await fetch(p.url, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: 'not a form at all',
    });
    assert.deepEqual(await errorOf(malformed), {
      status: 400,
      code: 'MalformedPOSTRequest',
      message: 'The body of your POST request is not well-formed multipart/form-data.',
    });
    const fine = await send(p, Buffer.from('after the cut'));
    assert.equal(fine.status, 204);
  });

  it('should encrypt with the customer key given in the form (SSE-C fields), which the reads then need', async () => {
    const key = Buffer.alloc(32, 9);
    const ssec = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': key.toString('base64'),
      'x-amz-server-side-encryption-customer-key-MD5': createHash('md5').update(key).digest('base64'),
    };
    const p = await boto3Post(
      'ssec-form',
      ssec,
      Object.entries(ssec).map(([k, v]) => ({ [k]: v })),
    );
    const r = await send(p, Buffer.from('customer-keyed'));
    assert.equal(r.status, 204, await r.text());
    assert.equal(r.headers.get('x-amz-server-side-encryption-customer-algorithm'), 'AES256');
    await rejectsS3(t.sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'ssec-form' })), 400, 'InvalidRequest');
    const got = await t.sdk.send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: 'ssec-form',
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: key.toString('base64'),
        SSECustomerKeyMD5: ssec['x-amz-server-side-encryption-customer-key-MD5'],
      }),
    );
    assert.equal((await bodyBytes(got.Body)).toString(), 'customer-keyed');
    // A form whose key breaks the policy, or whose signature is wrong: the errors never carry the policy's key.
    const other = Buffer.alloc(32, 7).toString('base64');
    const broken = await send(p, Buffer.from('x'), { extra: { 'x-amz-server-side-encryption-customer-key': other } });
    const text = await broken.text();
    assert.equal(broken.status, 403);
    assert.match(
      text,
      /Policy Condition failed: \[&quot;eq&quot;, &quot;\$x-amz-server-side-encryption-customer-key&quot;, &quot;\*\*\*\*\*&quot;\]/,
    );
    const forged = await send({ ...p, fields: { ...p.fields, 'x-amz-signature': '0'.repeat(64) } }, Buffer.from('x'));
    const forgedText = await forged.text();
    assert.equal(forged.status, 403);
    for (const t2 of [text, forgedText])
      assert.ok(!t2.includes(key.toString('base64')) && !t2.includes(p.fields.policy!), t2);
  });

  it('should answer every malformed form with a 4xx and never crash (300 forms built from random pieces)', async () => {
    // A seeded generator (mulberry32), so a failure can be replayed.
    let seed = 0x5eed;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    const b = 'fuzz-boundary';
    const pieces = [
      `--${b}\r\n`,
      'Content-Disposition: form-data; name="key"\r\n\r\nk\r\n',
      'Content-Disposition: form-data; name="file"; filename="a"\r\n\r\n',
      `\r\n--${b}--\r\n`,
      'Content-Type: text/plain\r\n',
      '\r\n',
      'data',
      'Content-Disposition: form-data; name="policy"\r\n\r\neyJ9\r\n',
    ];
    for (let i = 0; i < 300; i++) {
      const body = Array.from(
        { length: 1 + Math.floor(rand() * 8) },
        () => pieces[Math.floor(rand() * pieces.length)],
      ).join('');
      const r = await fetch(`${t.server.url}/${BUCKET}`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${b}` },
        body,
      });
      await r.arrayBuffer();
      assert.ok(r.status >= 400 && r.status < 500, `form ${i} (${JSON.stringify(body)}) got ${r.status}`);
    }
    assert.equal((await send(await boto3Post('after-fuzz', {}, []), Buffer.from('ok'))).status, 204);
  });

  it('should take a form from the JS SDK (createPresignedPost) with SSE-S3 asked for in a field', async () => {
    const { url, fields } = await createPresignedPost(t.sdk as never, {
      Bucket: BUCKET,
      Key: 'sdk/${filename}',
      Conditions: [['starts-with', '$key', 'sdk/'], { 'x-amz-server-side-encryption': 'AES256' }, { tagging: TAGGING }],
      Fields: { 'x-amz-server-side-encryption': 'AES256', tagging: TAGGING },
      Expires: 300,
    });
    const body = Buffer.alloc(300_000, 7); // larger than an inline object: stored in a chunk file
    const r = await send({ url, fields }, body, { filename: 'big.bin' });
    assert.equal(r.status, 204, await r.text());
    const got = await t.sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sdk/big.bin' }));
    assert.deepEqual(await bodyBytes(got.Body), body);
    assert.equal(got.ServerSideEncryption, 'AES256');
    assert.equal(got.TagCount, 1);
    assert.deepEqual((await t.sdk.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'sdk/big.bin' }))).TagSet, [
      { Key: 'source', Value: 'form' },
    ]);
  });
});
