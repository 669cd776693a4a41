/**
 * Routing as a pure function: (method, raw path, raw query, headers) → the AWS operation it names.
 * Path style (`/{bucket}/{key}`), and virtual-hosted style (`Host: {bucket}.{domain}`, path `/{key}`) for the
 * domains the server is told it serves. The raw path is decoded here, once, so that keys with encoded slashes,
 * `+`, `%`, spaces and unicode arrive exactly as the client meant them.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
 */
import { S3Error } from './errors.ts';
import type { Endpoint, EndpointOf, OperationIn } from './operations.ts';

/** Bucket sub-resources Coffer does not implement: answered with `NotImplemented`, never misrouted to a listing. */
/** GET of these on a bucket: the answer of a bucket without that configuration (handlers/bucket-defaults.ts). */
export const BUCKET_DEFAULT_SUBRESOURCES = [
  'website',
  'replication',
  'logging',
  'notification',
  'requestPayment',
  'accelerate',
] as const;

/** One of {@link BUCKET_DEFAULT_SUBRESOURCES}. */
export type BucketDefaultSubresource = (typeof BUCKET_DEFAULT_SUBRESOURCES)[number];

const UNSUPPORTED_SUBRESOURCES = [
  'website',
  'logging',
  'notification',
  'replication',
  'requestPayment',
  'accelerate',
  'analytics',
  'inventory',
  'metrics',
  'intelligent-tiering',
  'torrent',
  'restore',
  'select',
];

/** Decodes a percent-encoded URI component; S3 answers `InvalidURI` to one that does not decode. */
function decode(s: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
  } catch {
    throw new S3Error('InvalidURI');
  }
}

/** Parses a raw query string (`a=1&b&c=x%20y`) into a map; a parameter without `=` has the value ''. */
export function parseQuery(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!raw) return out;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq), true);
    if (!out.has(name)) out.set(name, eq < 0 ? '' : decode(part.slice(eq + 1), true));
  }
  return out;
}

/** Splits a raw path into bucket and key, decoding each once. `/b` and `/b/` are the bucket itself. */
export function splitPath(rawPath: string): { bucket?: string; key?: string } {
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI');
  const rest = rawPath.slice(1);
  if (rest === '') return {};
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: decode(rest, false) };
  const bucket = decode(rest.slice(0, slash), false);
  const key = rest.slice(slash + 1);
  return key === '' ? { bucket } : { bucket, key: decode(key, false) };
}

/**
 * The bucket a virtual-hosted-style request names: `Host: {bucket}.{domain}[:port]` for one of `domains`
 * (compared without case, as host names are); undefined for any other host, including a domain itself.
 */
export function hostBucket(host: string | undefined, domains: readonly string[]): string | undefined {
  if (!host || domains.length === 0) return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  for (const domain of domains) {
    const d = domain.toLowerCase();
    if (name.length > d.length + 1 && name.endsWith(d) && name[name.length - d.length - 1] === '.') {
      return name.slice(0, name.length - d.length - 1);
    }
  }
  return undefined;
}

/** Bucket and key of a request: from the Host (virtual-hosted style, the whole path is the key) or the path. */
function target(
  rawPath: string,
  headers: Record<string, string | string[] | undefined>,
  domains: readonly string[],
): { bucket?: string; key?: string } {
  const host = headers['host'];
  const bucket = hostBucket(typeof host === 'string' ? host : undefined, domains);
  if (bucket === undefined) return splitPath(rawPath);
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI');
  return rawPath === '/' ? { bucket } : { bucket, key: decode(rawPath.slice(1), false) };
}

function notImplemented(): never {
  throw new S3Error('NotImplemented', {
    message: 'A header you provided implies functionality that is not implemented',
  });
}

function methodNotAllowed(method: string, resourceType: string): never {
  throw new S3Error('MethodNotAllowed', { extra: { Method: method, ResourceType: resourceType } });
}

/** A `multipart/form-data` body (with its parameters): what a POST to a bucket makes a browser upload. */
export function isFormBody(headers: Record<string, string | string[] | undefined>): boolean {
  return /^multipart\/form-data\s*;/i.test(String(headers['content-type'] ?? ''));
}

/**
 * Resolves a request to its AWS operation. Throws S3Error for a path that does not decode (`InvalidURI`), a
 * sub-resource Coffer does not implement (`NotImplemented`) or a method the resource does not take (`MethodNotAllowed`).
 * `domains`: the names under which buckets are addressed as host names (virtual-hosted style); none by default.
 */
