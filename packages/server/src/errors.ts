/**
 * The one table that maps errors to HTTP status and S3 error code, and the S3Error the handlers throw.
 * Messages are AWS's own text (shared/S3-ERRORS.md); trailing periods are significant.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */

import type { BlobErrorCode } from '@coffer/blob-store';
import type { ChunkErrorCode } from '@coffer/chunk-store';
import type { CryptoErrorCode } from '@coffer/crypto';
import type { KvErrorCode } from '@coffer/kv';
import type { MultipartErrorCode } from '@coffer/multipart';
import type { PolicyErrorCode } from '@coffer/policy';
import type { SigV4ErrorCode } from '@coffer/sigv4';
import type { XmlErrorCode } from '@coffer/xml';

/** S3 error codes Coffer answers with, their HTTP status and AWS's default message. */
export const S3_ERRORS = Object.freeze({
  AccessDenied: [403, 'Access Denied'],
  AccessControlListNotSupported: [400, 'The bucket does not allow ACLs'],
  AccessForbidden: [
    403,
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
  ],
  AuthorizationHeaderMalformed: [
    400,
    'The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
  ],
  AuthorizationQueryParametersError: [
    400,
    'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
  ],
  BadRequest: [400, 'Bad Request'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what we received.'],
  BucketAlreadyExists: [
    409,
    'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.',
  ],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed size'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed size'],
  IllegalLocationConstraintException: [
    400,
    'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.',
  ],
  IllegalVersioningConfigurationException: [400, 'The Versioning element must be specified'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidBucketState: [409, 'The request is not valid with the current state of the bucket.'],
  InvalidBucketAclWithBlockPublicAccessError: [
    400,
    'Bucket cannot have public ACLs set with BlockPublicAccess enabled',
  ],
  InvalidChunkSizeError: [400, 'Only the last chunk is allowed to have a size less than 8192 bytes'],
  InvalidBucketAclWithObjectOwnership: [
    400,
    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
  ],
  InvalidDigest: [400, 'The Content-MD5 you specified was invalid.'],
  InvalidEncryptionAlgorithmError: [400, 'The Encryption request you specified is not valid. Supported value: AES256.'],
  InvalidPart: [
    400,
    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  ],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPolicyDocument: [
    400,
    'The content of the form does not meet the conditions specified in the policy document.',
  ],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  InvalidTag: [400, 'The TagValue you have provided is invalid'],
  InvalidURI: [400, "Couldn't parse the specified URI."],
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedACLError: [400, 'The XML you provided was not well-formed or did not validate against our published schema'],
  MalformedPOSTRequest: [400, 'The body of your POST request is not well-formed multipart/form-data.'],
  MalformedTrailerError: [
    400,
    'The request contained trailing data that was not well-formed or did not conform to our published schema.',
  ],
  MalformedPolicy: [400, "Policies must be valid JSON and the first byte must be '{'"],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema'],
  MaxPostPreDataLengthExceededError: [400, 'Your POST request fields preceding the upload file were too large.'],
  MaxMessageLengthExceeded: [400, 'Your request was too big.'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  MissingRequestBodyError: [400, 'Request body is empty.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchCORSConfiguration: [404, 'The CORS configuration does not exist'],
  NoSuchTagSet: [404, 'The TagSet does not exist'],
  NoSuchBucketPolicy: [404, 'The bucket policy does not exist'],
  PolicyTooLarge: [400, 'Policy exceeds the maximum allowed document size.'],
  NoSuchLifecycleConfiguration: [404, 'The lifecycle configuration does not exist'],
  NoSuchWebsiteConfiguration: [404, 'The specified bucket does not have a website configuration'],
  ObjectLockConfigurationNotFoundError: [404, 'Object Lock configuration does not exist for this bucket'],
  NoSuchObjectLockConfiguration: [404, 'The specified object does not have a ObjectLock configuration'],
  ReplicationConfigurationNotFoundError: [404, 'The replication configuration was not found'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NoSuchPublicAccessBlockConfiguration: [404, 'The public access block configuration was not found'],
  OwnershipControlsNotFoundError: [404, 'The bucket ownership controls were not found'],
  NoSuchUpload: [
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  ],
  NotImplemented: [501, 'A header you provided implies functionality that is not implemented'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  SignatureDoesNotMatch: [
    403,
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  ],
  ServiceUnavailable: [503, 'Service is unable to handle request.'],
  UnexpectedContent: [400, 'This request does not support content'],
  UnresolvableGrantByEmailAddress: [400, 'The email address you provided does not match any account on record.'],
  UserKeyMustBeSpecified: [
    400,
    'The bucket POST must contain the specified field name. If it is specified, please check the order of the fields.',
  ],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed."],
  // Coffer's own, after MinIO's XMinioStorageFull (507 Insufficient Storage, RFC 4918 §11.5): the free space of the
  // data directory is below its reserve (`--min-free-space`), or a write found the disk full.
  XCofferStorageFull: [
    507,
    'Storage backend has reached its minimum free space threshold. Please delete a few objects to proceed.',
  ],
} as const satisfies Record<string, readonly [number, string]>);

/** An S3 error code Coffer can answer with. */
export type S3ErrorCode = keyof typeof S3_ERRORS;

/** An error the server answers with an S3 error document. */
export class S3Error extends Error {
  /** S3 error code, e.g. `NoSuchKey`. */
  readonly code: S3ErrorCode;
  /** HTTP status, from {@link S3_ERRORS}. */
  readonly status: number;
  /** Code-specific elements of the error document (`BucketName`, `Key`, …), in order. */
  readonly extra: Record<string, string>;
  /** Response headers the error needs (`Content-Range` on `InvalidRange`). */
  readonly headers: Record<string, string>;

  constructor(
    code: S3ErrorCode,
    opts: {
      message?: string;
      extra?: Record<string, string | number | undefined>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(opts.message ?? S3_ERRORS[code][1], { cause: opts.cause });
    this.name = 'S3Error';
    this.code = code;
    this.status = S3_ERRORS[code][0];
    this.extra = {};
    for (const [k, v] of Object.entries(opts.extra ?? {})) if (v !== undefined) this.extra[k] = String(v);
    this.headers = opts.headers ?? {};
  }
}

/** Every error code a package throws. Adding a code to a package's union makes {@link PACKAGE_ERRORS} fail to compile. */
export type PackageErrorCode =
  | SigV4ErrorCode
  | XmlErrorCode
  | CryptoErrorCode
  | BlobErrorCode
  | ChunkErrorCode
  | MultipartErrorCode
  | KvErrorCode
  | PolicyErrorCode;

/** How one package error code is answered: the S3 error, and whether the package's own message may be shown. */
export interface PackageErrorMapping {
  /** The S3 error code (and so the HTTP status) the client gets. */
  readonly s3: S3ErrorCode;
  /**
   * True when the package wrote AWS's text for that S3 error as its message (sigv4, crypto and multipart do), so the
   * client sees it; false when the message is the package's own (it names internals) and the S3 default is sent.
   */
  readonly showMessage: boolean;
}

/**
 * The one table from package error codes to S3 errors. `satisfies Record<PackageErrorCode, …>` makes it exhaustive:
 * a package that adds a code does not compile until the code has a row here, and a row for a code that no longer
 * exists is an excess property. Codes that mean a fault of the server (corruption, I/O, a closed store) answer
 * InternalError and never show their message or details.
 */
export const PACKAGE_ERRORS = Object.freeze({
  SIGV4_MISSING_AUTH: { s3: 'AccessDenied', showMessage: true },
  SIGV4_UNSUPPORTED_ALGORITHM: { s3: 'InvalidRequest', showMessage: true },
  SIGV4_MALFORMED_AUTH: { s3: 'AuthorizationHeaderMalformed', showMessage: true },
  SIGV4_QUERY_PARAMS: { s3: 'AuthorizationQueryParametersError', showMessage: true },
  SIGV4_EXPIRED: { s3: 'AccessDenied', showMessage: true },
  SIGV4_UNKNOWN_ACCESS_KEY: { s3: 'InvalidAccessKeyId', showMessage: true },
  SIGV4_SIGNATURE_MISMATCH: { s3: 'SignatureDoesNotMatch', showMessage: true },
  SIGV4_TIME_SKEWED: { s3: 'RequestTimeTooSkewed', showMessage: true },
  SIGV4_UNSIGNED_HEADERS: { s3: 'AccessDenied', showMessage: true },
  SIGV4_MISSING_CONTENT_SHA256: { s3: 'InvalidRequest', showMessage: true },
  SIGV4_INVALID_CONTENT_SHA256: { s3: 'InvalidArgument', showMessage: true },
  SIGV4_PAYLOAD_HASH_MISMATCH: { s3: 'XAmzContentSHA256Mismatch', showMessage: true },
  SIGV4_CHUNK_SIGNATURE_MISMATCH: { s3: 'SignatureDoesNotMatch', showMessage: true },
  SIGV4_INCOMPLETE_BODY: { s3: 'IncompleteBody', showMessage: true },
  SIGV4_MALFORMED_CHUNK: { s3: 'InvalidRequest', showMessage: true },
  SIGV4_INVALID_CHUNK_SIZE: { s3: 'InvalidChunkSizeError', showMessage: true },
  SIGV4_MALFORMED_TRAILER: { s3: 'MalformedTrailerError', showMessage: true },
  SIGV4_INVALID_DIGEST: { s3: 'InvalidDigest', showMessage: true },
  SIGV4_BAD_DIGEST: { s3: 'BadDigest', showMessage: true },
  SIGV4_CHECKSUM_MISMATCH: { s3: 'BadDigest', showMessage: true },
  SIGV4_INVALID_CHECKSUM: { s3: 'InvalidRequest', showMessage: true },
  SIGV4_POST_MISSING_FIELD: { s3: 'InvalidArgument', showMessage: true },
  SIGV4_POST_POLICY_INVALID: { s3: 'InvalidPolicyDocument', showMessage: true },
  SIGV4_POST_POLICY_DENIED: { s3: 'AccessDenied', showMessage: true },
  SIGV4_V2_MALFORMED_AUTH: { s3: 'InvalidArgument', showMessage: true },
  SIGV4_V2_QUERY_PARAMS: { s3: 'AccessDenied', showMessage: true },
  XML_MALFORMED: { s3: 'MalformedXML', showMessage: false },
  XML_TOO_LARGE: { s3: 'MaxMessageLengthExceeded', showMessage: false },
  XML_EMPTY: { s3: 'MissingRequestBodyError', showMessage: false },
  CRYPTO_WRONG_KEY: { s3: 'AccessDenied', showMessage: true },
  CRYPTO_KMS_NOT_IMPLEMENTED: { s3: 'NotImplemented', showMessage: true },
  CRYPTO_INVALID_SSE: { s3: 'InvalidArgument', showMessage: true },
  CRYPTO_SSEC_INVALID_ALGORITHM: { s3: 'InvalidEncryptionAlgorithmError', showMessage: true },
  CRYPTO_SSEC_MISSING_KEY: { s3: 'InvalidArgument', showMessage: true },
  CRYPTO_SSEC_INVALID_KEY: { s3: 'InvalidArgument', showMessage: true },
  CRYPTO_SSEC_KEY_MD5_MISMATCH: { s3: 'InvalidArgument', showMessage: true },
  CRYPTO_SSEC_MISSING_ALGORITHM: { s3: 'InvalidArgument', showMessage: true },
  CRYPTO_SSEC_INCOMPATIBLE: { s3: 'InvalidArgument', showMessage: true },
  MP_INVALID_PART_NUMBER: { s3: 'InvalidArgument', showMessage: true },
  MP_NO_PARTS: { s3: 'InvalidRequest', showMessage: true },
  MP_INVALID_PART_ORDER: { s3: 'InvalidPartOrder', showMessage: true },
  MP_INVALID_PART: { s3: 'InvalidPart', showMessage: true },
  MP_ENTITY_TOO_SMALL: { s3: 'EntityTooSmall', showMessage: true },
  MP_NO_SUCH_UPLOAD: { s3: 'NoSuchUpload', showMessage: true },
  MP_BAD_DIGEST: { s3: 'BadDigest', showMessage: true },
  MP_CHECKSUM_MISSING: { s3: 'InvalidRequest', showMessage: true },
  MP_INVALID_CHECKSUM_TYPE: { s3: 'InvalidRequest', showMessage: true },
  MP_OBJECT_SIZE_MISMATCH: { s3: 'InvalidRequest', showMessage: true },
  MP_SSEC_REQUIRED: { s3: 'InvalidRequest', showMessage: true },
  MP_SSEC_NOT_APPLICABLE: { s3: 'InvalidRequest', showMessage: true },
  MP_SSEC_KEY_MISMATCH: { s3: 'AccessDenied', showMessage: true },
  MP_INVALID_UPLOAD_ID_MARKER: { s3: 'InvalidArgument', showMessage: true },
  MP_PRECONDITION_FAILED: { s3: 'PreconditionFailed', showMessage: true },
  BLOB_NO_SUCH_BUCKET: { s3: 'NoSuchBucket', showMessage: false },
  BLOB_NO_SUCH_KEY: { s3: 'NoSuchKey', showMessage: false },
  BLOB_SSEC_REQUIRED: { s3: 'InvalidRequest', showMessage: true },
  BLOB_SSEC_NOT_APPLICABLE: { s3: 'InvalidRequest', showMessage: true },
  BLOB_BUCKET_NOT_EMPTY: { s3: 'BucketNotEmpty', showMessage: false },
  BLOB_PRECONDITION_FAILED: { s3: 'PreconditionFailed', showMessage: false },
  BLOB_TOO_LARGE: { s3: 'EntityTooLarge', showMessage: false },
  BLOB_NO_SPACE: { s3: 'XCofferStorageFull', showMessage: false },
  BLOB_UNAVAILABLE: { s3: 'ServiceUnavailable', showMessage: false },
  // the chunk backend (radosgw, S3) is down or overloaded: the client may retry, as after AWS's own 503
  CHUNKS_UNAVAILABLE: { s3: 'ServiceUnavailable', showMessage: false },
  CHUNKS_NO_SPACE: { s3: 'XCofferStorageFull', showMessage: false },
  BLOB_BUCKET_EXISTS: { s3: 'InternalError', showMessage: false },
  BLOB_LOCKED: { s3: 'InternalError', showMessage: false },
  BLOB_CORRUPT: { s3: 'InternalError', showMessage: false },
  BLOB_ABORTED: { s3: 'InternalError', showMessage: false },
  BLOB_IO: { s3: 'InternalError', showMessage: false },
  BLOB_CLOSED: { s3: 'InternalError', showMessage: false },
  CHUNKS_NOT_FOUND: { s3: 'InternalError', showMessage: false },
  CHUNKS_IO: { s3: 'InternalError', showMessage: false },
  CHUNKS_CLOSED: { s3: 'InternalError', showMessage: false },
  CRYPTO_AUTH_FAILED: { s3: 'InternalError', showMessage: false },
  CRYPTO_UNKNOWN_KEY: { s3: 'InternalError', showMessage: false },
  CRYPTO_READONLY_RING: { s3: 'InternalError', showMessage: false },
  CRYPTO_INVALID_KEYRING: { s3: 'InternalError', showMessage: false },
  // The store turns engine errors of its commits into BLOB_ codes, but a read's (an object or record looked up while
  // PostgreSQL is down) reaches the server as it is. A database out of reach, or contended past the engine's
  // retries, is a moment's trouble a client should retry: 503, as for BLOB_UNAVAILABLE.
  KV_UNAVAILABLE: { s3: 'ServiceUnavailable', showMessage: false },
  KV_CONFLICT: { s3: 'ServiceUnavailable', showMessage: false },
  KV_IO: { s3: 'InternalError', showMessage: false },
  KV_CLOSED: { s3: 'InternalError', showMessage: false },
  KV_SCHEMA: { s3: 'InternalError', showMessage: false },
  KV_TARGET_FOREIGN: { s3: 'InternalError', showMessage: false },
  // @coffer/policy writes S3's PutBucketPolicy messages ("Invalid principal in policy", …).
  POLICY_MALFORMED: { s3: 'MalformedPolicy', showMessage: true },
  POLICY_TOO_LARGE: { s3: 'PolicyTooLarge', showMessage: true },
} as const satisfies Record<PackageErrorCode, PackageErrorMapping>);

function isPackageErrorCode(code: string): code is PackageErrorCode {
  return Object.hasOwn(PACKAGE_ERRORS, code);
}

/**
 * Turns anything thrown into an S3Error. Package errors map through one table and keep their message (packages
 * write AWS's text) and details; anything unknown becomes `InternalError` with no internal detail.
 */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && isPackageErrorCode(code)) {
    const { s3, showMessage } = PACKAGE_ERRORS[code];
    if (s3 === 'InternalError') return new S3Error('InternalError', { cause: err });
    const details = (err as { details?: Record<string, string> }).details ?? {};
    const message = showMessage ? (err as Error).message || undefined : undefined;
    return new S3Error(s3, { message, extra: details, cause: err });
  }
  return new S3Error('InternalError', { cause: err });
}
