/** @coffer/multipart: Amazon S3's multipart rules (part numbers, completion checks, multipart ETags). */
export { MULTIPART_LIMITS, multipartEtag, parsePartNumber, resolveCompletion, type RequestedPart, type StoredPart } from './rules.ts';
export { MultipartError, type MultipartErrorCode } from './errors.ts';
