/**
 * Amazon S3's multipart rules, as pure functions: part numbers, the completion checks and the multipart ETag.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
 */
import { createHash } from 'node:crypto';

import {
  combineChecksums,
  createChecksum,
  unquoteEtag,
  type ChecksumAlgorithm,
  type CombinableAlgorithm,
} from '@coffer/checksum';

import { MultipartError } from './errors.ts';

/** S3's multipart limits. */
export const MULTIPART_LIMITS = Object.freeze({
  /** Every part but the last must hold at least this many bytes. */
  minPartSize: 5 * 1024 * 1024,
  /** Part numbers run from 1 to this. */
  maxPartNumber: 10_000,
  /** A part holds at most this many bytes (5 GiB). */
  maxPartSize: 5 * 1024 ** 3,
  /** ListParts and ListMultipartUploads return at most this many entries per page. */
  maxListEntries: 1000,
});

/** Parses a part number (`partNumber` query parameter or a Complete entry): an integer from 1 to 10000. */
export function parsePartNumber(raw: string | number): number {
  const text = String(raw);
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > MULTIPART_LIMITS.maxPartNumber) {
    throw new MultipartError(
      'MP_INVALID_PART_NUMBER',
      'Part number must be an integer between 1 and 10000, inclusive',
      {
        ArgumentName: 'partNumber',
        ArgumentValue: text,
      },
    );
  }
  return n;
}

/** The multipart ETag: MD5 of the concatenated binary part MD5s, then `-N` (S3-ENCRYPTION.md Part A). */
export function multipartEtag(partEtags: readonly string[]): string {
  const hash = createHash('md5');
  for (const etag of partEtags) hash.update(Buffer.from(etag, 'hex'));
  return `${hash.digest('hex')}-${partEtags.length}`;
}

/** A part as the client lists it in CompleteMultipartUpload. */
export interface RequestedPart {
  partNumber: number;
  etag: string;
  /** `<ChecksumCRC32>` … values (base64) the client lists for the part. */
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
}

/** A part as the upload stored it. */
export interface StoredPart {
  partNumber: number;
  etag: string;
  size: number;
  /** The checksum the part was uploaded with (verified against its body), or computed by the server (`computed`). */
  checksum?: { algorithm: string; value: string; computed?: true };
}

/**
 * Checks a Complete request against the stored parts, in the order S3 does: at least one part, ascending part
 * numbers, every part present with its ETag, every part but the last at least 5 MiB. Returns the stored parts
 * in the order of the request.
 */
export function resolveCompletion(
  uploadId: string,
  requested: readonly RequestedPart[],
  stored: ReadonlyMap<number, StoredPart>,
): StoredPart[] {
  if (requested.length === 0) throw new MultipartError('MP_NO_PARTS', 'You must specify at least one part');
  for (const p of requested) parsePartNumber(p.partNumber);
  for (let i = 1; i < requested.length; i++) {
    if (requested[i].partNumber <= requested[i - 1].partNumber) {
      throw new MultipartError(
        'MP_INVALID_PART_ORDER',
        'The list of parts was not in ascending order. Parts must be ordered by part number.',
        { UploadId: uploadId },
      );
    }
  }
  const parts = requested.map((p) => {
    const part = stored.get(p.partNumber);
    if (!part || unquoteEtag(part.etag) !== unquoteEtag(p.etag)) {
      throw new MultipartError(
        'MP_INVALID_PART',
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        {
          UploadId: uploadId,
          PartNumber: String(p.partNumber),
          ETag: unquoteEtag(p.etag),
        },
      );
    }
    return part;
  });
  parts.forEach((part, i) => {
    if (i < parts.length - 1 && part.size < MULTIPART_LIMITS.minPartSize) {
      throw new MultipartError('MP_ENTITY_TOO_SMALL', 'Your proposed upload is smaller than the minimum allowed size', {
        ProposedSize: String(part.size),
        MinSizeAllowed: String(MULTIPART_LIMITS.minPartSize),
        PartNumber: String(part.partNumber),
        ETag: unquoteEtag(part.etag),
      });
    }
  });
  return parts;
}

/** True when a Complete lists exactly the parts (numbers and ETags, quoted or not) an object was made of. */
export function samePartList(
  requested: readonly RequestedPart[],
  made: readonly Pick<StoredPart, 'partNumber' | 'etag'>[],
): boolean {
  return (
    requested.length === made.length &&
    requested.every(
      (p, i) => p.partNumber === made[i]!.partNumber && unquoteEtag(p.etag) === unquoteEtag(made[i]!.etag),
    )
  );
}

