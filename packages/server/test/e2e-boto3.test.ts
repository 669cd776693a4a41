/**
 * End-to-end: boto3 (python3) against the real server, path-style SigV4. Each test runs one python script that prints
 * a JSON document; the assertions are made here.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { md5hex, patternBytes } from './helpers/assert.ts';
import { Clients, describeRun, hasBoto3 } from './helpers/clients.ts';
import { startServer, type RunningServer } from './helpers/server.ts';

const skip = hasBoto3() ? false : 'boto3 is not installed for python3 (pip install boto3)';

let server: RunningServer;
let clients: Clients;

/** Runs a script that ends by printing one JSON document, and parses it. */
async function py<T = Record<string, unknown>>(script: string, env: Record<string, string> = {}): Promise<T> {
  const r = await clients.boto3(script, { env });
  assert.equal(r.code, 0, describeRun(r));
  const last = r.stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as T;
}

// 300 KiB of deterministic bytes, handed to python in a file (too big for an environment variable)
const DATA = patternBytes(300 * 1024, 'boto3');
let dataFile: string;

describe('boto3', { skip }, () => {
  before(async () => {
    server = await startServer();
    clients = await Clients.create(server);
    dataFile = join(clients.dir, 'data.bin');
    await writeFile(dataFile, DATA);
    const r = await clients.boto3(`s3.create_bucket(Bucket='boto-bucket')\nprint('ok')`);
    assert.equal(r.code, 0, describeRun(r));
  });

  after(async () => {
    await server?.stop({ removeDir: true });
    await clients?.cleanup();
  });

  describe('put_object / get_object / head_object', () => {
    it('should round-trip bytes, metadata and content headers', async () => {
      const out = await py<{
        put: Record<string, string>;
        head: Record<string, unknown>;
        md5: string;
        len: number;
        ctype: string;
      }>(
        `
data = open(os.environ['DATA_FILE'], 'rb').read()
put = s3.put_object(Bucket='boto-bucket', Key='dir/obj.bin', Body=data, Metadata={'k': 'v'}, ContentType='application/x-boto')
head = s3.head_object(Bucket='boto-bucket', Key='dir/obj.bin')
get = s3.get_object(Bucket='boto-bucket', Key='dir/obj.bin')
body = get['Body'].read()
print(json.dumps({
  'put': {'ETag': put['ETag'], 'SSE': put.get('ServerSideEncryption')},
  'head': {'ContentLength': head['ContentLength'], 'ETag': head['ETag'], 'SSE': head.get('ServerSideEncryption'), 'Metadata': head['Metadata']},
  'md5': hashlib.md5(body).hexdigest(), 'len': len(body), 'equal': body == data, 'ctype': get['ContentType'],
}))
`,
        { DATA_FILE: dataFile },
      );
      const etag = `"${md5hex(DATA)}"`;
      assert.deepEqual(out.put, { ETag: etag, SSE: 'AES256' });
      assert.deepEqual(out.head, { ContentLength: DATA.length, ETag: etag, SSE: 'AES256', Metadata: { k: 'v' } });
      assert.equal(out.md5, md5hex(DATA));
      assert.equal(out.len, DATA.length);
      assert.equal((out as unknown as { equal: boolean }).equal, true);
      assert.equal(out.ctype, 'application/x-boto');
    });

    it('should report a missing key as NoSuchKey (get) and 404 (head)', async () => {
      const out = await py(`
res = {}
try:
    s3.get_object(Bucket='boto-bucket', Key='missing')
except ClientError as e:
    res['get'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
try:
    s3.head_object(Bucket='boto-bucket', Key='missing')
except ClientError as e:
    res['head'] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
print(json.dumps(res))
`);
      assert.deepEqual(out, { get: ['NoSuchKey', 404], head: ['404', 404] });
    });
  });

  describe('list_objects_v2', () => {
    it('should list keys, prefixes and pages', async () => {
      const out = await py<{
        all: string[];
        delim: { keys: string[]; prefixes: string[] };
        paged: string[];
        pages: number;
      }>(`
for k in ['l/a', 'l/b', 'l/sub/c', 'l/sub/d', 'l/e f', 'l/ü']:
    s3.put_object(Bucket='boto-bucket', Key=k, Body=k.encode())
allk = [o['Key'] for o in s3.list_objects_v2(Bucket='boto-bucket', Prefix='l/')['Contents']]
d = s3.list_objects_v2(Bucket='boto-bucket', Prefix='l/', Delimiter='/')
paged, pages = [], 0
for page in s3.get_paginator('list_objects_v2').paginate(Bucket='boto-bucket', Prefix='l/', PaginationConfig={'PageSize': 2}):
    pages += 1
    paged += [o['Key'] for o in page.get('Contents', [])]
print(json.dumps({'all': allk, 'delim': {'keys': [o['Key'] for o in d.get('Contents', [])], 'prefixes': [p['Prefix'] for p in d.get('CommonPrefixes', [])]}, 'paged': paged, 'pages': pages}))
`);
      const expected = ['l/a', 'l/b', 'l/e f', 'l/sub/c', 'l/sub/d', 'l/ü'];
      assert.deepEqual(out.all, expected);
      assert.deepEqual(out.delim, { keys: ['l/a', 'l/b', 'l/e f', 'l/ü'], prefixes: ['l/sub/'] });
      assert.deepEqual(out.paged, expected);
      assert.equal(out.pages, 3);
    });
  });

  describe('copy_object', () => {
    it('should copy byte-exact, with COPY and REPLACE metadata', async () => {
      const out = await py(
        `
s3.put_object(Bucket='boto-bucket', Key='c/src', Body=open(os.environ['DATA_FILE'], 'rb').read(), Metadata={'a': '1'})
s3.create_bucket(Bucket='boto-other')
r1 = s3.copy_object(Bucket='boto-other', Key='c/copy', CopySource={'Bucket': 'boto-bucket', 'Key': 'c/src'})
r2 = s3.copy_object(Bucket='boto-bucket', Key='c/repl', CopySource={'Bucket': 'boto-bucket', 'Key': 'c/src'}, MetadataDirective='REPLACE', Metadata={'b': '2'})
b1 = s3.get_object(Bucket='boto-other', Key='c/copy')
b2 = s3.get_object(Bucket='boto-bucket', Key='c/repl')
print(json.dumps({
  'etag1': r1['CopyObjectResult']['ETag'], 'md5_1': hashlib.md5(b1['Body'].read()).hexdigest(), 'meta1': b1['Metadata'],
  'etag2': r2['CopyObjectResult']['ETag'], 'md5_2': hashlib.md5(b2['Body'].read()).hexdigest(), 'meta2': b2['Metadata'],
}))
`,
        { DATA_FILE: dataFile },
      );
      const m = md5hex(DATA);
      assert.deepEqual(out, {
        etag1: `"${m}"`,
        md5_1: m,
        meta1: { a: '1' },
        etag2: `"${m}"`,
        md5_2: m,
        meta2: { b: '2' },
      });
    });
  });

  describe('delete_objects', () => {
    it('should delete several keys, quietly or not', async () => {
      const out = await py(`
for k in ['d/1', 'd/2', 'd/3']:
    s3.put_object(Bucket='boto-bucket', Key=k, Body=b'x')
r = s3.delete_objects(Bucket='boto-bucket', Delete={'Objects': [{'Key': 'd/1'}, {'Key': 'd/2'}]})
q = s3.delete_objects(Bucket='boto-bucket', Delete={'Objects': [{'Key': 'd/3'}], 'Quiet': True})
left = s3.list_objects_v2(Bucket='boto-bucket', Prefix='d/').get('KeyCount')
print(json.dumps({'deleted': sorted(d['Key'] for d in r.get('Deleted', [])), 'errors': r.get('Errors', []), 'quiet': q.get('Deleted', []), 'left': left}))
`);
      assert.deepEqual(out, { deleted: ['d/1', 'd/2'], errors: [], quiet: [], left: 0 });
    });
  });

  describe('errors', () => {
    it('should report InvalidBucketName for a bad bucket name', async () => {
      const out = await py(`
res = []
for name in ['Bad_Bucket', 'ab', 'bad..name']:
    try:
        s3.create_bucket(Bucket=name)
        res.append([name, 'created'])
    except ClientError as e:
        res.append([name, e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']])
print(json.dumps({'res': res}))
`);
      assert.deepEqual(out, {
        res: [
          ['Bad_Bucket', 'InvalidBucketName', 400],
          ['ab', 'InvalidBucketName', 400],
          ['bad..name', 'InvalidBucketName', 400],
        ],
      });
    });

    it('should report SignatureDoesNotMatch for a wrong secret key', async () => {
      const r = await clients.boto3(
        `
try:
    s3.list_buckets()
    print(json.dumps({'code': 'none'}))
except ClientError as e:
    print(json.dumps({'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode']}))
`,
        { creds: { accessKey: server.accessKey, secretKey: server.secretKey + 'x' } },
      );
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(JSON.parse(r.stdout.trim()), { code: 'SignatureDoesNotMatch', status: 403 });
    });
  });
});
