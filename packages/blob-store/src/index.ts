export { BlobStore, type Transaction } from './store.ts';
export type {
  BucketPatch,
  CreateBucketOptions,
  DeleteBucketOptions,
  DeleteObjectOptions,
  ObjectStore,
} from './contract.ts';
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
export type { CollectOptions, GarbageSweep, GcOptions, GcProgress, GcReport } from './garbage.ts';
export { MIGRATION_EXCLUDE, MIGRATION_PROGRESS_KEY } from './schema.ts';
export { OBJECT_STREAM_INFO } from './read.ts';
export { NULL_VERSION, VERSION_ID, isVersionId, newVersionId, versionIdOf } from './versions.ts';
export type {
  AclGrant,
  AclGrantee,
  AclPermission,
  BeforeCommitResult,
  BodySummary,
  BucketCorsRule,
  BucketLifecycleRule,
  BucketEncryption,
  BucketObjectLock,
  BucketRecord,
  BucketSettings,
  CopyOptions,
  DeleteMarkerRecord,
  DeleteOutcome,
  ListQuery,
  ListResult,
  ObjectEncryption,
  ObjectLock,
  ObjectMetadata,
  ObjectOwnership,
  ObjectRecord,
  OpenOptions,
  PublicAccessBlock,
  PutOptions,
  RetentionMode,
  RewrapOptions,
  RewrapResult,
  ScrubFailure,
  ScrubOptions,
  ScrubResult,
  Segment,
  SegmentWrite,
  SweepResult,
  VersionListQuery,
  VersionListResult,
  VersionRecord,
  VersioningState,
  WriteEncryption,
  WrittenSegment,
} from './types.ts';
