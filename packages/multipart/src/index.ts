/** @coffer/multipart: Amazon S3's multipart rules and the upload sessions on top of an ObjectStore. */
export {
  MULTIPART_LIMITS,
  checkCompletionChecksums,
  multipartEtag,
  objectChecksum,
  parsePartNumber,
  resolveChecksumType,
  resolveCompletion,
  samePartList,
  type ChecksumType,
  type RequestedPart,
  type StoredPart,
} from './rules.ts';
export { MULTIPART_MESSAGES, MultipartError, noSuchUpload, type MultipartErrorCode } from './errors.ts';
export {
  MULTIPART_DEFAULTS,
  resolveMultipartOptions,
  type MultipartOptions,
  type ResolvedMultipartOptions,
} from './options.ts';
export {
  MULTIPART_NAMESPACES,
  MultipartStore,
  type CompleteOptions,
  type CompletedRecord,
  type CreateUploadOptions,
  type ListUploadsQuery,
  type ListUploadsResult,
  type PartRecord,
  type UploadPartOptions,
  type UploadRecord,
  uploadChecksumType,
} from './uploads.ts';
