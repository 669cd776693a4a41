import { isoSeconds } from './canonical.ts';

/**
 * Error codes thrown by @coffer/sigv4. The server maps each code to one S3 error (see README.md);
 * every message is AWS's own text for that S3 error (shared/S3-ERRORS.md).
 */
export type SigV4ErrorCode =
  | 'SIGV4_MISSING_AUTH'
  | 'SIGV4_UNSUPPORTED_ALGORITHM'
  | 'SIGV4_MALFORMED_AUTH'
  | 'SIGV4_QUERY_PARAMS'
  | 'SIGV4_EXPIRED'
  | 'SIGV4_UNKNOWN_ACCESS_KEY'
  | 'SIGV4_SIGNATURE_MISMATCH'
  | 'SIGV4_TIME_SKEWED'
  | 'SIGV4_UNSIGNED_HEADERS'
  | 'SIGV4_MISSING_CONTENT_SHA256'
  | 'SIGV4_INVALID_CONTENT_SHA256'
  | 'SIGV4_PAYLOAD_HASH_MISMATCH'
  | 'SIGV4_CHUNK_SIGNATURE_MISMATCH'
  | 'SIGV4_INCOMPLETE_BODY'
  | 'SIGV4_MALFORMED_CHUNK'
  | 'SIGV4_INVALID_CHUNK_SIZE'
  | 'SIGV4_MALFORMED_TRAILER'
  | 'SIGV4_INVALID_DIGEST'
  | 'SIGV4_BAD_DIGEST'
  | 'SIGV4_CHECKSUM_MISMATCH'
  | 'SIGV4_INVALID_CHECKSUM'
  | 'SIGV4_POST_MISSING_FIELD'
  | 'SIGV4_POST_POLICY_INVALID'
  | 'SIGV4_POST_POLICY_DENIED'
  | 'SIGV4_V2_MALFORMED_AUTH'
  | 'SIGV4_V2_QUERY_PARAMS';

/** AWS message texts, exact (trailing periods included) as S3 sends them. */
export const MESSAGES = Object.freeze({
  accessDenied: 'Access Denied',
  missingDate: 'AWS authentication requires a valid Date or x-amz-date header',
  unsupportedAlgorithm: 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
  v2HeaderInvalid: 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature',
  v2QueryMissing: 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
  v2QueryExpires: 'Invalid date (should be seconds since epoch): ',
  headerMalformedCredential:
    'The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
  headerMalformedComponents:
    'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
  headerMalformedDate:
    'The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.',
  queryMissing:
    'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
  queryAlgorithm: 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
  queryCredential:
    'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
  queryDate: "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
  queryCredentialDate: 'Invalid credential date "{date}". This date is not the same as X-Amz-Date: "{amzDate}".',
  expiresTooLarge:
    'X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds',
  expiresNegative: 'X-Amz-Expires must be non-negative',
  expiresNaN: 'X-Amz-Expires should be a number',
  expired: 'Request has expired',
  unknownAccessKey: 'The AWS Access Key Id you provided does not exist in our records.',
  signatureMismatch:
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  timeSkewed: 'The difference between the request time and the current time is too large.',
  unsignedHeaders: 'There were headers present in the request which were not signed',
  missingContentSha256: 'Missing required header for this request: x-amz-content-sha256',
  invalidContentSha256:
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
  payloadHashMismatch: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  incompleteBody: 'You did not provide the number of bytes specified by the Content-Length HTTP header',
  malformedChunk: 'The chunk encoding of the request body is malformed.',
  invalidChunkSize: 'Only the last chunk is allowed to have a size less than 8192 bytes',
  malformedTrailer:
    'The request contained trailing data that was not well-formed or did not conform to our published schema.',
  trailerNotSupported: 'The value specified in the x-amz-trailer header is not supported',
  invalidDigest: 'The Content-MD5 you specified was invalid.',
  badDigest: 'The Content-MD5 you specified did not match what we received.',
  multipleChecksums: 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
  unsupportedChecksum:
    'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
});

/** `Value for x-amz-checksum-crc32 header is invalid.` (or `trailing header` for a trailer). */
export function invalidChecksumMessage(headerName: string, trailer = false): string {
  return `Value for ${headerName} ${trailer ? 'trailing header' : 'header'} is invalid.`;
}

/** `The CRC32 you specified did not match the calculated checksum.` */
export function checksumMismatchMessage(algorithm: string): string {
  return `The ${algorithm} you specified did not match the calculated checksum.`;
}

/** RequestTimeTooSkewed for a request made at `requestTime` (as sent), checked at `now` (epoch ms). */
export function timeSkewedError(requestTime: string, now: number, maxSkewMs: number): SigV4Error {
  return new SigV4Error('SIGV4_TIME_SKEWED', MESSAGES.timeSkewed, {
    RequestTime: requestTime,
    ServerTime: isoSeconds(now),
    MaxAllowedSkewMilliseconds: String(maxSkewMs),
  });
}

/** `The authorization header is malformed; the region 'X' is wrong; expecting 'Y'` */
export function wrongRegionMessage(given: string, expected: string, query = false): string {
  return query
    ? `Error parsing the X-Amz-Credential parameter; the region '${given}' is wrong; expecting '${expected}'`
    : `The authorization header is malformed; the region '${given}' is wrong; expecting '${expected}'`;
}

/**
 * The one error class of @coffer/sigv4. `code` is stable; `message` is AWS's text for the S3 error the code maps to;
 * `details` carries the extra elements of the S3 error document. Never holds a secret key.
 */
export class SigV4Error extends Error {
  /** Stable error code, mapped to an S3 error by the server. */
  readonly code: SigV4ErrorCode;
  /** Extra fields for the S3 error document (e.g. `AWSAccessKeyId`, `StringToSign`). */
  readonly details: Record<string, string>;

  constructor(
    code: SigV4ErrorCode,
    message: string,
    details: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SigV4Error';
    this.code = code;
    this.details = details;
  }
}
