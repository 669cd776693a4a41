/**
 * Master keys (issue 4 point 6): `coffer keys list` and `coffer keys rotate` on a stopped data directory; objects
 * written under the old master key still read byte-exact after the rotation and after a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { KEYRING_FILE, MasterKeyRing } from '@coffer/crypto';
import { makeTempDir, runCli, startServer, type RunningServer } from './helpers/server.ts';
import { sdkClient } from './helpers/clients.ts';
import { bodyBytes } from './helpers/assert.ts';

describe('coffer keys and coffer scrub', () => {
  let server: RunningServer;
  const objects = new Map([...Array(20).keys()].map((i) => [`obj-${i}`, randomBytes(1000 + i * 7919)] as const));
  const customer = randomBytes(32);
  const ssec = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: customer.toString('base64') };

  before(async () => {
    server = await startServer();
    const sdk = sdkClient(server, server);
    await sdk.send(new CreateBucketCommand({ Bucket: 'keys-bucket' }));
    for (const [key, body] of objects)
      await sdk.send(new PutObjectCommand({ Bucket: 'keys-bucket', Key: key, Body: body }));
    await sdk.send(
      new PutObjectCommand({ Bucket: 'keys-bucket', Key: 'ssec', Body: Buffer.from('customer data'), ...ssec }),
    );
    sdk.destroy();
  });
  after(async () => {
    await server?.stop({ removeDir: true });
  });

  it('should refuse to rotate while the server runs', async () => {
    const r = await runCli(['keys', 'rotate', '--data', server.dataDir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /in use by a running Coffer server/);
  });

  it('should list key IDs, rotate to a new active key, and keep every object readable after a restart', async () => {
    await server.stop();
    const before = await runCli(['keys', 'list', '--data', server.dataDir]);
    assert.equal(before.code, 0, before.stderr);
    const [oldLine, ...rest] = before.stdout.trim().split('\n');
    assert.equal(rest.length, 0);
    assert.match(oldLine!, /^mk-\S+\tactive$/);
    const oldId = oldLine!.split('\t')[0];

    const rotate = await runCli(['keys', 'rotate', '--data', server.dataDir]);
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.match(rotate.stdout, /rotated to mk-\S+: 20 data keys re-wrapped, 21 objects scanned/);
    assert.match(rotate.stderr, /re-wrapping data keys .* 21\/21 objects/);

    const listed = (await runCli(['keys', 'list', '--data', server.dataDir])).stdout.trim().split('\n');
    assert.equal(listed.length, 2);
    const active = listed.filter((l) => l.endsWith('\tactive'));
    assert.equal(active.length, 1);
    assert.notEqual(active[0]!.split('\t')[0], oldId);
    assert.ok(listed.includes(oldId!), 'the old key stays in the ring');

    server = await startServer({ dataDir: server.dataDir, accessKey: server.accessKey, secretKey: server.secretKey });
    const sdk = sdkClient(server, server);
    for (const [key, body] of objects) {
      const got = await sdk.send(new GetObjectCommand({ Bucket: 'keys-bucket', Key: key }));
      assert.deepEqual(await bodyBytes(got.Body), body, key);
    }
    const c = await sdk.send(new GetObjectCommand({ Bucket: 'keys-bucket', Key: 'ssec', ...ssec }));
    assert.equal((await bodyBytes(c.Body)).toString(), 'customer data');
    sdk.destroy();
  });

  it('should scrub a stopped data directory: clean after the rotation, then report a flipped byte with exit code 2', async () => {
    await server.stop();
    const clean = await runCli(['scrub', '--data', server.dataDir]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^21 objects, \d+ bytes checked \(1 SSE-C objects by size only\), 0 failures$/m);

    // The largest chunk file is an SSE-S3 object's (the SSE-C one is 13 bytes), which scrub decrypts in full.
    const files = (await readdir(join(server.dataDir, 'blobs'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
    const sizes = await Promise.all(files.map(async (f) => (await stat(f)).size));
    const victim = files[sizes.indexOf(Math.max(...sizes))]!;
    const bytes = await readFile(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(victim, bytes);
    const dirty = await runCli(['scrub', '--data', server.dataDir]);
    assert.equal(dirty.code, 2, dirty.stderr);
    assert.match(dirty.stdout, /^FAIL\tkeys-bucket\/\S+\t\w+\t/m);
    assert.match(dirty.stdout, /, 1 failures$/m);
  });
});

describe('a data directory whose key ring is still the file DATA/keys/keyring.json', () => {
  it('should import the ring on the next start and read the objects written under it, and the root user', async () => {
    // Made as before the ring moved into the metadata: the ring only in DATA/keys/keyring.json.
    const dataDir = await makeTempDir('coffer-keys-import-');
    const ringFile = join(dataDir, 'keys', KEYRING_FILE);
    const old = await MasterKeyRing.open({ dir: join(dataDir, 'keys') });
    const body = randomBytes(200_000);
    const first = await startServer({ dataDir, args: ['--master-key-file', ringFile] });
    const sdk = sdkClient(first, first);
    await sdk.send(new CreateBucketCommand({ Bucket: 'imported' }));
    await sdk.send(new PutObjectCommand({ Bucket: 'imported', Key: 'old', Body: body }));
    sdk.destroy();
    await first.stop();

    const second = await startServer({ dataDir, accessKey: first.accessKey, secretKey: first.secretKey });
    try {
      const again = sdkClient(second, second);
      const got = await again.send(new GetObjectCommand({ Bucket: 'imported', Key: 'old' }));
      assert.ok((await bodyBytes(got.Body)).equals(body));
      again.destroy();
    } finally {
      await second.stop();
    }
    const listed = await runCli(['keys', 'list', '--data', dataDir]);
    assert.equal(listed.stdout, `${old.activeId}\tactive\n`);
    assert.deepEqual((await readdir(join(dataDir, 'keys'))).sort(), [`${KEYRING_FILE}.imported`, 'ring.key']);
    await rm(dataDir, { recursive: true, force: true });
  });
});
