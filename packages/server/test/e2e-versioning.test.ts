/**
 * Versioning end to end (issue 15 items 1–5, 8): Put/GetBucketVersioning, version ids on every write, reads, deletes,
 * copies and sub-resources by versionId, delete markers, ListObjectVersions, SSE-C keys per version; with the JS SDK
 * and raw signed requests where the headers of an error answer matter.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';

import { bodyBytes, rejectsS3 } from './helpers/assert.ts';
import { assertS3Error, objectPath, signedSend } from './helpers/http.ts';
import { serverForSuite } from './helpers/suite.ts';

const VERSION_ID = /^[0-9a-f]{32}$/;

describe('versioning (JS SDK and raw requests)', () => {
  const s = serverForSuite(['ver', 'plain', 'sus', 'pages', 'ssec']);
  const enable = (Bucket: string, Status: 'Enabled' | 'Suspended' = 'Enabled') =>
    s.sdk.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
  const put = async (Bucket: string, Key: string, body: string) =>
    (await s.sdk.send(new PutObjectCommand({ Bucket, Key, Body: body }))).VersionId;
  const get = async (Bucket: string, Key: string, VersionId?: string) =>
    (await bodyBytes((await s.sdk.send(new GetObjectCommand({ Bucket, Key, VersionId }))).Body)).toString();
  const raw = (method: string, bucket: string, key?: string, query: Record<string, string> = {}, body?: string) =>
    signedSend(s.server, {
      method,
      path: objectPath(bucket, key),
      query,
      ...(body === undefined ? {} : { body: Buffer.from(body) }),
    });

  describe('PutBucketVersioning / GetBucketVersioning', () => {
    it('should answer an empty configuration until versioning is set, then its status', async () => {
      const before = await s.sdk.send(new GetBucketVersioningCommand({ Bucket: 'ver' }));
      assert.equal(before.Status, undefined);
      await enable('ver');
      assert.equal((await s.sdk.send(new GetBucketVersioningCommand({ Bucket: 'ver' }))).Status, 'Enabled');
      await enable('sus', 'Suspended');
      assert.equal((await s.sdk.send(new GetBucketVersioningCommand({ Bucket: 'sus' }))).Status, 'Suspended');
      const r = await raw('GET', 'ver', undefined, { versioning: '' });
      assert.match(
        r.text,
        /<VersioningConfiguration xmlns="[^"]+"><Status>Enabled<\/Status><\/VersioningConfiguration>/,
      );
    });

    it('should refuse a configuration S3 refuses', async () => {
      const conf = (inner: string) => `<VersioningConfiguration>${inner}</VersioningConfiguration>`;
      const cases: [string, number, string][] = [
        [conf(''), 400, 'IllegalVersioningConfigurationException'],
        [conf('<MfaDelete>Disabled</MfaDelete>'), 400, 'IllegalVersioningConfigurationException'],
        [conf('<Status>On</Status>'), 400, 'MalformedXML'],
        [conf('<Status>enabled</Status>'), 400, 'MalformedXML'],
        [conf('<Status>Enabled</Status><MfaDelete>Maybe</MfaDelete>'), 400, 'MalformedXML'],
        ['<Versioning><Status>Enabled</Status></Versioning>', 400, 'MalformedXML'],
        ['<VersioningConfiguration><Status>Enabled', 400, 'MalformedXML'],
        [conf('<Status>Enabled</Status><MfaDelete>Enabled</MfaDelete>'), 501, 'NotImplemented'],
      ];
      for (const [body, status, code] of cases) {
        const e = assertS3Error(await raw('PUT', 'plain', undefined, { versioning: '' }, body), status, code);
        if (code === 'NotImplemented') assert.match(e['Message']!, /MFA delete is not implemented/);
      }
      const still = await s.sdk.send(new GetBucketVersioningCommand({ Bucket: 'plain' }));
      assert.equal(still.Status, undefined, 'nothing changed');
    });
  });

  describe('writes and reads by version', () => {
    const ids: string[] = [];

    it('should give every PUT its own version id and read each version back', async () => {
      for (const word of ['one', 'two', 'three']) ids.push((await put('ver', 'k', word))!);
      for (const id of ids) assert.match(id, VERSION_ID);
      assert.equal(new Set(ids).size, 3);
      assert.equal(await get('ver', 'k'), 'three');
      assert.deepEqual(await Promise.all(ids.map((id) => get('ver', 'k', id))), ['one', 'two', 'three']);
      const head = await s.sdk.send(new HeadObjectCommand({ Bucket: 'ver', Key: 'k', VersionId: ids[0] }));
      assert.equal(head.VersionId, ids[0]);
      assert.equal(head.ContentLength, 3);
      const latest = await s.sdk.send(new GetObjectCommand({ Bucket: 'ver', Key: 'k' }));
      assert.equal(latest.VersionId, ids[2]);
      await bodyBytes(latest.Body);
    });

    it('should give a POST upload a version id', async () => {
      const p = await createPresignedPost(s.sdk, { Bucket: 'ver', Key: 'posted', Expires: 300 });
      const form = new FormData();
      for (const [k, v] of Object.entries(p.fields)) form.append(k, v);
      form.append('file', new Blob([Buffer.from('from a form')]), 'f.txt');
      const r = await fetch(p.url, { method: 'POST', body: form });
      assert.equal(r.status, 204, await r.text());
      const id = r.headers.get('x-amz-version-id');
      assert.match(id!, VERSION_ID);
      assert.equal(await get('ver', 'posted', id!), 'from a form');
    });

    it('should send no version id for an unversioned bucket, and `null` for its objects when named', async () => {
      const r = await raw('PUT', 'plain', 'k', {}, 'plain');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-amz-version-id'], undefined);
      const got = await raw('GET', 'plain', 'k', { versionId: 'null' });
      assert.equal(got.status, 200);
      assert.equal(got.text, 'plain');
      assert.equal(got.headers['x-amz-version-id'], 'null');
      assertS3Error(await raw('GET', 'plain', 'k', { versionId: ids[0]! }), 404, 'NoSuchVersion');
    });

    it('should refuse a malformed version id with InvalidArgument and an unknown one with NoSuchVersion', async () => {
      for (const bad of ['', 'abc', 'NULL', ids[0]!.toUpperCase(), `${ids[0]}0`, '../k']) {
        const e = assertS3Error(await raw('GET', 'ver', 'k', { versionId: bad }), 400, 'InvalidArgument');
        assert.equal(e['Message'], 'Invalid version id specified');
        assert.equal(e['ArgumentName'], 'versionId');
        assert.equal(e['ArgumentValue'], bad);
        assertS3Error(await raw('DELETE', 'ver', 'k', { versionId: bad }), 400, 'InvalidArgument');
      }
      const unknown = '0'.repeat(32);
      const e = assertS3Error(await raw('GET', 'ver', 'k', { versionId: unknown }), 404, 'NoSuchVersion');
      assert.equal(e['Message'], 'The specified version does not exist.');
      assert.equal(e['Key'], 'k');
      assert.equal(e['VersionId'], unknown);
      assert.equal((await raw('HEAD', 'ver', 'k', { versionId: unknown })).status, 404);
      assertS3Error(await raw('GET', 'ver', 'k', { versionId: 'null' }), 404, 'NoSuchVersion');
    });

    it('should tag, show the ACL and the attributes of one version', async () => {
      await s.sdk.send(
        new PutObjectTaggingCommand({
          Bucket: 'ver',
          Key: 'k',
          VersionId: ids[0],
          Tagging: { TagSet: [{ Key: 'v', Value: 'first' }] },
        }),
      );
      const first = await s.sdk.send(new GetObjectTaggingCommand({ Bucket: 'ver', Key: 'k', VersionId: ids[0] }));
      assert.deepEqual(first.TagSet, [{ Key: 'v', Value: 'first' }]);
      assert.equal(first.VersionId, ids[0]);
      const latest = await s.sdk.send(new GetObjectTaggingCommand({ Bucket: 'ver', Key: 'k' }));
      assert.deepEqual(latest.TagSet, []);
      assert.equal(latest.VersionId, ids[2]);
      const acl = await s.sdk.send(new GetObjectAclCommand({ Bucket: 'ver', Key: 'k', VersionId: ids[1] }));
      assert.equal(acl.Grants?.[0]?.Permission, 'FULL_CONTROL');
      const attrs = await s.sdk.send(
        new GetObjectAttributesCommand({
          Bucket: 'ver',
          Key: 'k',
          VersionId: ids[1],
          ObjectAttributes: ['ObjectSize'],
        }),
      );
      assert.equal(attrs.ObjectSize, 3);
      assert.equal(attrs.VersionId, ids[1]);
      await rejectsS3(
        s.sdk.send(new GetObjectTaggingCommand({ Bucket: 'ver', Key: 'k', VersionId: 'f'.repeat(32) })),
        404,
        'NoSuchVersion',
      );
    });

    it('should list only the latest version in ListObjectsV2', async () => {
      const list = await s.sdk.send(new ListObjectsV2Command({ Bucket: 'ver', Prefix: 'k' }));
      assert.deepEqual(
        list.Contents?.map((o) => [o.Key, o.Size]),
        [['k', 5]],
      );
    });
  });

  describe('delete markers', () => {
    let marker: string;

    it('should add a delete marker on DELETE, and answer GET and HEAD 404 with the marker headers', async () => {
      const del = await s.sdk.send(new DeleteObjectCommand({ Bucket: 'ver', Key: 'k' }));
      assert.equal(del.DeleteMarker, true);
      assert.match(del.VersionId!, VERSION_ID);
      marker = del.VersionId!;
      const get = await raw('GET', 'ver', 'k');
      assertS3Error(get, 404, 'NoSuchKey');
      assert.equal(get.headers['x-amz-delete-marker'], 'true');
      assert.equal(get.headers['x-amz-version-id'], marker);
      const head = await raw('HEAD', 'ver', 'k');
      assert.equal(head.status, 404);
      assert.equal(head.headers['x-amz-delete-marker'], 'true');
      assert.equal(head.headers['x-amz-version-id'], marker);
      const list = await s.sdk.send(new ListObjectsV2Command({ Bucket: 'ver', Prefix: 'k' }));
      assert.equal(list.KeyCount, 0);
    });

    it('should answer 405 MethodNotAllowed to a GET or HEAD of the marker by its id', async () => {
      const get = await raw('GET', 'ver', 'k', { versionId: marker });
      const e = assertS3Error(get, 405, 'MethodNotAllowed');
      assert.equal(e['Method'], 'GET');
      assert.equal(e['ResourceType'], 'DeleteMarker');
      assert.equal(get.headers['x-amz-delete-marker'], 'true');
      assert.equal(get.headers['x-amz-version-id'], marker);
      assert.equal(get.headers['allow'], 'DELETE');
      const head = await raw('HEAD', 'ver', 'k', { versionId: marker });
      assert.equal(head.status, 405);
      assert.equal(head.headers['x-amz-delete-marker'], 'true');
      assertS3Error(
        await signedSend(s.server, {
          method: 'PUT',
          path: objectPath('ver', 'copy'),
          headers: { 'x-amz-copy-source': `/ver/k?versionId=${marker}` },
        }),
        400,
        'InvalidRequest',
      );
    });

    it('should bring the object back when its marker is deleted by id', async () => {
      const del = await raw('DELETE', 'ver', 'k', { versionId: marker });
      assert.equal(del.status, 204);
      assert.equal(del.headers['x-amz-delete-marker'], 'true');
      assert.equal(del.headers['x-amz-version-id'], marker);
      assert.equal(await get('ver', 'k'), 'three');
    });

    it('should report versions and markers in DeleteObjects', async () => {
      const versions = await s.sdk.send(new ListObjectVersionsCommand({ Bucket: 'ver', Prefix: 'k' }));
      const oldest = versions.Versions!.at(-1)!.VersionId!;
      const r = await s.sdk.send(
        new DeleteObjectsCommand({
          Bucket: 'ver',
          Delete: {
            Objects: [
              { Key: 'k' },
              { Key: 'k', VersionId: oldest },
              { Key: 'k', VersionId: 'bogus' },
              { Key: 'never-was' },
            ],
          },
        }),
      );
      const byKey = r.Deleted!.map((d) => [d.Key, d.VersionId, d.DeleteMarker, d.DeleteMarkerVersionId]);
      const added = r.Deleted!.find((d) => d.Key === 'k' && d.VersionId === undefined)!;
      assert.equal(added.DeleteMarker, true);
      assert.match(added.DeleteMarkerVersionId!, VERSION_ID);
      assert.deepEqual(
        byKey.filter(([k, v]) => k === 'k' && v === oldest),
        [['k', oldest, undefined, undefined]],
      );
      const ghost = r.Deleted!.find((d) => d.Key === 'never-was')!;
      assert.equal(ghost.DeleteMarker, true, 'a versioned bucket gets a marker even for a key it never had');
      assert.deepEqual(
        r.Errors?.map((e) => [e.Key, e.VersionId, e.Code]),
        [['k', 'bogus', 'InvalidArgument']],
      );
      const markerDel = await s.sdk.send(
        new DeleteObjectsCommand({
          Bucket: 'ver',
          Delete: { Objects: [{ Key: 'k', VersionId: added.DeleteMarkerVersionId }] },
        }),
      );
      assert.deepEqual(markerDel.Deleted, [
        {
          Key: 'k',
          VersionId: added.DeleteMarkerVersionId,
          DeleteMarker: true,
          DeleteMarkerVersionId: added.DeleteMarkerVersionId,
        },
      ]);
      assert.equal(await get('ver', 'k'), 'three');
    });
  });

  describe('copies and multipart uploads', () => {
    it('should copy a version named in the source, and restore an old version over the latest', async () => {
      const v1 = await put('ver', 'doc', 'draft');
      const v2 = await put('ver', 'doc', 'final');
      const self = await signedSend(s.server, {
        method: 'PUT',
        path: objectPath('ver', 'doc'),
        headers: { 'x-amz-copy-source': '/ver/doc' },
      });
      assertS3Error(self, 400, 'InvalidRequest'); // a copy onto itself without a version id, as before
      const r = await signedSend(s.server, {
        method: 'PUT',
        path: objectPath('ver', 'doc'),
        headers: { 'x-amz-copy-source': `/ver/doc?versionId=${v1}` },
      });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers['x-amz-copy-source-version-id'], v1);
      const v3 = String(r.headers['x-amz-version-id']);
      assert.match(v3, VERSION_ID);
      assert.ok(v3 !== v1 && v3 !== v2);
      assert.equal(await get('ver', 'doc'), 'draft');
      const copy = await s.sdk.send(
        new CopyObjectCommand({ Bucket: 'plain', Key: 'doc-copy', CopySource: `ver/doc?versionId=${v2}` }),
      );
      assert.equal(copy.CopySourceVersionId, v2);
      assert.equal(copy.VersionId, undefined, 'the destination bucket is unversioned');
      assert.equal(await get('plain', 'doc-copy'), 'final');
      assertS3Error(
        await signedSend(s.server, {
          method: 'PUT',
          path: objectPath('plain', 'x'),
          headers: { 'x-amz-copy-source': '/ver/doc?versionId=zzz' },
        }),
        400,
        'InvalidArgument',
      );
    });

    it('should give a completed upload a version id, and copy a part from a named version', async () => {
      const v1 = await put('ver', 'part-src', 'old part');
      await put('ver', 'part-src', 'new part');
      const up = await s.sdk.send(new CreateMultipartUploadCommand({ Bucket: 'ver', Key: 'mp' }));
      const part = await s.sdk.send(
        new UploadPartCopyCommand({
          Bucket: 'ver',
          Key: 'mp',
          UploadId: up.UploadId,
          PartNumber: 1,
          CopySource: `ver/part-src?versionId=${v1}`,
        }),
      );
      assert.equal(part.CopySourceVersionId, v1);
      const done = await s.sdk.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'ver',
          Key: 'mp',
          UploadId: up.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult!.ETag }] },
        }),
      );
      assert.match(done.VersionId!, VERSION_ID);
      assert.equal(await get('ver', 'mp', done.VersionId), 'old part');
    });
  });

  describe('versioning suspended', () => {
    it('should write the null version and replace it, keeping the versions from before', async () => {
      await enable('sus', 'Enabled');
      const kept = await put('sus', 'k', 'kept');
      await enable('sus', 'Suspended');
      const r = await raw('PUT', 'sus', 'k', {}, 'null one');
      assert.equal(r.headers['x-amz-version-id'], 'null');
      await put('sus', 'k', 'null two');
      const list = await s.sdk.send(new ListObjectVersionsCommand({ Bucket: 'sus' }));
      assert.deepEqual(
        list.Versions?.map((v) => [v.VersionId, v.IsLatest, v.Size]),
        [
          ['null', true, 8],
          [kept, false, 4],
        ],
      );
      const del = await s.sdk.send(new DeleteObjectCommand({ Bucket: 'sus', Key: 'k' }));
      assert.equal(del.DeleteMarker, true);
      assert.equal(del.VersionId, 'null');
      const after = await s.sdk.send(new ListObjectVersionsCommand({ Bucket: 'sus' }));
      assert.deepEqual(
        after.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest]),
        [['k', 'null', true]],
      );
      assert.deepEqual(
        after.Versions?.map((v) => v.VersionId),
        [kept],
      );
    });

    it('should refuse to delete a bucket that still has versions, as S3 says it', async () => {
      const e = await rejectsS3(s.sdk.send(new DeleteBucketCommand({ Bucket: 'sus' })), 409, 'BucketNotEmpty');
      assert.equal(
        e.message,
        'The bucket you tried to delete is not empty. You must delete all versions in the bucket.',
      );
    });
  });

  describe('ListObjectVersions', () => {
    it('should page through versions and markers with key and version-id markers', async () => {
      await enable('pages');
      const keys = ['a', 'dir/b', 'dir/c', 'e f+g'];
      for (const k of keys) for (const n of [1, 2]) await put('pages', k, `${k}${n}`);
      await s.sdk.send(new DeleteObjectCommand({ Bucket: 'pages', Key: 'dir/b' }));
      const whole = await s.sdk.send(new ListObjectVersionsCommand({ Bucket: 'pages' }));
      assert.equal(whole.IsTruncated, false);
      assert.equal(whole.Versions?.length, 8);
      assert.deepEqual(
        whole.DeleteMarkers?.map((m) => [m.Key, m.IsLatest]),
        [['dir/b', true]],
      );
      assert.deepEqual(
        whole.Versions?.map((v) => [v.Key, v.IsLatest]),
        [
          ['a', true],
          ['a', false],
          ['dir/b', false],
          ['dir/b', false],
          ['dir/c', true],
          ['dir/c', false],
          ['e f+g', true],
          ['e f+g', false],
        ],
      );
      const seen: string[] = [];
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      for (let i = 0; i < 20; i++) {
        const page = await s.sdk.send(
          new ListObjectVersionsCommand({ Bucket: 'pages', MaxKeys: 2, KeyMarker, VersionIdMarker }),
        );
        const entries = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
        assert.equal(entries.length, page.IsTruncated ? 2 : entries.length);
        seen.push(...entries.map((e) => `${e.Key}@${e.VersionId}`));
        if (!page.IsTruncated) break;
        KeyMarker = page.NextKeyMarker;
        VersionIdMarker = page.NextVersionIdMarker;
        assert.match(VersionIdMarker!, VERSION_ID);
      }
      const all = [...whole.Versions!, ...whole.DeleteMarkers!].map((e) => `${e.Key}@${e.VersionId}`);
      assert.deepEqual(seen.sort(), all.sort());
    });

    it('should roll keys up with a delimiter and encode keys with encoding-type=url', async () => {
      const r = await raw('GET', 'pages', undefined, { versions: '', delimiter: '/', 'encoding-type': 'url' });
      assert.equal(r.status, 200);
      assert.match(r.text, /<CommonPrefixes><Prefix>dir\/<\/Prefix><\/CommonPrefixes>/);
      assert.match(r.text, /<Key>e%20f%2Bg<\/Key>/);
      assert.doesNotMatch(r.text, /<Key>dir\//);
      assert.match(r.text, /<EncodingType>url<\/EncodingType>/);
      const bad = await raw('GET', 'pages', undefined, { versions: '', 'key-marker': 'a', 'version-id-marker': 'x' });
      assertS3Error(bad, 400, 'InvalidArgument');
      const noKey = await raw('GET', 'pages', undefined, { versions: '', 'version-id-marker': '0'.repeat(32) });
      assertS3Error(noKey, 400, 'InvalidArgument');
    });
  });

  describe('SSE-C', () => {
    it('should need the key of each version: a wrong one is 403, the other version reads with its own', async () => {
      await enable('ssec');
      const ssec = (key: Buffer) => ({
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: key.toString('base64'),
        SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
      });
      const [keyA, keyB] = [randomBytes(32), randomBytes(32)];
      const a = await s.sdk.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'k', Body: 'version A', ...ssec(keyA) }));
      const b = await s.sdk.send(new PutObjectCommand({ Bucket: 'ssec', Key: 'k', Body: 'version B', ...ssec(keyB) }));
      const read = async (VersionId: string | undefined, key: Buffer) =>
        (
          await bodyBytes(
            (
              await s.sdk.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'k', VersionId, ...ssec(key) }))
            ).Body,
          )
        ).toString();
      assert.equal(await read(a.VersionId, keyA), 'version A');
      assert.equal(await read(b.VersionId, keyB), 'version B');
      await rejectsS3(
        s.sdk.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'k', VersionId: a.VersionId, ...ssec(keyB) })),
        403,
        'AccessDenied',
      );
      await rejectsS3(
        s.sdk.send(new GetObjectCommand({ Bucket: 'ssec', Key: 'k', ...ssec(keyA) })),
        403,
        'AccessDenied',
      );
      await rejectsS3(s.sdk.send(new HeadObjectCommand({ Bucket: 'ssec', Key: 'k', VersionId: a.VersionId })), 400);
    });
  });
});
