/**
 * S3's tag rules: limits, the checks of a tag set, the `x-amz-tagging` header of writes (PutObject,
 * CreateMultipartUpload, CopyObject with `x-amz-tagging-directive: REPLACE`) and a Tagging document.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseTagging } from '@coffer/xml';
import { S3Error } from './errors.ts';
import { header } from './http.ts';

/** S3's limits: tags per object and per bucket, key and value lengths (Unicode characters). */
export const TAG_LIMITS = Object.freeze({
  maxObjectTags: 10,
  maxBucketTags: 50,
  maxKeyLength: 128,
  maxValueLength: 256,
});

const invalidTag = (message: string) => new S3Error('InvalidTag', { message });

/** Checks a tag set against S3's rules; returns it as a record (in the order given). */
export function checkTags(
  tags: readonly { key: string; value: string }[],
  max: number,
  what: 'Object' | 'Bucket',
): Record<string, string> {
  if (tags.length > max) throw invalidTag(`${what} tags cannot be greater than ${max}`);
  const out: Record<string, string> = {};
  for (const { key, value } of tags) {
    if (key.length === 0) throw invalidTag('The TagKey you have provided is invalid');
    if ([...key].length > TAG_LIMITS.maxKeyLength) {
      throw invalidTag(`The TagKey you have provided is too long, max ${TAG_LIMITS.maxKeyLength}`);
    }
    if ([...value].length > TAG_LIMITS.maxValueLength) {
      throw invalidTag(`The TagValue you have provided is too long, max ${TAG_LIMITS.maxValueLength}`);
    }
    if (key.toLowerCase().startsWith('aws:')) throw invalidTag('Your TagKey cannot be prefixed with aws:');
    if (Object.hasOwn(out, key)) throw invalidTag('Cannot provide multiple Tags with the same key');
    out[key] = value;
  }
  return out;
}

/** The `x-amz-tagging` header (a URL-encoded query string, `k1=v1&k2=v2`) of a write; undefined when absent. */
export function taggingHeader(headers: IncomingHttpHeaders): Record<string, string> | undefined {
  const raw = header(headers, 'x-amz-tagging');
  if (raw === undefined) return undefined;
  const pairs = [...new URLSearchParams(raw)];
  if (new Set(pairs.map(([k]) => k)).size !== pairs.length) {
    throw new S3Error('InvalidArgument', {
      message:
        "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without " +
        'tag name duplicates.',
      extra: { ArgumentName: 'x-amz-tagging', ArgumentValue: raw },
    });
  }
  return checkTags(
    pairs.map(([key, value]) => ({ key, value })),
    TAG_LIMITS.maxObjectTags,
    'Object',
  );
}

/** A Tagging document from a request body (or a POST form's `tagging` field). */
export async function readTagging(
  source: AsyncIterable<Buffer | string>,
  what: 'Object' | 'Bucket',
): Promise<Record<string, string>> {
  const { tags } = await parseTagging(source);
  return checkTags(tags, what === 'Object' ? TAG_LIMITS.maxObjectTags : TAG_LIMITS.maxBucketTags, what);
}
