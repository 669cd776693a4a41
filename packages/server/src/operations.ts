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

/**
 * Operation name → its scope and the IAM action S3 authorizes it as (the name bucket and user policies use, and
 * the one authz.ts maps to ACL permissions). Copies authorize their source as `s3:GetObject` besides.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */
export const OPERATIONS = Object.freeze({
  ListBuckets: { scope: 'service', action: 's3:ListAllMyBuckets' },
  CreateBucket: { scope: 'bucket', action: 's3:CreateBucket' },
  HeadBucket: { scope: 'bucket', action: 's3:ListBucket' },
  DeleteBucket: { scope: 'bucket', action: 's3:DeleteBucket' },
  GetBucketLocation: { scope: 'bucket', action: 's3:GetBucketLocation' },
  GetBucketVersioning: { scope: 'bucket', action: 's3:GetBucketVersioning' },
  PutBucketVersioning: { scope: 'bucket', action: 's3:PutBucketVersioning' },
  GetBucketEncryption: { scope: 'bucket', action: 's3:GetEncryptionConfiguration' },
  PutBucketEncryption: { scope: 'bucket', action: 's3:PutEncryptionConfiguration' },
  DeleteBucketEncryption: { scope: 'bucket', action: 's3:PutEncryptionConfiguration' },
  GetBucketCors: { scope: 'bucket', action: 's3:GetBucketCORS' },
  PutBucketCors: { scope: 'bucket', action: 's3:PutBucketCORS' },
  DeleteBucketCors: { scope: 'bucket', action: 's3:PutBucketCORS' },
  // A CORS preflight carries no credentials and asks for nothing: the bucket's CORS rules answer it.
  PreflightRequest: { scope: 'bucket-or-object', action: undefined },
  GetBucketAcl: { scope: 'bucket', action: 's3:GetBucketAcl' },
  PutBucketAcl: { scope: 'bucket', action: 's3:PutBucketAcl' },
  GetObjectAcl: { scope: 'object', action: 's3:GetObjectAcl' },
  PutObjectAcl: { scope: 'object', action: 's3:PutObjectAcl' },
  GetBucketOwnershipControls: { scope: 'bucket', action: 's3:GetBucketOwnershipControls' },
  PutBucketOwnershipControls: { scope: 'bucket', action: 's3:PutBucketOwnershipControls' },
  DeleteBucketOwnershipControls: { scope: 'bucket', action: 's3:PutBucketOwnershipControls' },
  GetPublicAccessBlock: { scope: 'bucket', action: 's3:GetBucketPublicAccessBlock' },
  PutPublicAccessBlock: { scope: 'bucket', action: 's3:PutBucketPublicAccessBlock' },
  DeletePublicAccessBlock: { scope: 'bucket', action: 's3:PutBucketPublicAccessBlock' },
  GetBucketPolicyStatus: { scope: 'bucket', action: 's3:GetBucketPolicyStatus' },
  GetBucketPolicy: { scope: 'bucket', action: 's3:GetBucketPolicy' },
  PutBucketPolicy: { scope: 'bucket', action: 's3:PutBucketPolicy' },
  DeleteBucketPolicy: { scope: 'bucket', action: 's3:DeleteBucketPolicy' },
  // The action is the sub-resource's: see actionOf.
  GetBucketDefault: { scope: 'bucket', action: 's3:GetBucketWebsite' },
  GetObjectAttributes: { scope: 'object', action: 's3:GetObjectAttributes' },
  GetBucketLifecycleConfiguration: { scope: 'bucket', action: 's3:GetLifecycleConfiguration' },
  PutBucketLifecycleConfiguration: { scope: 'bucket', action: 's3:PutLifecycleConfiguration' },
  DeleteBucketLifecycle: { scope: 'bucket', action: 's3:PutLifecycleConfiguration' },
  GetBucketTagging: { scope: 'bucket', action: 's3:GetBucketTagging' },
  PutBucketTagging: { scope: 'bucket', action: 's3:PutBucketTagging' },
  DeleteBucketTagging: { scope: 'bucket', action: 's3:PutBucketTagging' },
  GetObjectTagging: { scope: 'object', action: 's3:GetObjectTagging' },
  PutObjectTagging: { scope: 'object', action: 's3:PutObjectTagging' },
  DeleteObjectTagging: { scope: 'object', action: 's3:DeleteObjectTagging' },
  GetObjectLockConfiguration: { scope: 'bucket', action: 's3:GetBucketObjectLockConfiguration' },
  PutObjectLockConfiguration: { scope: 'bucket', action: 's3:PutBucketObjectLockConfiguration' },
  GetObjectRetention: { scope: 'object', action: 's3:GetObjectRetention' },
  PutObjectRetention: { scope: 'object', action: 's3:PutObjectRetention' },
  GetObjectLegalHold: { scope: 'object', action: 's3:GetObjectLegalHold' },
  PutObjectLegalHold: { scope: 'object', action: 's3:PutObjectLegalHold' },
  ListObjects: { scope: 'bucket', action: 's3:ListBucket' },
  ListObjectsV2: { scope: 'bucket', action: 's3:ListBucket' },
  ListObjectVersions: { scope: 'bucket', action: 's3:ListBucketVersions' },
  DeleteObjects: { scope: 'bucket', action: 's3:DeleteObject' },
  PutObject: { scope: 'object', action: 's3:PutObject' },
  PostObject: { scope: 'bucket', action: 's3:PutObject' },
  CopyObject: { scope: 'object', action: 's3:PutObject' },
  GetObject: { scope: 'object', action: 's3:GetObject' },
  HeadObject: { scope: 'object', action: 's3:GetObject' },
  DeleteObject: { scope: 'object', action: 's3:DeleteObject' },
  CreateMultipartUpload: { scope: 'object', action: 's3:PutObject' },
  UploadPart: { scope: 'object', action: 's3:PutObject' },
  UploadPartCopy: { scope: 'object', action: 's3:PutObject' },
  CompleteMultipartUpload: { scope: 'object', action: 's3:PutObject' },
  AbortMultipartUpload: { scope: 'object', action: 's3:AbortMultipartUpload' },
  ListParts: { scope: 'object', action: 's3:ListMultipartUploadParts' },
  ListMultipartUploads: { scope: 'bucket', action: 's3:ListBucketMultipartUploads' },
} as const satisfies Record<string, { scope: Scope; action: string | undefined }>);

