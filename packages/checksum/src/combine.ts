/**
 * Combining CRCs: the CRC of A ‖ B from the CRCs of A and B and B's length, without reading the bytes again. S3's
 * FULL_OBJECT checksum of a multipart object is the CRC of all its bytes; Coffer combines it from the parts' CRCs.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */

/** The CRCs whose checksums combine (all reflected, with initial value and final XOR all ones). */
export type CombinableAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME';

/** Reflected generator polynomials and widths. */
const CRC_PARAMS: Readonly<Record<CombinableAlgorithm, { width: bigint; poly: bigint }>> = Object.freeze({
  CRC32: { width: 32n, poly: 0xedb88320n },
  CRC32C: { width: 32n, poly: 0x82f63b78n },
  CRC64NVME: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
});

/** a·b modulo the polynomial, both in the reflected representation (x^0 is the top bit). */
function multModP(a: bigint, b: bigint, width: bigint, poly: bigint): bigint {
  let m = 1n << (width - 1n);
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) return p;
    }
    m >>= 1n;
    if (m === 0n) return p;
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
  }
}

/** x^(2^k) modulo each polynomial, k = 0..63 (enough for any byte length below 2^60). */
const X2N = new Map<CombinableAlgorithm, bigint[]>();
function x2nTable(algorithm: CombinableAlgorithm): bigint[] {
  let t = X2N.get(algorithm);
  if (!t) {
    const { width, poly } = CRC_PARAMS[algorithm];
    t = [1n << (width - 2n)]; // x^1
    for (let k = 1; k < 64; k++) t.push(multModP(t[k - 1]!, t[k - 1]!, width, poly));
    X2N.set(algorithm, t);
  }
  return t;
}

/**
 * The checksum of A ‖ B from the checksums of A and B and the length of B (zlib's `crc32_combine`, for any of the
 * three CRCs): how S3's FULL_OBJECT checksum of a multipart object follows from its parts' checksums.
 */
export function combineChecksums(
  algorithm: CombinableAlgorithm,
  first: Buffer,
  second: Buffer,
  secondLength: number,
): Buffer {
  const { width, poly } = CRC_PARAMS[algorithm];
  const bytes = Number(width / 8n);
  if (first.length !== bytes || second.length !== bytes) {
    throw new RangeError(`${algorithm} checksums are ${bytes} bytes`);
  }
  if (!Number.isSafeInteger(secondLength) || secondLength < 0) {
    throw new RangeError('secondLength must be a non-negative integer');
  }
  // x^(8·len) mod P, by the binary expansion of len·8 over the table of x^(2^k).
  const table = x2nTable(algorithm);
  let shift = 1n << (width - 1n); // x^0
  let n = BigInt(secondLength);
  for (let k = 3; n > 0n; k++, n >>= 1n) if (n & 1n) shift = multModP(table[k]!, shift, width, poly);
  const crc =
    multModP(shift, BigInt(`0x${first.toString('hex')}`), width, poly) ^ BigInt(`0x${second.toString('hex')}`);
  return Buffer.from(crc.toString(16).padStart(bytes * 2, '0'), 'hex');
}
