import type { Scheme, SseCustomerKey, WrappedKey } from '@coffer/crypto';

/** A bucket as stored in LevelDB (sublevel `b`, key = bucket name). */
export interface BucketRecord {
  /** Record version. */
  v: 1;
  /** Bucket name (validated by the server). */
  name: string;
  /** User id of the owner. */
  owner: string;
  /** Creation time, ISO 8601. */
  created: string;
  /** LocationConstraint given at creation (`us-east-1` when none). */
  location: string;
  /** Bucket default encryption (PutBucketEncryption); absent = the implicit AES256 default, SSE-C allowed. */
  encryption?: BucketEncryption;
  /** CORS rules (PutBucketCors), in order; absent = no CORS configuration. */
  cors?: BucketCorsRule[];
  /** Bucket tags (PutBucketTagging); absent = none. */
  tags?: Record<string, string>;
  /** Lifecycle rules (PutBucketLifecycleConfiguration), checked by the server; absent = none. */
  lifecycle?: BucketLifecycleRule[];
  /** Versioning (PutBucketVersioning); absent = never set (unversioned: every write is the `null` version). */
  versioning?: VersioningState;
  /** Object Lock (CreateBucket's `x-amz-bucket-object-lock-enabled`, PutObjectLockConfiguration); absent = off. */
  objectLock?: BucketObjectLock;
  /**
   * S3 Object Ownership (PutBucketOwnershipControls, `x-amz-object-ownership`). Absent = `BucketOwnerEnforced`
   * (buckets from before it existed); `none` = the controls were deleted, which S3 treats as `ObjectWriter`.
   */
  ownership?: ObjectOwnership | 'none';
  /** Block Public Access (PutPublicAccessBlock); absent = no configuration (nothing blocked). */
  publicAccessBlock?: PublicAccessBlock;
  /** The bucket's ACL (PutBucketAcl, `x-amz-acl` on CreateBucket); absent = `private` (the owner's FULL_CONTROL). */
  acl?: AclGrant[];
  /** The bucket policy as sent (PutBucketPolicy), checked by the server; absent = none. */
  policy?: string;
}

/** The access settings of a bucket, which CreateBucket may set and updateBucket change. */
export type BucketSettings = Partial<Pick<BucketRecord, 'ownership' | 'publicAccessBlock' | 'acl' | 'policy'>>;

/** S3 Object Ownership: who owns new objects, and whether ACLs count. */
export type ObjectOwnership = 'BucketOwnerEnforced' | 'BucketOwnerPreferred' | 'ObjectWriter';

/** A bucket's Block Public Access settings, as S3's PublicAccessBlockConfiguration names them. */
export interface PublicAccessBlock {
  blockPublicAcls: boolean;
  ignorePublicAcls: boolean;
  blockPublicPolicy: boolean;
  restrictPublicBuckets: boolean;
}

/** An ACL permission, as S3 names it. */
export type AclPermission = 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL';

/** Who an ACL grant is for: a user by canonical id, or a predefined group by URI. */
export type AclGrantee = { type: 'CanonicalUser'; id: string } | { type: 'Group'; uri: string };

/** One grant of an ACL. */
export interface AclGrant {
  grantee: AclGrantee;
  permission: AclPermission;
}

/** A retention mode: GOVERNANCE can be lifted by a caller allowed to bypass it, COMPLIANCE by nobody. */
export type RetentionMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A bucket's Object Lock: once on, never off; with a default retention for new objects or without. */
export interface BucketObjectLock {
  enabled: true;
  /** Retention given to each new object that names none itself, for exactly one of `days` or `years`. */
  defaultRetention?: { mode: RetentionMode; days?: number; years?: number };
}

/** A bucket's versioning once set: a bucket never returns to unversioned. */
export type VersioningState = 'Enabled' | 'Suspended';

/** One lifecycle rule of a bucket: which objects (prefix, tags, size bounds) and what happens to them, when. */
export interface BucketLifecycleRule {
  id: string;
  enabled: boolean;
  prefix?: string;
  /** The rule was written in the older form, its `<Prefix>` directly in the rule: it reads back that way. */
  legacyPrefix?: true;
  tags?: Record<string, string>;
  sizeGreaterThan?: number;
  sizeLessThan?: number;
  /** Expire objects this many days after their creation (rounded up to the next midnight UTC). */
  expirationDays?: number;
  /** Expire objects on this date (ISO 8601, midnight UTC). */
  expirationDate?: string;
  /** Abort multipart uploads this many days after their initiation. */
  abortIncompleteDays?: number;
  /** Remove a noncurrent version this many days after it became noncurrent (versioned buckets). */
  noncurrentDays?: number;
  /** With `noncurrentDays`: keep this many of the newest noncurrent versions of a key whatever their age. */
  newerNoncurrentVersions?: number;
  /** Remove a delete marker that is the only version left of its key. */
  expiredObjectDeleteMarker?: true;
}

