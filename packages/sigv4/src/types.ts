import type { Transform } from 'node:stream';

import type { ChecksumAlgorithm } from '@coffer/checksum';

/** Request headers with lowercase names, as in node's `IncomingMessage.headers`. */
export type Headers = Record<string, string | string[] | undefined>;

/** The parts of an HTTP request that SigV4 signs. */
export interface SignableRequest {
  /** HTTP method, e.g. `'PUT'`. */
  method: string;
  /** Raw path exactly as on the wire, still percent-encoded, without the query (`'/bkt/a%20b'`). */
  path: string;
  /** Raw query string as on the wire, without `?`; `''` when there is none. */
  query: string;
  /** Request headers, lowercase names. */
  headers: Headers;
}

/** Options of {@link verifyRequest}. */
export interface VerifyOptions {
  /** Looks up the secret key of an access key id; `undefined` for an unknown key (→ SIGV4_UNKNOWN_ACCESS_KEY). */
  getSecretKey(accessKeyId: string): string | undefined | Promise<string | undefined>;
  /** Region the credential scope must name. Default `'us-east-1'`. */
  region?: string;
  /** Clock, epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Largest allowed difference between the request time and `now()`, ms. Default 900 000 (15 minutes). */
  maxSkewMs?: number;
  /**
   * Accept Signature Version 2: the `AWS AccessKeyId:Signature` header, `AWSAccessKeyId`/`Expires`/`Signature`
   * query authentication and POST forms signed with `AWSAccessKeyId`/`signature`. Default false: they are
   * SIGV4_UNSUPPORTED_ALGORITHM.
   */
  sigV2?: boolean;
  /**
   * The bucket a `Host` names in virtual-hosted style, undefined for any other host. SigV2 signs `/bucket/key`
   * whatever the addressing, so the verifier must know. Default: no virtual hosts.
   */
  virtualHostBucket?: (host: string) => string | undefined;
}

/** How the request body is protected, from `x-amz-content-sha256`. */
export type PayloadMode =
  | { kind: 'signed'; sha256: string } // hex from x-amz-content-sha256; the decoder verifies it
  | { kind: 'unsigned' } // UNSIGNED-PAYLOAD (also presigned URLs)
  | { kind: 'streaming-signed' } // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  | { kind: 'streaming-signed-trailer' } // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  | { kind: 'streaming-unsigned-trailer' }; // STREAMING-UNSIGNED-PAYLOAD-TRAILER

/** What {@link verifyRequest} proved about a request; input of {@link createBodyDecoder}. */
export interface AuthContext {
  /** The access key id that signed the request. */
  accessKeyId: string;
  /** The signature version, as the `s3:signatureversion` policy key names it: `AWS` (SigV2) or `AWS4-HMAC-SHA256`. */
  signatureVersion: 'AWS' | 'AWS4-HMAC-SHA256';
  /** Authorization header or presigned query. */
  via: 'header' | 'query';
  /** How the body is protected. */
  payload: PayloadMode;
  /** Request time, ISO 8601 basic (`20261127T070141Z`); for SigV2 query authentication the time it was verified. */
  amzDate: string;
  /** Credential scope, `YYYYMMDD/region/s3/aws4_request`; `''` for SigV2. */
  scope: string;
  /** The request's signature: the seed of aws-chunked chunk signatures (SigV2: the base64 signature). */
  signature: string;
  /**
   * The derived SigV4 signing key (secret; never log it), empty for SigV2. Cached and shared with later requests:
   * read, never modify.
   */
  signingKey: Buffer;
}

/** Options of createBodyDecoder. */
export interface BodyDecoderOptions {
  /** Compute this checksum when the request carries none (it is then reported by `result()`, not verified). */
  compute?: ChecksumAlgorithm;
  /**
   * The request's `x-amz-checksum-*` headers are not of this body and are left alone (CompleteMultipartUpload:
   * they carry the checksum of the object being completed). A trailer is still verified.
   */
  ignoreChecksumHeaders?: boolean;
}

/** Result of a {@link BodyDecoder} once it ended. */
export interface BodyDecoderResult {
  /** The checksum from an `x-amz-checksum-*` header or trailer, verified against the payload; else the one computed for `compute` (`computed`). */
  checksum?: { algorithm: ChecksumAlgorithm; value: string /* base64 */; computed?: true };
  /** Bytes of decoded payload. */
  decodedLength: number;
}

/** Transform: raw body bytes in, decoded (and verified) payload out. */
export interface BodyDecoder extends Transform {
  /** After 'end': the verified checksum, if any, and the decoded length. */
  result(): BodyDecoderResult;
}