/** AWS operation names Coffer dispatches to. */
export type Operation = keyof typeof OPERATIONS;

/** The operations of one scope. */
export type OperationIn<S extends Scope> = {
  [O in Operation]: (typeof OPERATIONS)[O]['scope'] extends S ? O : never;
}[Operation];

/** What a request of each scope names, besides its operation and query. */
interface Targets {
  service: object;
  bucket: { bucket: string };
  object: { bucket: string; key: string };
  'bucket-or-object': { bucket: string; key?: string };
}

/** The routing result of one operation: its name, the decoded query, and the bucket and key its scope has. */
export type EndpointOf<O extends Operation> = {
  op: O;
  query: Map<string, string>;
} & Targets[(typeof OPERATIONS)[O]['scope']];

/** The result of routing: one member per operation, discriminated by `op`. */
export type Endpoint = { [O in Operation]: EndpointOf<O> }[Operation];

/** A request to an operation on a bucket (what bucket handlers take). */
export type BucketEndpoint = EndpointOf<OperationIn<'bucket'>>;

/** A request to an operation on an object (what object handlers take). */
export type ObjectEndpoint = EndpointOf<OperationIn<'object'>>;

/** An S3 action name, as IAM and bucket policies write it (`s3:GetObject`). */
export type S3Action = NonNullable<(typeof OPERATIONS)[Operation]['action']> | (string & {});

/** The actions of the bucket configurations GetBucketDefault reads back, by sub-resource. */
const DEFAULT_SUBRESOURCE_ACTIONS: Readonly<Record<string, S3Action>> = Object.freeze({
  website: 's3:GetBucketWebsite',
  replication: 's3:GetReplicationConfiguration',
  logging: 's3:GetBucketLogging',
  notification: 's3:GetBucketNotification',
  requestPayment: 's3:GetBucketRequestPayment',
  accelerate: 's3:GetAccelerateConfiguration',
});

/**
 * The action a request is authorized as: its operation's, or for GetBucketDefault its sub-resource's; undefined
 * for a CORS preflight, which S3 does not authorize.
 */
export function actionOf(ep: Endpoint): S3Action | undefined {
  if (ep.op === 'GetBucketDefault') {
    for (const [name, action] of Object.entries(DEFAULT_SUBRESOURCE_ACTIONS)) if (ep.query.has(name)) return action;
  }
  return OPERATIONS[ep.op].action;
}
