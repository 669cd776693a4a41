/**
 * HTTPS (issue 4 point 4): `coffer serve --tls-cert --tls-key` with a self-signed certificate the test makes, and
 * SSE-C and SSE-S3 round trips over it with boto3 and the aws CLI (which send aws-chunked bodies over HTTPS) and
 * the JS SDK.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { makeTempDir, startServer, type RunningServer } from './helpers/server.ts';
import { Clients, describeRun } from './helpers/clients.ts';
import { bodyBytes, generatorStream } from './helpers/assert.ts';

const BUCKET = 'tls-bucket';

describe('HTTPS', () => {
  let server: RunningServer;
  let clients: Clients;
  let sdk: S3Client;
  let certFile: string;
  const key = randomBytes(32);
  const data = randomBytes(300_000);

  before(async () => {
    const dir = await makeTempDir('coffer-tls-');
    certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    server = await startServer({ args: ['--tls-cert', certFile, '--tls-key', keyFile] });
    assert.match(server.url, /^https:\/\//);
    clients = await Clients.create(server);
    sdk = clients.sdk({
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: await readFile(certFile) }) }),
    });
    await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    sdk?.destroy();
    await clients?.cleanup();
    await server?.stop({ removeDir: true });
  });

  it('should serve SSE-C and SSE-S3 to the JS SDK over TLS, stream bodies included', async () => {
    const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64') };
    await sdk.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'sdk-ssec',
        Body: generatorStream(data),
        ContentLength: data.length,
        ...ssec,
      }),
    );
    const got = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sdk-ssec', ...ssec }));
    assert.deepEqual(await bodyBytes(got.Body), data);
    const put = await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sdk-s3', Body: data }));
    assert.equal(put.ServerSideEncryption, 'AES256');
  });

  it('should take boto3 aws-chunked uploads with SSECustomerKey over TLS', async () => {
    const r = await clients.boto3(
      `
key = bytes.fromhex('${key.toString('hex')}')
body = os.urandom(100000)
s3.put_object(Bucket='${BUCKET}', Key='boto', Body=body, SSECustomerAlgorithm='AES256', SSECustomerKey=key)
assert s3.get_object(Bucket='${BUCKET}', Key='boto', SSECustomerAlgorithm='AES256', SSECustomerKey=key)['Body'].read() == body
s3.put_object(Bucket='${BUCKET}', Key='boto-plain', Body=body)
assert s3.get_object(Bucket='${BUCKET}', Key='boto-plain')['Body'].read() == body
print('ok')
`,
      { env: { AWS_CA_BUNDLE: certFile } },
    );
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout.trim(), 'ok');
  });

  it('should take aws CLI s3 cp --sse-c over TLS', async () => {
    const src = join(clients.dir, 'src.bin');
    const dst = join(clients.dir, 'dst.bin');
    const keyFile = join(clients.dir, 'k');
    await writeFile(src, data);
    await writeFile(keyFile, key);
    const sse = ['--sse-c', 'AES256', '--sse-c-key', `fileb://${keyFile}`];
    const up = await clients.aws(['--ca-bundle', certFile, 's3', 'cp', src, `s3://${BUCKET}/cli.bin`, ...sse]);
    assert.equal(up.code, 0, describeRun(up));
    const down = await clients.aws(['--ca-bundle', certFile, 's3', 'cp', `s3://${BUCKET}/cli.bin`, dst, ...sse]);
    assert.equal(down.code, 0, describeRun(down));
    assert.deepEqual(await readFile(dst), data);
  });
});