/** One CORS rule of a bucket, as S3's PutBucketCors defines it (checked by the server; the same shape as @coffer/xml's CorsRule, which this package does not depend on). */
export interface BucketCorsRule {
  id?: string;
  allowedMethods: string[];
  allowedOrigins: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

/** A bucket's encryption configuration (PutBucketEncryption). */
export interface BucketEncryption {
  sseAlgorithm: 'AES256';
  /**
   * `BlockedEncryptionTypes` as configured: `['SSE-C']` refuses writes that ask for SSE-C, `['NONE']` (or absent)
   * allows them.
   */
  blockedEncryptionTypes?: ('SSE-C' | 'NONE')[];
}

/** The HTTP metadata of an object that S3 stores and returns. */
export interface ObjectMetadata {
  /** Content-Type. */
  contentType?: string;
  /** Content-Encoding. */
  contentEncoding?: string;
  /** Content-Disposition. */
  contentDisposition?: string;
  /** Content-Language. */
  contentLanguage?: string;
  /** Cache-Control. */
  cacheControl?: string;
  /** Expires (the header value as sent). */
  expires?: string;
  /** User metadata: lowercased name without `x-amz-meta-` → value. */
  userMeta: Record<string, string>;
  /** Object tags (x-amz-tagging, PutObjectTagging): key → value, in the order given; absent = none. */
  tags?: Record<string, string>;
  /** Object Lock retention and legal hold (checked by the server); absent = not locked. */
  lock?: ObjectLock;
  /** The object's ACL (PutObjectAcl, `x-amz-acl` on writes); absent = `private` (the owner's FULL_CONTROL). */
  acl?: AclGrant[];
}

/** The Object Lock state of one object: a retention (mode and date), a legal hold, or both. */
export interface ObjectLock {
  /** Retention mode; with `retainUntil`. */
  mode?: RetentionMode;
  /** End of the retention, ISO 8601; with `mode`. */
  retainUntil?: string;
  /**
   * Legal hold: while true the object cannot be deleted, whatever its retention; false once taken off (S3 then
   * reads it back as OFF); absent = never set.
   */
  legalHold?: boolean;
}

/**
 * One encrypted stream in a blob file. A single-part object has one segment; a multipart object has one per part,
 * in order. The plaintext of the object is the concatenation of its segments' plaintexts.
 */
export interface Segment {
  /** Blob file id (32 hex); the file is `DATA/blobs/<id[0..2]>/<id[2..4]>/<id>`. */
  blobId: string;
  /** Plaintext bytes in this segment. */
  plainSize: number;
  /** Bytes of the blob file (`encryptedSize(plainSize, chunkSize)`). */
  encSize: number;
  /** Stream-key salt, base64 (16 random bytes). */
  salt: string;
  /** Plaintext chunk size of the stream. */
  chunkSize: number;
  /** HKDF info label of the stream key: `S3E1/obj` (default when absent) or `S3E1/part/<n>` for multipart parts. */
  info?: string;
  /**
   * The ciphertext (the same bytes a blob file would hold) is in LevelDB, sublevel `d`, key = `blobId`, written by
   * the commit that first referenced it. Absent (all records before inline objects existed) = a blob file.
   */
  inline?: true;
}

/** The encryption part of an {@link ObjectRecord}. */
export interface ObjectEncryption {
  /** SSE-S3 (master key ring) or SSE-C (customer key). */
  scheme: Scheme;
  /** The data key, wrapped under a master key (`kekId` = key id) or the customer key (`kekId` = `ssec`). */
  wrap: WrappedKey;
  /** SSE-C only: MD5 of the customer key, base64 (sent in the clear by clients; echoed on responses). */
  keyMD5?: string;
  /** Chunk size bound into the wrap's AAD (the chunk size the object was first written with). */
  chunkSize: number;
  /**
   * SSE-C only: the plaintext MD5, AES-256-GCM sealed under a key derived from the data key
   * (base64 of nonce ‖ ciphertext ‖ tag). The SSE-C ETag must not reveal the MD5, but a copy to SSE-S3 needs it.
   */
  md5Sealed?: string;
}

/** An object as stored in LevelDB (sublevel `o`, key = bucket + `\x00` + key). */
export interface ObjectRecord extends ObjectMetadata {
  /** Record version. */
  v: 1;
  /** Bucket name. */
  bucket: string;
  /** Object key. */
  key: string;
  /** Internal object id (UUID), bound into the data-key wrap so a record cannot be replayed onto another object. */
  id: string;
  /** Version id (32 URL-safe characters, newest sorting first); absent = the `null` version. */
  versionId?: string;
  /** Never set on an object; makes {@link VersionRecord} a discriminated union. */
  deleteMarker?: undefined;
  /** Plaintext size in bytes. */
  size: number;
  /** ETag without quotes: MD5 hex (SSE-S3), `ssecEtag` (SSE-C), or a multipart ETag `…-N`. */
  etag: string;
  /** Last-Modified, ISO 8601. */
  lastModified: string;
  /** User id of the writer. */
  owner: string;
  /** A checksum the caller verified and asked to keep (from `beforeCommit`). */
  checksum?: { algorithm: string; value: string };
  /** How the object is encrypted. */
  enc: ObjectEncryption;
  /** The encrypted streams that make up the plaintext, in order. */
  segments: Segment[];
  /** Multipart objects: the parts as completed. */
  parts?: { partNumber: number; size: number; etag: string }[];
}

/** A delete marker: the version a DELETE without a version id adds to a versioned bucket. */
export interface DeleteMarkerRecord {
  /** Record version. */
  v: 1;
  deleteMarker: true;
  bucket: string;
  key: string;
  /** Version id; absent = the `null` version (a marker added while versioning is suspended). */
  versionId?: string;
  /** When the marker was added, ISO 8601. */
  lastModified: string;
  /** User id of the deleter. */
  owner: string;
}

/** One version of a key: an object, or a delete marker. */
export type VersionRecord = ObjectRecord | DeleteMarkerRecord;

/** What a delete did: which version it added (a marker) or removed. */
export interface DeleteOutcome {
  /** The version added or removed; absent = the `null` version. */
  versionId?: string;
  /** The version added or removed is a delete marker. */
  deleteMarker: boolean;
}

/** Query of {@link BlobStore.listObjectVersions}. */
export interface VersionListQuery {
  /** Only keys that start with this. */
  prefix?: string;
  /** Roll keys that contain this after the prefix up into common prefixes. */
  delimiter?: string;
  /** Start after this key (all its versions), or, with `versionIdMarker`, after that version of it. */
  keyMarker?: string;
  /** With `keyMarker`: start after this version of that key (`null` for the null version). */
  versionIdMarker?: string;
  /** At most this many entries (versions, delete markers, common prefixes). */
  maxKeys: number;
}

/** Result of {@link BlobStore.listObjectVersions}. */
export interface VersionListResult {
  /** Versions and delete markers in S3's order: by key (UTF-8 bytes), then newest first. */
  versions: { rec: VersionRecord; isLatest: boolean }[];
  /** Common prefixes in order (each counts as one entry toward `maxKeys`). */
  commonPrefixes: string[];
  /** More entries follow. */
  isTruncated: boolean;
  /** When truncated: the key (or common prefix) to pass as `keyMarker` for the next page. */
  nextKeyMarker?: string;
  /** When truncated after a version: its id (`null` for the null version), to pass as `versionIdMarker`. */
  nextVersionIdMarker?: string;
}

/** How to encrypt a new object (or a copy). */
export type WriteEncryption = { scheme: 'SSE-S3' } | { scheme: 'SSE-C'; customer: SseCustomerKey };

/** What `beforeCommit` receives. */
export interface BodySummary {
  /** Plaintext bytes received. */
  size: number;
  /** MD5 of the plaintext (16 bytes). */
  md5: Buffer;
}

/** What `beforeCommit` may return. */
export interface BeforeCommitResult {
  /** A verified checksum to store in the record. */
  checksum?: { algorithm: string; value: string };
}

/** Options of {@link BlobStore.putObject}. */
export interface PutOptions {
  /** User id of the writer. */
  owner: string;
  /** HTTP and user metadata to store. */
  metadata: ObjectMetadata;
  /** SSE-S3 or SSE-C (with the customer key). */
  encryption: WriteEncryption;
  /** `If-None-Match: *`: fail with `BLOB_PRECONDITION_FAILED` at commit time if the key exists. */
  ifNoneMatch?: boolean;
  /** `If-Match: etag` (quotes optional, `*` = any): `BLOB_PRECONDITION_FAILED` unless the current ETag equals it; `BLOB_NO_SUCH_KEY` if there is no object. */
  ifMatch?: string;
  /** `BLOB_TOO_LARGE` as soon as the body passes this many bytes. */
  maxSize?: number;
  /**
   * The body's size when known in advance (Content-Length). Only a hint for choosing inline or file storage up
   * front (a body larger than `inlineMax` skips the in-memory attempt); the bytes received are what counts.
   */
  sizeHint?: number;
  /** Called after the body ended and the data is durable, before the commit; throw to abort (Content-MD5, checksums). */
  beforeCommit?: (w: BodySummary) => Promise<BeforeCommitResult | void> | BeforeCommitResult | void;
  /** Aborts the write (`BLOB_ABORTED`); nothing becomes visible. */
  signal?: AbortSignal;
}

/** Options of {@link BlobStore.openObject}. */
export interface OpenOptions {
  /** Inclusive plaintext byte range within `0..size-1`. Absent = the whole object. */
  range?: { start: number; end: number };
  /** The SSE-C key (required for SSE-C objects, refused for SSE-S3 objects). */
  customer?: SseCustomerKey;
  /** Destroys the returned stream (and rejects a pending open) when aborted. */
  signal?: AbortSignal;
}

/** Options of {@link BlobStore.copyObject}. */
export interface CopyOptions {
  /** User id of the writer. */
  owner: string;
  /** Metadata of the destination (the server decides COPY vs REPLACE). */
  metadata: ObjectMetadata;
  /** The source's SSE-C key (required when the source is SSE-C). */
  sourceCustomer?: SseCustomerKey;
  /** Encryption of the destination. */
  encryption: WriteEncryption;
  /** As in {@link PutOptions.ifNoneMatch}, for the destination. */
  ifNoneMatch?: boolean;
  /** As in {@link PutOptions.ifMatch}, for the destination. */
  ifMatch?: string;
  /** Aborts the copy before its commit. */
  signal?: AbortSignal;
}

/** Query of {@link BlobStore.listObjects}. */
export interface ListQuery {
  /** Only keys that start with this. */
  prefix?: string;
  /** Roll keys that contain this after the prefix up into common prefixes. */
  delimiter?: string;
  /** Start after this key or common prefix (exclusive): Marker, StartAfter or a continuation token's content. */
  after?: string;
  /** At most this many entries (objects + common prefixes); 0 gives an empty, untruncated page. */
  maxKeys: number;
}

/** Result of {@link BlobStore.listObjects}. */
export interface ListResult {
  /** Objects in UTF-8 binary key order. */
  objects: ObjectRecord[];
  /** Common prefixes in order (each counts as one entry toward `maxKeys`). */
  commonPrefixes: string[];
  /** More entries follow. */
  isTruncated: boolean;
  /** When truncated: the last key or common prefix returned; pass it as `after` for the next page. */
  nextMarker?: string;
}

/** What `writeSegment` encrypts a stream with: the stream key is HKDF(dek, salt, info). */
export interface SegmentWrite {
  /** The object's (or upload's) data key. */
  dek: Buffer;
  /** 16 random bytes, kept in the segment. */
  salt: Buffer;
  /** HKDF info label (`S3E1/obj`, `S3E1/part/N`), kept in the segment. */
  info: string;
  /** Plaintext chunk size; default the store's `chunkSize`. */
  chunkSize?: number;
  /** `BLOB_TOO_LARGE` once the body exceeds this many bytes. */
  maxSize?: number;
  /** Aborts the write (`BLOB_ABORTED`). */
  signal?: AbortSignal;
}

/** A segment written (a blob file, or inline ciphertext held in memory) but not yet committed. */
export interface WrittenSegment {
  segment: Segment;
  /** Plaintext bytes. */
  plainSize: number;
  /** MD5 of the plaintext. */
  md5: Buffer;
}

/** Result of `sweep`: what it removed. */
export interface SweepResult {
  /** Entries removed from `tmp/`. */
  tmpFiles: number;
  /** Unreferenced blob files removed. */
  blobFiles: number;
}

/** Options of `rewrapKeys`. */
export interface RewrapOptions {
  /** Objects re-wrapped per commit (default 100). */
  batchSize?: number;
  /** Stops the run between objects. */
  signal?: AbortSignal;
  /** Called after every commit and at the end. */
  onProgress?: (p: RewrapResult) => void;
}

/** Result (and progress) of `rewrapKeys`. */
export interface RewrapResult {
  /** Object records read. */
  scanned: number;
  /** Object records whose data key was re-wrapped. */
  rewrapped: number;
}

/** Options of `scrub`. */
export interface ScrubOptions {
  /** Stops the run between objects (and aborts the read in progress). */
  signal?: AbortSignal;
  /** Called after every object. */
  onProgress?: (p: { objects: number; bytes: number }) => void;
}

/** One object `scrub` found wrong. */
export interface ScrubFailure {
  bucket: string;
  key: string;
  /** The version that failed; absent = the null version. */
  versionId?: string;
  /** The error's code (`BLOB_CORRUPT`, `CRYPTO_AUTH_FAILED`, …), or `ERROR`. */
  code: string;
  message: string;
}

/** Result of `scrub`. */
export interface ScrubResult {
  /** Objects checked. */
  objects: number;
  /** Plaintext bytes decrypted and authenticated. */
  bytes: number;
  /** SSE-C objects, whose sizes only could be checked. */
  sizeOnly: number;
  failures: ScrubFailure[];
}
