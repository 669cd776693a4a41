/**
 * Versioning with real clients (issue 15 item 8): boto3, the aws CLI's `s3api` version calls and rclone's
 * `--s3-versions`, including restoring an old version by copying it over the latest.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';

import { describeRun, hasBoto3, hasProgram } from './helpers/clients.ts';
import { childEnv, REGION, runProcess, type RunResult } from './helpers/server.ts';
import { serverForSuite } from './helpers/suite.ts';

const VERSION_ID = /^[0-9a-f]{32}$/;

/** The JSON document a client printed (the last line of its output, or all of it). */
function json<T>(r: RunResult): T {
  assert.equal(r.code, 0, describeRun(r));
  return JSON.parse(r.stdout) as T;
}

describe('versioning with real clients', () => {
  const s = serverForSuite(['boto-ver', 'cli-ver', 'rclone-ver']);

  it('boto3: should version, list, read by id, and restore an old version by copying it', {
    skip: !hasBoto3(),
  }, async () => {
    const r = await s.clients.boto3(`
b = 'boto-ver'
s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={'Status': 'Enabled'})
status = s3.get_bucket_versioning(Bucket=b)['Status']
v1 = s3.put_object(Bucket=b, Key='doc.txt', Body=b'first')['VersionId']
v2 = s3.put_object(Bucket=b, Key='doc.txt', Body=b'second')['VersionId']
old = s3.get_object(Bucket=b, Key='doc.txt', VersionId=v1)['Body'].read().decode()
copy = s3.copy_object(Bucket=b, Key='doc.txt', CopySource={'Bucket': b, 'Key': 'doc.txt', 'VersionId': v1})
restored = s3.get_object(Bucket=b, Key='doc.txt')['Body'].read().decode()
marker = s3.delete_object(Bucket=b, Key='doc.txt')
try:
    s3.get_object(Bucket=b, Key='doc.txt')
    gone = None
except ClientError as e:
    gone = e.response['Error']['Code']
listed = s3.list_object_versions(Bucket=b)
print(json.dumps({
  'status': status, 'v1': v1, 'v2': v2, 'old': old, 'restored': restored,
  'copySource': copy['CopySourceVersionId'], 'v3': copy['VersionId'],
  'marker': [marker['DeleteMarker'], marker['VersionId']], 'gone': gone,
  'versions': [[v['VersionId'], v['IsLatest'], v['Size']] for v in listed['Versions']],
  'markers': [[m['VersionId'], m['IsLatest']] for m in listed['DeleteMarkers']],
}))
`);
    const out = json<{
      status: string;
      v1: string;
      v2: string;
      v3: string;
      old: string;
      restored: string;
      copySource: string;
      marker: [boolean, string];
      gone: string;
      versions: [string, boolean, number][];
      markers: [string, boolean][];
    }>(r);
    assert.equal(out.status, 'Enabled');
    for (const id of [out.v1, out.v2, out.v3]) assert.match(id, VERSION_ID);
    assert.equal(out.old, 'first');
    assert.equal(out.copySource, out.v1);
    assert.equal(out.restored, 'first');
    assert.equal(out.marker[0], true);
    assert.equal(out.gone, 'NoSuchKey');
    assert.deepEqual(out.versions, [
      [out.v3, false, 5],
      [out.v2, false, 6],
      [out.v1, false, 5],
    ]);
    assert.deepEqual(out.markers, [[out.marker[1], true]]);
  });

  it('aws CLI: should put-bucket-versioning, list-object-versions, get and delete by --version-id', async () => {
    const aws = (...args: string[]) => s.clients.aws(['s3api', ...args, '--bucket', 'cli-ver']);
    let r = await aws('put-bucket-versioning', '--versioning-configuration', 'Status=Enabled');
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(json(await aws('get-bucket-versioning')), { Status: 'Enabled' });
    for (const body of ['one', 'two'])
      await s.sdk.send(new PutObjectCommand({ Bucket: 'cli-ver', Key: 'k', Body: body }));
    const listed = json<{ Versions: { Key: string; VersionId: string; IsLatest: boolean }[] }>(
      await aws('list-object-versions'),
    );
    assert.deepEqual(
      listed.Versions.map((v) => [v.Key, v.IsLatest]),
      [
        ['k', true],
        ['k', false],
      ],
    );
    const ids = listed.Versions.map((v) => v.VersionId);
    r = await aws('get-object', '--key', 'k', '--version-id', ids[1]!, 'old.txt');
    const got = json<{ VersionId: string; ContentLength: number }>(r);
    assert.equal(got.VersionId, ids[1]);
    assert.equal(got.ContentLength, 3);
    assert.equal(await readFile(join(s.clients.dir, 'old.txt'), 'utf8'), 'one');
    const del = json<{ VersionId: string }>(await aws('delete-object', '--key', 'k', '--version-id', ids[0]!));
    assert.equal(del.VersionId, ids[0]);
    const after = json<{ Versions: { VersionId: string; IsLatest: boolean }[] }>(await aws('list-object-versions'));
    assert.deepEqual(
      after.Versions.map((v) => [v.VersionId, v.IsLatest]),
      [[ids[1], true]],
    );
    r = await aws('get-object', '--key', 'k', '--version-id', 'not-a-version', 'x.txt');
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, /\(InvalidArgument\).*Invalid version id specified/);
  });

  it('rclone: should list old versions with --s3-versions and read one', { skip: !hasProgram('rclone') }, async () => {
    await s.sdk.send(
      new PutBucketVersioningCommand({ Bucket: 'rclone-ver', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    for (const body of ['old text', 'new text'])
      await s.sdk.send(new PutObjectCommand({ Bucket: 'rclone-ver', Key: 'note.txt', Body: body }));
    const rclone = (...args: string[]) =>
      runProcess('rclone', ['--config', '/dev/null', '--s3-versions', ...args], {
        env: childEnv({
          RCLONE_CONFIG_COFFER_TYPE: 's3',
          RCLONE_CONFIG_COFFER_PROVIDER: 'Other',
          RCLONE_CONFIG_COFFER_ACCESS_KEY_ID: s.server.accessKey,
          RCLONE_CONFIG_COFFER_SECRET_ACCESS_KEY: s.server.secretKey,
          RCLONE_CONFIG_COFFER_ENDPOINT: s.server.url,
          RCLONE_CONFIG_COFFER_REGION: REGION,
          RCLONE_CONFIG_COFFER_FORCE_PATH_STYLE: 'true',
        }),
        cwd: s.clients.dir,
        timeoutMs: 60_000,
      });
    const ls = await rclone('lsf', 'coffer:rclone-ver');
    assert.equal(ls.code, 0, describeRun(ls));
    const names = ls.stdout.trim().split('\n').sort();
    assert.equal(names.length, 2, ls.stdout);
    assert.equal(names[1], 'note.txt');
    assert.match(names[0]!, /^note-v\d{4}-\d{2}-\d{2}-\d{6}-\d{3}\.txt$/);
    const old = await rclone('cat', `coffer:rclone-ver/${names[0]}`);
    assert.equal(old.code, 0, describeRun(old));
    assert.equal(old.stdout, 'old text');
    const cur = await rclone('cat', 'coffer:rclone-ver/note.txt');
    assert.equal(cur.stdout, 'new text');
  });
});
