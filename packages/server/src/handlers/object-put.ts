/**
 * PutObject: the body streams through the auth decoder (payload hash, aws-chunked, checksums) into the store, which
 * encrypts it chunk by chunk and commits it atomically.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
import type { Context } from 'koa';
import { checkContentMd5, parseContentMd5 } from '@coffer/sigv4';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { ObjectEndpoint } from '../operations.ts';
import { requestBucket, writerOf } from '../access.ts';
import { newObjectAcl } from '../acl.ts';
import { writeEncryption } from '../encryption.ts';
import {
  LIMITS,
  checkKey,
  declaredSize,
  header,
  quoted,
  readMetadata,
  requestBody,
  setEncryptionHeaders,
} from '../http.ts';
import { writePreconditions } from '../write-preconditions.ts';
import { sendEmpty, setChecksumHeader } from '../respond.ts';
import { taggingHeader } from '../tags.ts';
import { newObjectLock, requireIntegrity } from '../object-lock.ts';
import { setWrittenVersion } from '../versions.ts';

export async function putObject(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  checkKey(ep.key);
  const bucket = requestBucket(ctx);
  const { owner, acl } = newObjectAcl(bucket, writerOf(ctx), ctx.req.headers, services);
  const lock = newObjectLock(bucket, (name) => header(ctx.req.headers, name));
  requireIntegrity(ctx.req.headers, lock);
  const metadata = { ...readMetadata(ctx.req.headers), tags: taggingHeader(ctx.req.headers), lock, acl };
  const encryption = writeEncryption(ctx, ep, services, bucket);
  const preconditions = writePreconditions(ctx.req.headers);
  const size = declaredSize(ctx.req.headers);
  if (size !== undefined && size > LIMITS.maxPutSize) {
    throw new S3Error('EntityTooLarge', { extra: { ProposedSize: size, MaxSizeAllowed: LIMITS.maxPutSize } });
  }
  const contentMd5 = parseContentMd5(header(ctx.req.headers, 'content-md5'));
  const body = requestBody(ctx);
  const rec = await services.store.putObject(ep.bucket, ep.key, body, {
    owner,
    metadata,
    encryption,
    ...preconditions,
    maxSize: LIMITS.maxPutSize,
    // Lets the store pick inline (small) or file storage up front; the bytes received are what counts.
    ...(size !== undefined && Number.isSafeInteger(size) && size >= 0 ? { sizeHint: size } : {}),
    beforeCommit: ({ md5 }) => {
      if (contentMd5) checkContentMd5(header(ctx.req.headers, 'content-md5'), md5);
      return { checksum: body.result().checksum };
    },
  });
  ctx.set('ETag', quoted(rec.etag));
  setEncryptionHeaders(ctx, rec);
  setChecksumHeader(ctx, rec);
  setWrittenVersion(ctx, bucket, rec);
  sendEmpty(ctx);
}