/**
 * The per-part checksum checks of a Complete, after {@link resolveCompletion}: a checksum the client lists for a part
 * must equal the one the part was uploaded with (`MP_BAD_DIGEST`), and an upload created with
 * `x-amz-checksum-algorithm` needs that checksum listed for every part (`MP_CHECKSUM_MISSING`).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
export function checkCompletionChecksums(
  algorithm: ChecksumAlgorithm | undefined,
  requested: readonly RequestedPart[],
  resolved: readonly StoredPart[],
): void {
  requested.forEach((req, i) => {
    const part = resolved[i];
    const listed = req.checksums ?? {};
    if (
      algorithm !== undefined &&
      listed[algorithm] === undefined &&
      part.checksum?.algorithm === algorithm &&
      !part.checksum.computed
    ) {
      throw new MultipartError(
        'MP_CHECKSUM_MISSING',
        `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${req.partNumber} in the request.`,
      );
    }
    for (const [alg, value] of Object.entries(listed) as [ChecksumAlgorithm, string][]) {
      if (algorithm !== undefined && alg !== algorithm) {
        throw new MultipartError(
          'MP_CHECKSUM_MISSING',
          `Checksum Type mismatch occurred, expected checksum Type: ${algorithm.toLowerCase()}, actual checksum Type: ${alg.toLowerCase()}`,
        );
      }
      if (part.checksum && part.checksum.algorithm === alg && part.checksum.value !== value.trim()) {
        throw new MultipartError(
          'MP_BAD_DIGEST',
          `The ${alg.toLowerCase()} you specified for part ${req.partNumber} did not match what we received.`,
        );
      }
    }
  });
}

/** How a multipart object's checksum follows from its parts': of their checksums, or of all the bytes. */
export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/** The algorithms each checksum type takes (S3: CRC64NVME is full-object only, the SHAs composite only). */
const TYPE_ALGORITHMS: Readonly<Record<ChecksumType, readonly ChecksumAlgorithm[]>> = Object.freeze({
  COMPOSITE: ['CRC32', 'CRC32C', 'SHA1', 'SHA256'],
  FULL_OBJECT: ['CRC32', 'CRC32C', 'CRC64NVME'],
});

/**
 * The checksum type of an upload created with `algorithm` and `x-amz-checksum-type` = `type`: as given, else S3's
 * default (FULL_OBJECT for CRC64NVME, COMPOSITE for the others); undefined without an algorithm.
 * `MP_INVALID_CHECKSUM_TYPE` for an unknown type, a type without an algorithm, or a pair S3 does not support.
 */
export function resolveChecksumType(
  algorithm: ChecksumAlgorithm | undefined,
  type: string | undefined,
): ChecksumType | undefined {
  if (type === undefined)
    return algorithm === undefined ? undefined : algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE';
  const t = type.trim().toUpperCase();
  if (t !== 'COMPOSITE' && t !== 'FULL_OBJECT') {
    throw new MultipartError('MP_INVALID_CHECKSUM_TYPE', 'Value for x-amz-checksum-type header is invalid.');
  }
  if (algorithm === undefined) {
    throw new MultipartError(
      'MP_INVALID_CHECKSUM_TYPE',
      'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
    );
  }
  if (!TYPE_ALGORITHMS[t].includes(algorithm)) {
    throw new MultipartError(
      'MP_INVALID_CHECKSUM_TYPE',
      `The ${t} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  return t;
}

/**
 * The checksum of a multipart object, base64, from its parts' checksums: COMPOSITE, the checksum of the
 * concatenated binary part checksums followed by `-N`; FULL_OBJECT, the CRC of all the bytes, combined from the
 * parts' CRCs and sizes (no suffix). Undefined when a part lacks a checksum of `algorithm`.
 */
export async function objectChecksum(
  algorithm: ChecksumAlgorithm,
  type: ChecksumType,
  parts: readonly StoredPart[],
): Promise<string | undefined> {
  const sums: Buffer[] = [];
  for (const p of parts) {
    if (p.checksum?.algorithm !== algorithm) return undefined;
    sums.push(Buffer.from(p.checksum.value, 'base64'));
  }
  if (type === 'FULL_OBJECT') {
    const crc = algorithm as CombinableAlgorithm;
    return sums.reduce((acc, sum, i) => combineChecksums(crc, acc, sum, parts[i]!.size)).toString('base64');
  }
  const c = createChecksum(algorithm);
  for (const sum of sums) c.update(sum);
  return `${(await c.digest()).toString('base64')}-${parts.length}`;
}
