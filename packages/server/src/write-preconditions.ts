/**
 * The conditional headers of a write (PutObject, CompleteMultipartUpload): `If-None-Match: *` writes only when the
 * key has no object, `If-Match: <etag>` only when its object has that ETag. The stores evaluate them inside their
 * commit, so that two racing writes cannot both pass.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.ts';
import { header } from './http.ts';

/** The write preconditions of a request, in the shape `BlobStore.putObject` and `MultipartStore.complete` take. */
export interface WritePreconditions {
  /** `If-None-Match: *`: fail with 412 when the key holds an object. */
  ifNoneMatch?: boolean;
  /** `If-Match` as sent: the store reads the ETag with `unquoteEtag` (`*` = any object). */
  ifMatch?: string;
}

/**
 * Reads `If-None-Match` and `If-Match` of a write. S3 takes only `*` in a write's If-None-Match: any other value is
 * 501 NotImplemented (with `Header: If-None-Match`), before anything is written.
 */
export function writePreconditions(headers: IncomingHttpHeaders): WritePreconditions {
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', { extra: { Header: 'If-None-Match' } });
  }
  return { ifNoneMatch: ifNoneMatch !== undefined || undefined, ifMatch: header(headers, 'if-match') };
}
