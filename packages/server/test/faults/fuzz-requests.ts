/**
 * The request generator of the fuzzer (fuzz.test.ts): a seeded PRNG, a well-formed request for every operation of
 * the router's table, and mutations that break one part of a request at a time (XML bodies, SigV4 and presigned
 * fields, aws-chunked framing, ranges, conditional and copy headers, SSE-C headers, keys and bucket names,
 * `response-*` values, oversized headers). Everything drawn comes from the PRNG, so a seed replays a run.
 */
import { createHash } from 'node:crypto';

import type { Operation } from '../../src/operations.ts';
import { encodeKey, presign, signHeaders, uriEncode } from '../helpers/http.ts';

/** mulberry32: a small, fast, seeded PRNG (deterministic across platforms). */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  /** A string of `n` characters drawn from code points that stress parsers and header writers. */
  text(n: number): string {
    const ranges: [number, number][] = [
      [0x20, 0x7e],
      [0x00, 0x1f],
      [0x7f, 0xff],
      [0x100, 0x2fff],
      [0xe000, 0xfffd],
    ];
    let s = '';
    for (let i = 0; i < n; i++) {
      const [lo, hi] = this.pick(ranges);
      s += String.fromCharCode(lo + this.int(hi - lo + 1));
    }
    return s;
  }
}

/** What the fixtures of the run are: the names and keys a well-formed request refers to. */
export interface Fixtures {
  bucket: string;
  /** An SSE-S3 object in `bucket`. */
  object: string;
  /** An SSE-C object in `bucket`, written with `customerKey`. */
  ssecObject: string;
  customerKey: Buffer;
  /** An open multipart upload of `uploadKey` in `bucket`. */
  uploadKey: string;
  uploadId: () => string;
}

/** One request to send: built well-formed for its operation, then mutated. */
export interface FuzzRequest {
  op: string;
  method: string;
  bucket?: string;
  key?: string;
  /** Replaces the path built from bucket and key (for paths that encodeKey cannot produce). */
  rawPath?: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Buffer;
  payloadHash?: string;
  /** header: signed in the Authorization header; presign: in the query; none: anonymous. */
  auth: 'header' | 'presign' | 'none';
  /** Applied after signing (so that the signature no longer matches, or the auth fields are broken). */
  afterSign: ((r: Signed) => void)[];
  /** Names of the mutations applied, to report a failure. */
  mutations: string[];
}

/** A signed request, ready for httpSend. */
export interface Signed {
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Buffer;
}

const md5b64 = (b: Buffer) => createHash('md5').update(b).digest('base64');

const SSEC = 'x-amz-server-side-encryption-customer-';
const COPY_SSEC = 'x-amz-copy-source-server-side-encryption-customer-';

function ssecHeaders(key: Buffer, prefix = SSEC): Record<string, string> {
  return {
    [`${prefix}algorithm`]: 'AES256',
    [`${prefix}key`]: key.toString('base64'),
    [`${prefix}key-md5`]: md5b64(key),
  };
}

const XML = {
  delete: (f: Fixtures) =>
    `<Delete><Quiet>false</Quiet><Object><Key>${f.object}-x</Key></Object>` +
    '<Object><Key>gone</Key></Object></Delete>',
  cors: () =>
    '<CORSConfiguration><CORSRule><AllowedOrigin>https://a.example</AllowedOrigin>' +
    '<AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>' +
    '<MaxAgeSeconds>60</MaxAgeSeconds></CORSRule></CORSConfiguration>',
  encryption: () =>
    '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>' +
    '<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>' +
    '</ServerSideEncryptionConfiguration>',
  // every object matches, so that GET and HEAD carry x-amz-expiration (with the rule's ID) from then on
  lifecycle: () =>
    '<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter>' +
    '<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>',
  tagging: () => '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>',
  acl: () =>
    '<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList><Grant><Grantee ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>x</ID></Grantee>' +
    '<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>',
  ownership: () =>
    '<OwnershipControls><Rule><ObjectOwnership>BucketOwnerPreferred</ObjectOwnership></Rule></OwnershipControls>',
  publicAccessBlock: () =>
    '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>' +
    '<IgnorePublicAcls>false</IgnorePublicAcls></PublicAccessBlockConfiguration>',
  createBucket: () =>
    '<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint>' + '</CreateBucketConfiguration>',
  complete: () =>
    '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>' +
    '<ETag>"0123456789abcdef0123456789abcdef"</ETag></Part></CompleteMultipartUpload>',
};

