export { BlobStore, type Transaction } from './store.ts';
export type { BucketPatch, CreateBucketOptions, DeleteBucketOptions, ObjectStore } from './contract.ts';
export { BlobStoreError, isBlobStoreError, type BlobErrorCode } from './errors.ts';
export {
  DEFAULT_OPTIONS,
  type BatchHook,
  type BlobStoreOptions,
  type CommitPoint,
  type FileOps,
  type FileWriteFn,
} from './options.ts';
export { commonPrefix } from './list.ts';
export { MIGRATION_PROGRESS_KEY } from './schema.ts';
export { OBJECT_STREAM_INFO } from './read.ts';
export type {
  AclGrant,
  AclGrantee,
  AclPermission,
  BeforeCommitResult,
  BodySummary,
  BucketCorsRule,
  BucketLifecycleRule,
  BucketEncryption,
  BucketRecord,
  BucketSettings,
  CopyOptions,
  ListQuery,
  ListResult,
  ObjectEncryption,
  ObjectMetadata,
  ObjectOwnership,
  ObjectRecord,
  OpenOptions,
  PublicAccessBlock,
  PutOptions,
  RewrapOptions,
  RewrapResult,
  ScrubFailure,
  ScrubOptions,
  ScrubResult,
  Segment,
  SegmentWrite,
  SweepResult,
  WriteEncryption,
  WrittenSegment,
} from './types.ts';
