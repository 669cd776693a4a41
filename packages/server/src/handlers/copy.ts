/**
 * CopyObject, within and across buckets. The store copies by re-wrapping the data key when it can, so a copy (and an
 * SSE-C key rotation onto the same key) does not re-encrypt the data.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { ObjectEndpoint } from '../operations.ts';
import { copySourceObject, requestBucket, writerOf } from '../access.ts';
import { newObjectAcl } from '../acl.ts';
import { readCustomerKey, writeEncryption } from '../encryption.ts';
import {
  LIMITS,
  checkKey,
  evaluateConditions,
  header,
  metadataOf,
  quoted,
  readMetadata,
  setEncryptionHeaders,
} from '../http.ts';
import { parseCopySource } from '../params.ts';
import { sendXml } from '../respond.ts';
import { taggingHeader } from '../tags.ts';
import { newObjectLock } from '../object-lock.ts';
import { setWrittenVersion } from '../versions.ts';

/** `x-amz-metadata-directive` / `x-amz-tagging-directive`: COPY (the default) or REPLACE. */
function copyDirective(headers: IncomingHttpHeaders, what: 'metadata' | 'tagging'): 'COPY' | 'REPLACE' {
  const name = `x-amz-${what}-directive`;
  const value = (header(headers, name) ?? 'COPY').toUpperCase();
  if (value !== 'COPY' && value !== 'REPLACE') {
    throw new S3Error('InvalidArgument', {
      message: `Unknown ${what} directive.`,
      extra: { ArgumentName: name, ArgumentValue: value },
    });
  }
  return value;
}

export async function copyObject(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  checkKey(ep.key);
  const headers = ctx.req.headers;
  const source = parseCopySource(header(headers, 'x-amz-copy-source')!);
  const bucket = requestBucket(ctx);
  const { owner, acl } = newObjectAcl(bucket, writerOf(ctx), headers, services);
  const src = await copySourceObject(ctx, services, source);
  const sourceCustomer = readCustomerKey(ctx, ep, services, src, { copySource: true });
  evaluateConditions(headers, src, 'copy');

  const directive = copyDirective(headers, 'metadata');
  const taggingDirective = copyDirective(headers, 'tagging');
  const encryption = writeEncryption(ctx, ep, services, bucket);
  const changesEncryption =
    header(headers, 'x-amz-server-side-encryption') !== undefined ||
    encryption.scheme === 'SSE-C' ||
    src.enc.scheme === 'SSE-C';
  // Copying a version named by its id onto its own key is how S3 restores an old version: not a copy onto itself.
  const sameObject = source.bucket === ep.bucket && source.key === ep.key && source.versionId === undefined;
  if (
    sameObject &&
    directive === 'COPY' &&
    !changesEncryption &&
    header(headers, 'x-amz-storage-class') === undefined
  ) {
    throw new S3Error('InvalidRequest', {
      message:
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    });
  }
  if (src.size > LIMITS.maxPutSize) {
    throw new S3Error('InvalidRequest', {
      message: `The specified copy source is larger than the maximum allowable size for a copy source: ${LIMITS.maxPutSize}`,
    });
  }
  const rec = await services.store.copyObject(src, ep.bucket, ep.key, {
    owner,
    metadata: {
      ...(directive === 'REPLACE' ? readMetadata(headers) : metadataOf(src)),
      // Tags follow their own directive (COPY by default), not the metadata's.
      tags: taggingDirective === 'REPLACE' ? taggingHeader(headers) : src.tags,
      // A copy is a new object: it takes its lock from this request or the bucket's default, never the source's.
      lock: newObjectLock(bucket, (name) => header(headers, name)),
      // The copy's ACL is the request's (private by default), never the source's, as in S3.
      acl,
    },
    sourceCustomer,
    encryption,
  });
  setEncryptionHeaders(ctx, rec);
  setWrittenVersion(ctx, bucket, rec);
  sendXml(ctx, 'CopyObjectResult', { LastModified: new Date(rec.lastModified), ETag: quoted(rec.etag) });
}