type Builder = (rng: Rng, f: Fixtures) => Omit<FuzzRequest, 'auth' | 'afterSign' | 'mutations' | 'op'>;

const xmlPut = (xml: string, query: Record<string, string>, bucket: string, key?: string) => {
  const body = Buffer.from(xml);
  return { method: 'PUT', bucket, key, query, headers: { 'content-md5': md5b64(body) }, body };
};

/** A bodiless request for a sub-resource (`?cors`, `?tagging`, …) of the bucket, or of its object. */
const sub =
  (method: string, name: string, onObject = false): Builder =>
  (_, f) => ({
    method,
    bucket: f.bucket,
    key: onObject ? f.object : undefined,
    query: { [name]: '' },
    headers: {},
  });

/** Get, Put and Delete of one bucket configuration (`?cors`, …), by operation name. */
function configuration<G extends Operation, P extends Operation, D extends Operation>(
  name: string,
  xml: () => string,
  [get, put, del]: [G, P, D],
): Record<G | P | D, Builder> {
  const put_: Builder = (_, f) => xmlPut(xml(), { [name]: '' }, f.bucket);
  return { [get]: sub('GET', name), [put]: put_, [del]: sub('DELETE', name) } as Record<G | P | D, Builder>;
}

/** A well-formed request for every operation of router.ts. */
export const OPERATIONS: Record<Operation, Builder> = {
  ...configuration('encryption', XML.encryption, [
    'GetBucketEncryption',
    'PutBucketEncryption',
    'DeleteBucketEncryption',
  ]),
  ...configuration('cors', XML.cors, ['GetBucketCors', 'PutBucketCors', 'DeleteBucketCors']),
  ...configuration('lifecycle', XML.lifecycle, [
    'GetBucketLifecycleConfiguration',
    'PutBucketLifecycleConfiguration',
    'DeleteBucketLifecycle',
  ]),
  ...configuration('tagging', XML.tagging, ['GetBucketTagging', 'PutBucketTagging', 'DeleteBucketTagging']),
  ...configuration('ownershipControls', XML.ownership, [
    'GetBucketOwnershipControls',
    'PutBucketOwnershipControls',
    'DeleteBucketOwnershipControls',
  ]),
  ...configuration('publicAccessBlock', XML.publicAccessBlock, [
    'GetPublicAccessBlock',
    'PutPublicAccessBlock',
    'DeletePublicAccessBlock',
  ]),
  GetBucketPolicyStatus: sub('GET', 'policyStatus'),
  GetBucketPolicy: sub('GET', 'policy'),
  PutBucketPolicy: (_, f) => {
    const statement = {
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutBucketWebsite',
      Resource: `arn:aws:s3:::${f.bucket}`,
    };
    const body = Buffer.from(JSON.stringify({ Version: '2012-10-17', Statement: statement }));
    return { method: 'PUT', bucket: f.bucket, query: { policy: '' }, headers: {}, body };
  },
  DeleteBucketPolicy: sub('DELETE', 'policy'),
  ListBuckets: () => ({ method: 'GET', query: { 'max-buckets': '10' }, headers: {} }),
  CreateBucket: (rng) => {
    const body = rng.chance(0.5) ? Buffer.from(XML.createBucket()) : undefined;
    return { method: 'PUT', bucket: `fuzz-new-${rng.int(1000)}`, query: {}, headers: {}, body };
  },
  HeadBucket: (_, f) => ({ method: 'HEAD', bucket: f.bucket, query: {}, headers: {} }),
  DeleteBucket: (rng) => ({ method: 'DELETE', bucket: `fuzz-new-${rng.int(1000)}`, query: {}, headers: {} }),
  GetBucketLocation: sub('GET', 'location'),
  GetBucketVersioning: sub('GET', 'versioning'),
  // Suspended, not Enabled: writes stay the null version, so that the other operations keep their answers.
  PutBucketVersioning: (_, f) =>
    xmlPut(
      '<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>',
      { versioning: '' },
      f.bucket,
    ),
  PreflightRequest: (rng, f) => ({
    method: 'OPTIONS',
    bucket: f.bucket,
    key: rng.chance(0.5) ? f.object : undefined,
    query: {},
    headers: {
      origin: 'https://a.example',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'x-amz-date',
    },
  }),
  GetBucketAcl: sub('GET', 'acl'),
  PutBucketAcl: (rng, f) =>
    rng.chance(0.5)
      ? xmlPut(XML.acl(), { acl: '' }, f.bucket)
      : { method: 'PUT', bucket: f.bucket, query: { acl: '' }, headers: { 'x-amz-acl': 'private' } },
  GetObjectAcl: sub('GET', 'acl', true),
  PutObjectAcl: (_, f) => xmlPut(XML.acl(), { acl: '' }, f.bucket, f.object),
  GetBucketDefault: (rng, f) => {
    const name = rng.pick(['policy', 'website', 'logging', 'accelerate']);
    return sub('GET', name)(rng, f);
  },
  GetObjectAttributes: (_, f) => ({
    method: 'GET',
    bucket: f.bucket,
    key: f.object,
    query: { attributes: '', 'max-parts': '5' },
    headers: { 'x-amz-object-attributes': 'ETag,Checksum,ObjectParts,StorageClass,ObjectSize' },
  }),
  GetObjectLockConfiguration: sub('GET', 'object-lock'),
  PutObjectLockConfiguration: (_, f) =>
    xmlPut(
      '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>' +
        '<Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule></ObjectLockConfiguration>',
      { 'object-lock': '' },
      f.bucket,
    ),
  GetObjectRetention: sub('GET', 'retention', true),
  PutObjectRetention: (_, f) =>
    xmlPut(
      '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>',
      { retention: '' },
      f.bucket,
      f.object,
    ),
  GetObjectLegalHold: sub('GET', 'legal-hold', true),
  PutObjectLegalHold: (_, f) =>
    xmlPut('<LegalHold><Status>OFF</Status></LegalHold>', { 'legal-hold': '' }, f.bucket, f.object),
  GetObjectTagging: sub('GET', 'tagging', true),
  PutObjectTagging: (_, f) => xmlPut(XML.tagging(), { tagging: '' }, f.bucket, f.object),
  DeleteObjectTagging: sub('DELETE', 'tagging', true),
  ListObjects: (_, f) => ({
    method: 'GET',
    bucket: f.bucket,
    query: { prefix: 'o', delimiter: '/', 'max-keys': '5', marker: 'a' },
    headers: {},
  }),
  ListObjectsV2: (_, f) => ({
    method: 'GET',
    bucket: f.bucket,
    headers: {},
    query: { 'list-type': '2', 'start-after': 'a', 'fetch-owner': 'true', 'encoding-type': 'url' },
  }),
  ListObjectVersions: (_, f) => ({
    method: 'GET',
    bucket: f.bucket,
    query: { versions: '', 'key-marker': 'a' },
    headers: {},
  }),
  DeleteObjects: (_, f) => {
    const body = Buffer.from(XML.delete(f));
    return { method: 'POST', bucket: f.bucket, query: { delete: '' }, headers: { 'content-md5': md5b64(body) }, body };
  },
  PutObject: (rng, f) => {
    const body = rng.bytes(rng.int(3000));
    const headers: Record<string, string> = {
      'content-type': 'text/plain',
      'x-amz-meta-a': 'b',
      'content-md5': md5b64(body),
    };
    if (rng.chance(0.3)) Object.assign(headers, ssecHeaders(f.customerKey));
    return { method: 'PUT', bucket: f.bucket, key: `put-${rng.int(20)}`, query: {}, headers, body };
  },
  PostObject: (rng, f) => {
    const boundary = 'fzb' + rng.int(1e6);
    const fields = [
      ['key', `post-${rng.int(10)}`],
      ['policy', 'e30='],
      ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
      ['x-amz-credential', 'AK/20260101/us-east-1/s3/aws4_request'],
      ['x-amz-date', '20260101T000000Z'],
      ['x-amz-signature', '00'],
    ];
    const body = Buffer.from(fields.map(([k, v]) => formField(boundary, k!, v!)).join('') + formFile(boundary));
    return { method: 'POST', bucket: f.bucket, query: {}, headers: formHeaders(boundary), body };
  },
  CopyObject: (rng, f) => {
    const headers: Record<string, string> = {
      'x-amz-copy-source': `/${f.bucket}/${encodeKey(f.object)}`,
      'x-amz-metadata-directive': 'REPLACE',
    };
    if (rng.chance(0.3)) {
      Object.assign(headers, ssecHeaders(f.customerKey, COPY_SSEC));
      headers['x-amz-copy-source'] = `/${f.bucket}/${encodeKey(f.ssecObject)}`;
    }
    return { method: 'PUT', bucket: f.bucket, key: `copy-${rng.int(10)}`, query: {}, headers };
  },
  GetObject: (rng, f) => {
    const ssec = rng.chance(0.3);
    return {
      method: 'GET',
      bucket: f.bucket,
      key: ssec ? f.ssecObject : f.object,
      query: { 'response-content-type': 'text/plain' },
      headers: { range: 'bytes=0-99', ...(ssec ? ssecHeaders(f.customerKey) : {}) },
    };
  },
  HeadObject: (_, f) => ({
    method: 'HEAD',
    bucket: f.bucket,
    key: f.object,
    query: {},
    headers: { 'if-none-match': '"x"' },
  }),
  DeleteObject: (rng, f) => ({ method: 'DELETE', bucket: f.bucket, key: `put-${rng.int(20)}`, query: {}, headers: {} }),
  CreateMultipartUpload: (_, f) => ({
    method: 'POST',
    bucket: f.bucket,
    key: 'mp-new',
    query: { uploads: '' },
    headers: { 'x-amz-checksum-algorithm': 'CRC32' },
  }),
  UploadPart: (rng, f) => {
    const body = rng.bytes(rng.int(2000));
    const query = { partNumber: '1', uploadId: f.uploadId() };
    return { method: 'PUT', bucket: f.bucket, key: f.uploadKey, query, headers: { 'content-md5': md5b64(body) }, body };
  },
  UploadPartCopy: (_, f) => ({
    method: 'PUT',
    bucket: f.bucket,
    key: f.uploadKey,
    query: { partNumber: '2', uploadId: f.uploadId() },
    headers: { 'x-amz-copy-source': `${f.bucket}/${encodeKey(f.object)}`, 'x-amz-copy-source-range': 'bytes=0-9' },
  }),
  CompleteMultipartUpload: (_, f) => ({
    method: 'POST',
    bucket: f.bucket,
    key: f.uploadKey,
    query: { uploadId: f.uploadId() },
    headers: {},
    body: Buffer.from(XML.complete()),
  }),
  AbortMultipartUpload: (rng, f) => ({
    method: 'DELETE',
    bucket: f.bucket,
    key: f.uploadKey,
    query: { uploadId: rng.chance(0.2) ? f.uploadId() : 'nope' },
    headers: {},
  }),
  ListParts: (_, f) => ({
    method: 'GET',
    bucket: f.bucket,
    key: f.uploadKey,
    headers: {},
    query: { uploadId: f.uploadId(), 'max-parts': '2', 'part-number-marker': '0' },
  }),
  ListMultipartUploads: (_, f) => ({
    method: 'GET',
    bucket: f.bucket,
    headers: {},
    query: { uploads: '', 'key-marker': 'a', 'max-uploads': '3', prefix: 'm' },
  }),
};

