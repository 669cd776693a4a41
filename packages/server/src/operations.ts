/**
 * The AWS operations Coffer serves, in one table: each operation's scope says what its request names (nothing, a
 * bucket, an object), and from it come the types of the routing result, so that `bucket` and `key` are present
 * exactly where the operation has them. `HANDLERS` in app.ts is typed over the same table: an operation without a
 * handler does not compile.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html
 */

/**
 * What a request to an operation names: the service (no bucket), a bucket, an object (bucket and key), or either
 * of the last two (a CORS preflight, sent for the bucket or any object in it).
 */
export type Scope = 'service' | 'bucket' | 'object' | 'bucket-or-object';

/** Operation name → scope. */
export const OPERATIONS = Object.freeze({
  ListBuckets: 'service',
  CreateBucket: 'bucket',
  HeadBucket: 'bucket',
  DeleteBucket: 'bucket',
  GetBucketLocation: 'bucket',
  GetBucketVersioning: 'bucket',
  PutBucketVersioning: 'bucket',
  GetBucketEncryption: 'bucket',
  PutBucketEncryption: 'bucket',
  DeleteBucketEncryption: 'bucket',
  GetBucketCors: 'bucket',
  PutBucketCors: 'bucket',
  DeleteBucketCors: 'bucket',
  PreflightRequest: 'bucket-or-object',
  GetBucketAcl: 'bucket',
  PutBucketAcl: 'bucket',
  GetObjectAcl: 'object',
  PutObjectAcl: 'object',
  GetBucketDefault: 'bucket',
  GetObjectAttributes: 'object',
  GetBucketLifecycleConfiguration: 'bucket',
  PutBucketLifecycleConfiguration: 'bucket',
  DeleteBucketLifecycle: 'bucket',
  GetBucketTagging: 'bucket',
  PutBucketTagging: 'bucket',
  DeleteBucketTagging: 'bucket',
  GetObjectTagging: 'object',
  PutObjectTagging: 'object',
  DeleteObjectTagging: 'object',
  GetObjectLockConfiguration: 'bucket',
  PutObjectLockConfiguration: 'bucket',
  GetObjectRetention: 'object',
  PutObjectRetention: 'object',
  GetObjectLegalHold: 'object',
  PutObjectLegalHold: 'object',
  ListObjects: 'bucket',
  ListObjectsV2: 'bucket',
  ListObjectVersions: 'bucket',
  DeleteObjects: 'bucket',
  PutObject: 'object',
  PostObject: 'bucket',
  CopyObject: 'object',
  GetObject: 'object',
  HeadObject: 'object',
  DeleteObject: 'object',
  CreateMultipartUpload: 'object',
  UploadPart: 'object',
  UploadPartCopy: 'object',
  CompleteMultipartUpload: 'object',
  AbortMultipartUpload: 'object',
  ListParts: 'object',
  ListMultipartUploads: 'bucket',
} as const satisfies Record<string, Scope>);

/** AWS operation names Coffer dispatches to. */
export type Operation = keyof typeof OPERATIONS;

/** The operations of one scope. */
export type OperationIn<S extends Scope> = {
  [O in Operation]: (typeof OPERATIONS)[O] extends S ? O : never;
}[Operation];

/** What a request of each scope names, besides its operation and query. */
interface Targets {
  service: object;
  bucket: { bucket: string };
  object: { bucket: string; key: string };
  'bucket-or-object': { bucket: string; key?: string };
}

/** The routing result of one operation: its name, the decoded query, and the bucket and key its scope has. */
export type EndpointOf<O extends Operation> = { op: O; query: Map<string, string> } & Targets[(typeof OPERATIONS)[O]];

/** The result of routing: one member per operation, discriminated by `op`. */
export type Endpoint = { [O in Operation]: EndpointOf<O> }[Operation];

/** A request to an operation on a bucket (what bucket handlers take). */
export type BucketEndpoint = EndpointOf<OperationIn<'bucket'>>;

/** A request to an operation on an object (what object handlers take). */
export type ObjectEndpoint = EndpointOf<OperationIn<'object'>>;
