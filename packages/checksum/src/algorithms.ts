/**
 * The checksum algorithms S3 accepts, and how S3 names and encodes them: `x-amz-checksum-*` headers and trailers,
 * `x-amz-checksum-algorithm`, `<ChecksumCRC32>` … elements.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */

/** Checksum algorithms as AWS names them. */
export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

/** The checksum algorithms S3 accepts, in AWS's spelling. */
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = Object.freeze([
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'SHA1',
  'SHA256',
]);

/** Digest length in bytes of each algorithm. */
export const CHECKSUM_LENGTHS: Readonly<Record<ChecksumAlgorithm, number>> = Object.freeze({
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
});

/** `x-amz-checksum-crc32` → `CRC32`; undefined for any other name. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name.toLowerCase());
  return m ? (m[1]!.toUpperCase() as ChecksumAlgorithm) : undefined;
}

/** `CRC32` → `x-amz-checksum-crc32`. */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** Strict base64 decode of a checksum value: canonical base64 of exactly the algorithm's digest length. */
export function decodeChecksumValue(algorithm: ChecksumAlgorithm, value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  const buf = Buffer.from(value, 'base64');
  if (buf.length !== CHECKSUM_LENGTHS[algorithm] || buf.toString('base64') !== value) return undefined;
  return buf;
}