/**
 * Characters Node refuses in a response header, and others that stress decoders. (A lone surrogate cannot be
 * percent-encoded into a query or path by the client; the `key` mutation sends its UTF-8 form raw instead.)
 */
const NASTY = [
  '\r\n',
  '\n',
  '\0',
  '\x7f',
  '\u0100',
  '\u2028',
  '\ufeff',
  '%',
  '%zz',
  '"',
  '<',
  '&',
  '\\',
  '../',
  '*',
  ' ',
];

function nasty(rng: Rng): string {
  let s = '';
  for (let i = 1 + rng.int(3); i > 0; i--) s += rng.chance(0.5) ? rng.pick(NASTY) : rng.text(1 + rng.int(8));
  return s;
}

/** A value Node's HTTP client can send in a header (no CR/LF/NUL, nothing above U+00FF). */
function headerSafe(rng: Rng, n = 1 + rng.int(40)): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    s += String.fromCharCode(rng.chance(0.8) ? 0x20 + rng.int(0x5f) : 0x80 + rng.int(0x80));
  }
  return s.trim() || 'x';
}

const HUGE_NUMBERS = [
  '-1',
  '0',
  '1e3',
  '99999999999999999999',
  '2147483648',
  'abc',
  '',
  ' 1',
  '0x10',
  '1.5',
  'NaN',
  '+1',
];

