/**
 * @coffer/checksum: S3's content digests, shared by the packages that check them. The checksum algorithms
 * (`x-amz-checksum-*`), incremental checksums, CRC combining for FULL_OBJECT multipart checksums, and the rule for
 * reading an ETag a client sends back.
 */
export {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_LENGTHS,
  checksumAlgorithmOfHeader,
  checksumHeaderName,
  decodeChecksumValue,
  type ChecksumAlgorithm,
} from './algorithms.ts';
export { createChecksum, type Checksummer } from './checksum.ts';
export { combineChecksums, type CombinableAlgorithm } from './combine.ts';
export { unquoteEtag } from './etag.ts';
