/**
 * Amazon S3's multipart rules, as pure functions: part numbers, the completion checks and the multipart ETag.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html
 */
import { createHash } from 'node:crypto';
import { MultipartError } from './errors.ts';

/** S3's multipart limits. */
export const MULTIPART_LIMITS = Object.freeze({
  /** Every part but the last must hold at least this many bytes. */
  minPartSize: 5 * 1024 * 1024,
  /** Part numbers run from 1 to this. */
  maxPartNumber: 10_000,
});

/** Parses a part number (`partNumber` query parameter or a Complete entry): an integer from 1 to 10000. */
export function parsePartNumber(raw: string | number): number {
  const text = String(raw);
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > MULTIPART_LIMITS.maxPartNumber) {
    throw new MultipartError('MP_INVALID_PART_NUMBER', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber', ArgumentValue: text,
    });
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
export interface RequestedPart { partNumber: number; etag: string }

/** A part as the upload stored it. */
export interface StoredPart { partNumber: number; etag: string; size: number }

/** Strips the quotes some clients put around an ETag (s3cmd sends none, the SDKs send them). */
const bare = (etag: string) => etag.trim().replace(/^"|"$/g, '');

/**
 * Checks a Complete request against the stored parts, in the order S3 does: at least one part, ascending part
 * numbers, every part present with its ETag, every part but the last at least 5 MiB. Returns the stored parts
 * in the order of the request.
 */
export function resolveCompletion(uploadId: string, requested: readonly RequestedPart[], stored: ReadonlyMap<number, StoredPart>): StoredPart[] {
  if (requested.length === 0) throw new MultipartError('MP_NO_PARTS', 'You must specify at least one part');
  for (const p of requested) parsePartNumber(p.partNumber);
  for (let i = 1; i < requested.length; i++) {
    if (requested[i].partNumber <= requested[i - 1].partNumber) {
      throw new MultipartError('MP_INVALID_PART_ORDER', 'The list of parts was not in ascending order. Parts must be ordered by part number.', { UploadId: uploadId });
    }
  }
  const parts = requested.map((p) => {
    const part = stored.get(p.partNumber);
    if (!part || bare(part.etag) !== bare(p.etag)) {
      throw new MultipartError('MP_INVALID_PART', 'One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part\'s entity tag.', {
        UploadId: uploadId, PartNumber: String(p.partNumber), ETag: bare(p.etag),
      });
    }
    return part;
  });
  parts.forEach((part, i) => {
    if (i < parts.length - 1 && part.size < MULTIPART_LIMITS.minPartSize) {
      throw new MultipartError('MP_ENTITY_TOO_SMALL', 'Your proposed upload is smaller than the minimum allowed size', {
        ProposedSize: String(part.size), MinSizeAllowed: String(MULTIPART_LIMITS.minPartSize), PartNumber: String(part.partNumber), ETag: bare(part.etag),
      });
    }
  });
  return parts;
}