function formField(boundary: string, name: string, value: string): string {
  return `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
}

function formFile(boundary: string): string {
  return `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nzz\r\n--${boundary}--\r\n`;
}

const formHeaders = (boundary: string) => ({ 'content-type': `multipart/form-data; boundary=${boundary}` });

function mutateXml(rng: Rng, body: Buffer | undefined): Buffer {
  const xml = (body ?? Buffer.from('<X/>')).toString('utf8');
  const cut = rng.int(xml.length + 1);
  const options: (() => string)[] = [
    () => xml.slice(0, cut),
    () => xml.slice(0, cut) + nasty(rng) + xml.slice(cut),
    () => xml.slice(0, cut) + '<Unknown>' + nasty(rng) + '</Unknown>' + xml.slice(cut),
    () => '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + xml.replace('>', '>&e;'),
    () => xml.replace(/>[^<]+</, `>${rng.pick(['&#0;', '&#xD800;', '&bogus;', '&#xFFFFFFFF;', ']]>', '&lt;'])}<`),
    () => '<a>'.repeat(5000) + '</a>'.repeat(5000),
    () => '',
    () => '\ufeff' + xml,
    () => xml.replace(/<(\w+)>/, '<$1 xmlns="urn:x" a="1" a="2">'),
    () => xml.replace(/>[^<]*</g, () => `>${rng.pick(['', ' ', '-1', '99999999999', 'true', nasty(rng)])}<`),
  ];
  if (rng.chance(0.05)) return Buffer.alloc(1_100_000, 0x20);
  const out = Buffer.from(rng.pick(options)());
  if (rng.chance(0.2) && out.length > 0) out[rng.int(out.length)] = rng.int(256);
  return out;
}

/** aws-chunked bodies, well-formed to start with and broken in one place. */
function awsChunkedBody(rng: Rng, data: Buffer, signed: boolean): Buffer {
  const sig = signed ? ';chunk-signature=' + 'ab'.repeat(32) : '';
  const pieces = [
    `${data.length.toString(16)}${sig}\r\n`,
    data.toString('latin1'),
    '\r\n',
    `0${sig}\r\n`,
    signed ? '\r\n' : `x-amz-checksum-crc32:${rng.pick(['AAAAAA==', 'bad', ''])}\r\n\r\n`,
  ];
  const broken: (() => void)[] = [
    () => (pieces[0] = `${rng.pick(['zz', 'ffffffffffffffff', '-1', '', ' 10', '1'.repeat(40)])}${sig}\r\n`),
    () => (pieces[2] = ''),
    () => (pieces[3] = ''),
    () => (pieces[4] = rng.pick(['garbage', 'x-amz-checksum-crc32\r\n', ':\r\n\r\n', '\r\n'.repeat(50)])),
    () => (pieces[0] = `${data.length.toString(16)};chunk-signature=${nasty(rng)}\r\n`),
    () => (pieces[1] = pieces[1]!.slice(0, rng.int(pieces[1]!.length + 1))),
  ];
  rng.pick(broken)();
  return Buffer.from(pieces.join(''), 'latin1');
}

/** XML text with its markup characters escaped, and line breaks as character references (which XML keeps). */
function xmlText(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;')
    .replace(/\n/g, '&#10;');
}

type Mutation = (rng: Rng, r: FuzzRequest, f: Fixtures) => void;

/** Mutations by family; each breaks one part of the request. */
export const MUTATIONS: Record<string, Mutation> = {
  xmlBody: (rng, r) => {
    r.body = mutateXml(rng, r.body);
    if (r.headers['content-md5'] !== undefined) r.headers['content-md5'] = md5b64(r.body);
  },
  /** Well-formed XML whose values are odd: what a parser accepts and a handler may store and echo later. */
  xmlValues: (rng, r) => {
    const xml = (r.body ?? Buffer.from('<X>x</X>')).toString('utf8');
    const leaves = [...xml.matchAll(/<(\w+)>[^<]*<\/\1>/g)].length;
    const target = rng.int(Math.max(leaves, 1));
    const odd = [...HUGE_NUMBERS, 'x'.repeat(rng.pick([256, 1025, 5000]))];
    const value = rng.chance(0.7) ? xmlText(nasty(rng)) : rng.pick(odd);
    let n = 0;
    const replace = (leaf: string, tag: string) => (n++ === target ? `<${tag}>${value}</${tag}>` : leaf);
    r.body = Buffer.from(xml.replace(/<(\w+)>[^<]*<\/\1>/g, replace));
    if (r.headers['content-md5'] !== undefined) r.headers['content-md5'] = md5b64(r.body);
  },
  key: (rng, r, f) => {
    r.bucket ??= f.bucket;
    const choice = rng.int(6);
    const raw = ['%ED%A0%80', '%zz', '%', '%00', '%C0%AF', 'a%2F..%2F..%2Fkeys'];
    if (choice === 0) r.rawPath = `/${r.bucket}/${rng.pick(raw)}`;
    else if (choice === 1) r.key = 'k'.repeat(1020 + rng.int(10));
    else if (choice === 2) r.key = rng.pick(['/', '//', '../../etc/passwd', ' ', '.', '\u00e9/\u2028']);
    else r.key = nasty(rng);
  },
  bucketName: (rng, r) => {
    r.bucket = rng.pick([
      'A',
      'ab',
      'a'.repeat(64),
      '192.168.1.1',
      'xn--abc',
      'a..b',
      '-ab',
      'ab-',
      'bucket\u00e9',
      'a_b',
      'fuzz-s3alias',
    ]);
  },
  responseOverride: (rng, r) => {
    const param = rng.pick([
      'response-content-type',
      'response-content-language',
      'response-expires',
      'response-cache-control',
      'response-content-disposition',
      'response-content-encoding',
    ]);
    r.query[param] = nasty(rng);
  },
  queryNumber: (rng, r) => {
    const names = [
      'max-keys',
      'max-parts',
      'max-uploads',
      'partNumber',
      'part-number-marker',
      'max-buckets',
      'list-type',
    ];
    r.query[rng.pick(names)] = rng.pick(HUGE_NUMBERS);
  },
  queryToken: (rng, r) => {
    const names = [
      'continuation-token',
      'uploadId',
      'upload-id-marker',
      'versionId',
      'encoding-type',
      'marker',
      'delimiter',
      'prefix',
    ];
    r.query[rng.pick(names)] = rng.chance(0.5) ? headerSafe(rng) : rng.bytes(12).toString('base64url');
  },
  range: (rng, r) => {
    r.headers['range'] = rng.pick([
      'bytes=',
      'bytes=5-1',
      'bytes=-0',
      'bytes=0-0,2-3',
      'bytes=99999999999999999999-',
      'items=0-1',
      '-',
      'bytes=-',
      'bytes=1-2-3',
      'bytes= 0-1',
      'bytes=0-1;x',
      headerSafe(rng),
    ]);
    if (rng.chance(0.3)) r.query['partNumber'] = rng.pick(HUGE_NUMBERS);
  },
  conditional: (rng, r) => {
    const prefix = rng.chance(0.4) ? 'x-amz-copy-source-' : '';
    r.headers[`${prefix}${rng.pick(['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since'])}`] =
      rng.pick(['*', '""', '"', 'W/"x"', 'Mon, 32 Foo 2026 99:99:99 GMT', '0', 'yesterday', headerSafe(rng)]);
  },
  copySource: (rng, r, f) => {
    r.headers['x-amz-copy-source'] = rng.pick([
      '',
      '/',
      f.bucket,
      `/${f.bucket}/`,
      '%',
      `${f.bucket}/${f.object}?versionId=x`,
      `/${f.bucket}/%ZZ`,
      '/nope/x',
      `/${f.bucket}/${'k'.repeat(1100)}`,
      headerSafe(rng),
      `/${f.bucket}/%ED%A0%80`,
    ]);
    const ranges = ['bytes=0-', 'bytes=5-1', 'bytes=-5', 'x', 'bytes=0-99999999'];
    if (rng.chance(0.4)) r.headers['x-amz-copy-source-range'] = rng.pick(ranges);
    if (rng.chance(0.3)) r.headers['x-amz-metadata-directive'] = rng.pick(['copy', 'MOVE', '']);
    if (rng.chance(0.3)) r.headers['x-amz-tagging-directive'] = rng.pick(['REPLACE', 'X']);
  },
  sseC: (rng, r, f) => {
    const prefix = rng.chance(0.3) ? COPY_SSEC : SSEC;
    const h = ssecHeaders(rng.chance(0.5) ? f.customerKey : rng.bytes(rng.pick([0, 16, 31, 32, 33])), prefix);
    const what = rng.int(5);
    if (what === 0) h[`${prefix}algorithm`] = rng.pick(['aes256', 'AES128', '', 'aws:kms']);
    if (what === 1) h[`${prefix}key`] = rng.pick(['not base64!', '', '====', headerSafe(rng)]);
    if (what === 2) h[`${prefix}key-md5`] = rng.pick(['', 'AAAA', md5b64(Buffer.from('x'))]);
    if (what === 3) delete h[`${prefix}${rng.pick(['algorithm', 'key', 'key-md5'])}`];
    if (what === 4) r.headers['x-amz-server-side-encryption'] = rng.pick(['AES256', 'aws:kms', 'x']);
    Object.assign(r.headers, h);
  },
  checksumHeaders: (rng, r) => {
    const name = rng.pick([
      'content-md5',
      'x-amz-checksum-crc32',
      'x-amz-checksum-crc32c',
      'x-amz-checksum-sha256',
      'x-amz-checksum-crc64nvme',
      'x-amz-sdk-checksum-algorithm',
      'x-amz-checksum-algorithm',
      'x-amz-checksum-type',
    ]);
    r.headers[name] = rng.pick(['', 'AAAA', 'CRC99', 'FULL_OBJECT', 'COMPOSITE', headerSafe(rng)]);
  },
  metadata: (rng, r) => {
    r.headers[`x-amz-meta-${rng.pick(['a', 'long', 'x'.repeat(100)])}`] = headerSafe(rng, rng.chance(0.2) ? 2100 : 20);
    const tagging = ['a=b&a=c', '=', '&&', 'k=' + 'v'.repeat(300), headerSafe(rng)];
    if (rng.chance(0.4)) r.headers['x-amz-tagging'] = rng.pick(tagging);
    const others = ['x-amz-acl', 'x-amz-storage-class', 'x-amz-website-redirect-location', 'expires'];
    if (rng.chance(0.3)) r.headers[rng.pick(others)] = headerSafe(rng);
  },
  oversizedHeader: (rng, r) => {
    const size = rng.pick([8_000, 15_000, 40_000]);
    r.headers[rng.pick(['x-amz-meta-big', 'x-fuzz-big', 'cache-control'])] = 'v'.repeat(size);
  },
  awsChunked: (rng, r) => {
    const signed = rng.chance(0.5);
    const data = rng.bytes(rng.int(200));
    r.body = awsChunkedBody(rng, data, signed);
    r.payloadHash = signed ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' : 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
    r.headers['content-encoding'] = 'aws-chunked';
    const lengths = [String(data.length), String(data.length + 1), '-1', 'x', '0'];
    r.headers['x-amz-decoded-content-length'] = rng.pick(lengths);
    if (!signed) r.headers['x-amz-trailer'] = rng.pick(['x-amz-checksum-crc32', 'x-amz-checksum-bogus', '']);
    delete r.headers['content-md5'];
  },
  payloadHash: (rng, r) => {
    r.payloadHash = rng.pick([
      'UNSIGNED-PAYLOAD',
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      '0'.repeat(64),
      'zz',
      '',
      'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD',
    ]);
  },
  authHeader: (rng, r) => {
    r.afterSign.push((s) => {
      const auth = s.headers['authorization'] ?? '';
      s.headers['authorization'] = rng.pick([
        auth.replace(/Signature=\w+/, 'Signature='),
        auth.replace(/Credential=[^,]+/, `Credential=${headerSafe(rng)}`),
        auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=host;x-not-sent'),
        auth.replace('AWS4-HMAC-SHA256', rng.pick(['AWS4-HMAC-SHA512', 'AWS', ''])),
        auth.replace(/, /g, ',,'),
        auth.replace(/\/\d{8}\//, '/2026131/'),
        headerSafe(rng),
      ]);
    });
  },
  amzDate: (rng, r) => {
    r.afterSign.push((s) => {
      const dates = ['', '20261301T000000Z', '19700101T000000Z', 'Tue, 01 Dec 2026 00:00:00 GMT', headerSafe(rng)];
      s.headers['x-amz-date'] = rng.pick(dates);
    });
  },
  presigned: (rng, r) => {
    r.auth = 'presign';
    r.afterSign.push((s) => {
      const field = rng.pick([
        'X-Amz-Algorithm',
        'X-Amz-Credential',
        'X-Amz-Date',
        'X-Amz-Expires',
        'X-Amz-SignedHeaders',
        'X-Amz-Signature',
      ]);
      if (rng.chance(0.3)) delete s.query[field];
      else s.query[field] = rng.pick(['', '-1', '604801', '99999999999999999999', 'AK/x', 'host;x', nasty(rng)]);
    });
  },
  anonymous: (_, r) => {
    r.auth = 'none';
  },
  postForm: (rng, r, f) => {
    const boundary = rng.pick(['b', 'x'.repeat(80), '']);
    const fields = rng.chance(0.5)
      ? formField(boundary, 'key', nasty(rng))
      : formField(boundary, 'policy', Buffer.from(nasty(rng)).toString('base64'));
    r.method = 'POST';
    r.bucket = f.bucket;
    r.key = undefined;
    r.query = {};
    r.auth = 'none';
    r.headers = formHeaders(boundary);
    r.body = Buffer.from(fields + (rng.chance(0.5) ? formFile(boundary) : ''));
  },
};

/** Mutation names for an operation: those of what its request carries (may be none), and every family. */
function mutationsFor(op: string, req: Omit<FuzzRequest, 'op'>): { relevant: string[]; all: string[] } {
  const names: string[] = [];
  const xml = req.body !== undefined && op !== 'PutObject' && op !== 'UploadPart' && op !== 'PostObject';
  const relevant: [boolean, string[]][] = [
    [xml, ['xmlBody', 'xmlValues']],
    [op === 'PutObject' || op === 'UploadPart', ['awsChunked', 'metadata', 'checksumHeaders']],
    [op === 'GetObject' || op === 'HeadObject', ['range', 'responseOverride', 'conditional', 'sseC']],
    [op === 'CopyObject' || op === 'UploadPartCopy', ['copySource', 'conditional', 'sseC']],
    [op === 'PostObject', ['postForm']],
  ];
  for (const [applies, more] of relevant) if (applies) names.push(...more);
  return { relevant: names, all: Object.keys(MUTATIONS) };
}

/** The operations that take the most input are drawn this many times per round instead of once. */
const EXTRA_DRAWS: Partial<Record<Operation, number>> = { GetObject: 3, PutObject: 2, CopyObject: 2, UploadPart: 2 };

/**
 * Every operation once (the busiest more often), in an order drawn from `rng` (so that state one leaves behind
 * meets the others).
 */
function shuffledOperations(rng: Rng): Operation[] {
  const ops = Object.keys(OPERATIONS) as Operation[];
  const names = ops.flatMap((op) => Array<Operation>(EXTRA_DRAWS[op] ?? 1).fill(op));
  for (let i = names.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  return names;
}

/**
 * Draws requests: the operations in rounds (in a new order every round), each as its
 * well-formed request with one to three mutations; every `controlEvery`-th request goes unmutated, as a control
 * that the request itself is right.
 */
export function* drawRequests(rng: Rng, f: Fixtures, count: number, controlEvery = 25): Generator<FuzzRequest> {
  let round: Operation[] = [];
  for (let i = 0; i < count; i++) {
    if (round.length === 0) round = shuffledOperations(rng);
    yield drawRequest(rng, f, round.pop()!, i % controlEvery === controlEvery - 1);
  }
}

function drawRequest(rng: Rng, f: Fixtures, op: Operation, control: boolean): FuzzRequest {
  const base = OPERATIONS[op](rng, f);
  const req: FuzzRequest = { op, auth: op === 'PostObject' ? 'none' : 'header', afterSign: [], mutations: [], ...base };
  const { relevant, all } = mutationsFor(op, req);
  const count = control ? 0 : rng.pick([1, 1, 1, 2, 2, 3]);
  for (let k = 0; k < count; k++) {
    // Mostly what the operation itself reads, so that its handler's checks are the ones reached.
    const name = rng.pick(relevant.length > 0 && rng.chance(0.7) ? relevant : all);
    req.mutations.push(name);
    MUTATIONS[name]!(rng, req, f);
  }
  return req;
}

/** The path of a request as sent. */
function pathOf(r: FuzzRequest): string {
  if (r.rawPath !== undefined) return r.rawPath;
  if (r.bucket === undefined) return '/';
  return r.key === undefined ? `/${uriEncode(r.bucket)}` : `/${uriEncode(r.bucket)}/${encodeKey(r.key)}`;
}

/** Signs a request as its `auth` says, then applies its after-signing mutations. */
export function signRequest(r: FuzzRequest, server: { url: string; accessKey: string; secretKey: string }): Signed {
  const path = pathOf(r);
  let signed: Signed;
  if (r.auth === 'header') {
    const headers = signHeaders({
      method: r.method,
      url: server.url,
      path,
      query: r.query,
      headers: r.headers,
      payloadHash: r.payloadHash,
      body: r.body,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
    });
    signed = { path, query: { ...r.query }, headers, body: r.body };
  } else if (r.auth === 'presign') {
    const url = new URL(
      presign({
        method: r.method,
        url: server.url,
        path,
        expires: 300,
        accessKey: server.accessKey,
        secretKey: server.secretKey,
        query: r.query,
      }),
    );
    signed = { path, query: Object.fromEntries(url.searchParams), headers: { ...r.headers }, body: r.body };
  } else {
    signed = { path, query: { ...r.query }, headers: { ...r.headers }, body: r.body };
  }
  for (const m of r.afterSign) m(signed);
  return signed;
}
