/**
 * The one table that maps errors to HTTP status and S3 error code, and the S3Error the handlers throw.
 * Messages are AWS's own text (shared/S3-ERRORS.md); trailing periods are significant.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */

/** S3 error codes Coffer answers with, their HTTP status and AWS's default message. */
export const S3_ERRORS = Object.freeze({
  AccessDenied: [403, 'Access Denied'],
  AccessControlListNotSupported: [400, 'The bucket does not allow ACLs'],
  AccessForbidden: [403, 'CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource\'s CORS spec.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'],
  AuthorizationQueryParametersError: [400, 'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.'],
  BadRequest: [400, 'Bad Request'],
  BadDigest: [400, 'The Content-MD5 you specified did not match what we received.'],
  BucketAlreadyExists: [409, 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed size'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed size'],
  IllegalLocationConstraintException: [400, 'The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidChunkSizeError: [400, 'Only the last chunk is allowed to have a size less than 8192 bytes'],
  InvalidBucketAclWithObjectOwnership: [400, 'Bucket cannot have ACLs set with ObjectOwnership\'s BucketOwnerEnforced setting'],
  InvalidDigest: [400, 'The Content-MD5 you specified was invalid.'],
  InvalidEncryptionAlgorithmError: [400, 'The Encryption request you specified is not valid. Supported value: AES256.'],
  InvalidLocationConstraint: [400, 'The specified location-constraint is not valid'],
  InvalidPart: [400, 'One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.'],
  InvalidPartNumber: [416, 'The requested partnumber is not satisfiable'],
  InvalidPolicyDocument: [400, 'The content of the form does not meet the conditions specified in the policy document.'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  InvalidTag: [400, 'The TagValue you have provided is invalid'],
  InvalidURI: [400, 'Couldn\'t parse the specified URI.'],
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedACLError: [400, 'The XML you provided was not well-formed or did not validate against our published schema'],
  MalformedPOSTRequest: [400, 'The body of your POST request is not well-formed multipart/form-data.'],
  MalformedTrailerError: [400, 'The request contained trailing data that was not well-formed or did not conform to our published schema.'],
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
  NoSuchLifecycleConfiguration: [404, 'The lifecycle configuration does not exist'],
  NoSuchWebsiteConfiguration: [404, 'The specified bucket does not have a website configuration'],
  ObjectLockConfigurationNotFoundError: [404, 'Object Lock configuration does not exist for this bucket'],
  ReplicationConfigurationNotFoundError: [404, 'The replication configuration was not found'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchUpload: [404, 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.'],
  NotImplemented: [501, 'A header you provided implies functionality that is not implemented'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  ServerSideEncryptionConfigurationNotFoundError: [404, 'The server side encryption configuration was not found'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  SlowDown: [503, 'Please reduce your request rate.'],
  UserKeyMustBeSpecified: [400, 'The bucket POST must contain the specified field name. If it is specified, please check the order of the fields.'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'],
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

  constructor(code: S3ErrorCode, opts: { message?: string; extra?: Record<string, string | number | undefined>; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(opts.message ?? S3_ERRORS[code][1], { cause: opts.cause });
    this.name = 'S3Error';
    this.code = code;
    this.status = S3_ERRORS[code][0];
    this.extra = {};
    for (const [k, v] of Object.entries(opts.extra ?? {})) if (v !== undefined) this.extra[k] = String(v);
    this.headers = opts.headers ?? {};
  }
}

/** Package error codes (`SIGV4_*`, `XML_*`, `CRYPTO_*`, `BLOB_*`, `MP_*`) → S3 error code. */
const PACKAGE_ERRORS: Record<string, S3ErrorCode> = {
  SIGV4_MISSING_AUTH: 'AccessDenied',
  SIGV4_UNSUPPORTED_ALGORITHM: 'InvalidRequest',
  SIGV4_MALFORMED_AUTH: 'AuthorizationHeaderMalformed',
  SIGV4_QUERY_PARAMS: 'AuthorizationQueryParametersError',
  SIGV4_EXPIRED: 'AccessDenied',
  SIGV4_UNKNOWN_ACCESS_KEY: 'InvalidAccessKeyId',
  SIGV4_SIGNATURE_MISMATCH: 'SignatureDoesNotMatch',
  SIGV4_TIME_SKEWED: 'RequestTimeTooSkewed',
  SIGV4_UNSIGNED_HEADERS: 'AccessDenied',
  SIGV4_MISSING_CONTENT_SHA256: 'InvalidRequest',
  SIGV4_INVALID_CONTENT_SHA256: 'InvalidArgument',
  SIGV4_PAYLOAD_HASH_MISMATCH: 'XAmzContentSHA256Mismatch',
  SIGV4_CHUNK_SIGNATURE_MISMATCH: 'SignatureDoesNotMatch',
  SIGV4_INCOMPLETE_BODY: 'IncompleteBody',
  SIGV4_MALFORMED_CHUNK: 'InvalidRequest',
  SIGV4_INVALID_CHUNK_SIZE: 'InvalidChunkSizeError',
  SIGV4_MALFORMED_TRAILER: 'MalformedTrailerError',
  SIGV4_INVALID_DIGEST: 'InvalidDigest',
  SIGV4_BAD_DIGEST: 'BadDigest',
  SIGV4_CHECKSUM_MISMATCH: 'BadDigest',
  SIGV4_INVALID_CHECKSUM: 'InvalidRequest',
  SIGV4_POST_MISSING_FIELD: 'InvalidArgument',
  SIGV4_POST_POLICY_INVALID: 'InvalidPolicyDocument',
  SIGV4_POST_POLICY_DENIED: 'AccessDenied',
  XML_MALFORMED: 'MalformedXML',
  XML_TOO_LARGE: 'MaxMessageLengthExceeded',
  XML_EMPTY: 'MissingRequestBodyError',
  CRYPTO_WRONG_KEY: 'AccessDenied',
  CRYPTO_KMS_NOT_IMPLEMENTED: 'NotImplemented',
  CRYPTO_INVALID_SSE: 'InvalidArgument',
  CRYPTO_SSEC_INVALID_ALGORITHM: 'InvalidEncryptionAlgorithmError',
  CRYPTO_SSEC_MISSING_KEY: 'InvalidArgument',
  CRYPTO_SSEC_INVALID_KEY: 'InvalidArgument',
  CRYPTO_SSEC_KEY_MD5_MISMATCH: 'InvalidArgument',
  CRYPTO_SSEC_MISSING_ALGORITHM: 'InvalidArgument',
  CRYPTO_SSEC_INCOMPATIBLE: 'InvalidArgument',
  MP_INVALID_PART_NUMBER: 'InvalidArgument',
  MP_NO_PARTS: 'InvalidRequest',
  MP_INVALID_PART_ORDER: 'InvalidPartOrder',
  MP_INVALID_PART: 'InvalidPart',
  MP_ENTITY_TOO_SMALL: 'EntityTooSmall',
  MP_NO_SUCH_UPLOAD: 'NoSuchUpload',
  MP_BAD_DIGEST: 'BadDigest',
  MP_CHECKSUM_MISSING: 'InvalidRequest',
  MP_INVALID_CHECKSUM_TYPE: 'InvalidRequest',
  MP_OBJECT_SIZE_MISMATCH: 'InvalidRequest',
  MP_SSEC_REQUIRED: 'InvalidRequest',
  MP_SSEC_NOT_APPLICABLE: 'InvalidRequest',
  MP_SSEC_KEY_MISMATCH: 'AccessDenied',
  MP_INVALID_UPLOAD_ID_MARKER: 'InvalidArgument',
  MP_PRECONDITION_FAILED: 'PreconditionFailed',
  BLOB_NO_SUCH_BUCKET: 'NoSuchBucket',
  BLOB_NO_SUCH_KEY: 'NoSuchKey',
  BLOB_SSEC_REQUIRED: 'InvalidRequest',
  BLOB_SSEC_NOT_APPLICABLE: 'InvalidRequest',
  BLOB_BUCKET_NOT_EMPTY: 'BucketNotEmpty',
  BLOB_PRECONDITION_FAILED: 'PreconditionFailed',
  BLOB_TOO_LARGE: 'EntityTooLarge',
};

/** Package error codes whose own message is not AWS's and must not be shown. */
const OWN_MESSAGE_HIDDEN = new Set(['BLOB_NO_SUCH_BUCKET', 'BLOB_NO_SUCH_KEY', 'BLOB_BUCKET_NOT_EMPTY', 'BLOB_PRECONDITION_FAILED', 'BLOB_TOO_LARGE', 'XML_MALFORMED', 'XML_TOO_LARGE', 'XML_EMPTY']);

/**
 * Turns anything thrown into an S3Error. Package errors map through one table and keep their message (packages
 * write AWS's text) and details; anything unknown becomes `InternalError` with no internal detail.
 */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in PACKAGE_ERRORS) {
    const details = (err as { details?: Record<string, string> }).details ?? {};
    const message = OWN_MESSAGE_HIDDEN.has(code) ? undefined : (err as Error).message || undefined;
    return new S3Error(PACKAGE_ERRORS[code], { message, extra: details, cause: err });
  }
  return new S3Error('InternalError', { cause: err });
}