export function route(
  method: string,
  rawPath: string,
  rawQuery: string,
  headers: Record<string, string | string[] | undefined>,
  domains: readonly string[] = [],
): Endpoint {
  const query = parseQuery(rawQuery);
  const { bucket, key } = target(rawPath, headers, domains);
  const has = (name: string) => query.has(name);
  const m = method.toUpperCase();

  if (bucket === undefined) {
    if (m === 'GET') return { op: 'ListBuckets', query };
    methodNotAllowed(m, 'SERVICE');
  }
  // A browser's CORS preflight, for the bucket or any object in it.
  if (m === 'OPTIONS') return { op: 'PreflightRequest', bucket, key, query };
  // The configurations Coffer has no feature for read back as on a bucket that never had one (bucket-defaults.ts).
  if (m === 'GET' && key === undefined && BUCKET_DEFAULT_SUBRESOURCES.some(has))
    return { op: 'GetBucketDefault', bucket, query };
  if (UNSUPPORTED_SUBRESOURCES.some(has)) notImplemented();
  // These sub-resources are read and written, never deleted: a DELETE must not fall through to the bucket or object.
  if (['acl', 'object-lock', 'retention', 'legal-hold'].some(has) && m !== 'GET' && m !== 'PUT')
    methodNotAllowed(m, key === undefined ? 'BUCKET' : 'OBJECT');

  if (key === undefined) {
    const ep = <O extends OperationIn<'bucket'>>(op: O): EndpointOf<O> => ({ op, bucket, query });
    switch (m) {
      case 'GET':
        if (has('acl')) return ep('GetBucketAcl');
        if (has('ownershipControls')) return ep('GetBucketOwnershipControls');
        if (has('publicAccessBlock')) return ep('GetPublicAccessBlock');
        if (has('policyStatus')) return ep('GetBucketPolicyStatus');
        if (has('policy')) return ep('GetBucketPolicy');
        if (has('lifecycle')) return ep('GetBucketLifecycleConfiguration');
        if (has('tagging')) return ep('GetBucketTagging');
        if (has('location')) return ep('GetBucketLocation');
        if (has('versioning')) return ep('GetBucketVersioning');
        if (has('encryption')) return ep('GetBucketEncryption');
        if (has('cors')) return ep('GetBucketCors');
        if (has('object-lock')) return ep('GetObjectLockConfiguration');
        if (has('versions')) return ep('ListObjectVersions');
        if (has('uploads')) return ep('ListMultipartUploads');
        return ep(query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects');
      case 'HEAD':
        return ep('HeadBucket');
      case 'PUT':
        if (has('acl')) return ep('PutBucketAcl');
        if (has('ownershipControls')) return ep('PutBucketOwnershipControls');
        if (has('publicAccessBlock')) return ep('PutPublicAccessBlock');
        if (has('policyStatus')) methodNotAllowed(m, 'BUCKET');
        if (has('policy')) return ep('PutBucketPolicy');
        if (has('lifecycle')) return ep('PutBucketLifecycleConfiguration');
        if (has('tagging')) return ep('PutBucketTagging');
        if (has('encryption')) return ep('PutBucketEncryption');
        if (has('cors')) return ep('PutBucketCors');
        if (has('object-lock')) return ep('PutObjectLockConfiguration');
        if (has('versioning')) return ep('PutBucketVersioning');
        return ep('CreateBucket');
      case 'DELETE':
        if (has('encryption')) return ep('DeleteBucketEncryption');
        if (has('ownershipControls')) return ep('DeleteBucketOwnershipControls');
        if (has('publicAccessBlock')) return ep('DeletePublicAccessBlock');
        if (has('policyStatus')) methodNotAllowed(m, 'BUCKET');
        if (has('policy')) return ep('DeleteBucketPolicy');
        if (has('cors')) return ep('DeleteBucketCors');
        if (has('tagging')) return ep('DeleteBucketTagging');
        if (has('lifecycle')) return ep('DeleteBucketLifecycle');
        return ep('DeleteBucket');
      case 'POST':
        if (has('delete')) return ep('DeleteObjects');
        if (isFormBody(headers)) return ep('PostObject');
        return notImplemented();
      default:
        methodNotAllowed(m, 'BUCKET');
    }
  }

  const ep = <O extends OperationIn<'object'>>(op: O): EndpointOf<O> => ({ op, bucket, key, query });
  const copySource = headers['x-amz-copy-source'] !== undefined;
  switch (m) {
    case 'GET':
      if (has('acl')) return ep('GetObjectAcl');
      if (has('tagging')) return ep('GetObjectTagging');
      if (has('attributes')) return ep('GetObjectAttributes');
      if (has('retention')) return ep('GetObjectRetention');
      if (has('legal-hold')) return ep('GetObjectLegalHold');
      return ep(has('uploadId') ? 'ListParts' : 'GetObject');
    case 'HEAD':
      return ep('HeadObject');
    case 'PUT':
      if (has('acl')) return ep('PutObjectAcl');
      if (has('tagging')) return ep('PutObjectTagging');
      if (has('retention')) return ep('PutObjectRetention');
      if (has('legal-hold')) return ep('PutObjectLegalHold');
      if (has('uploadId') && has('partNumber')) return ep(copySource ? 'UploadPartCopy' : 'UploadPart');
      return ep(copySource ? 'CopyObject' : 'PutObject');
    case 'DELETE':
      if (has('tagging')) return ep('DeleteObjectTagging');
      return ep(has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject');
    case 'POST':
      if (has('uploads')) return ep('CreateMultipartUpload');
      if (has('uploadId')) return ep('CompleteMultipartUpload');
      return notImplemented();
    default:
      methodNotAllowed(m, 'OBJECT');
  }
}
