/**
 * GetObjectAttributes: the attributes named by `x-amz-object-attributes` (ETag, Checksum, ObjectParts,
 * StorageClass, ObjectSize), from the object's record, without reading its data. An SSE-C object needs its key,
 * as for HEAD.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
 */
import type { Context } from 'koa';
import { MULTIPART_LIMITS } from '@coffer/multipart';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { ObjectEndpoint } from '../operations.ts';
import { requestObject } from '../access.ts';
import { readCustomerKey, refuseSseHeader } from '../encryption.ts';
import { header, setEncryptionHeaders } from '../http.ts';
import { integerValue } from '../params.ts';
import { checksumTypeOf, sendXml } from '../respond.ts';

const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;

/** An integer header (`x-amz-max-parts`, `x-amz-part-number-marker`), or `def` when absent. */
function intHeader(ctx: Context, name: string, def: number): number {
  const raw = header(ctx.req.headers, name);
  return raw === undefined ? def : integerValue(raw.trim(), name);
}

export async function getObjectAttributes(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  refuseSseHeader(ctx);
  const raw = header(ctx.req.headers, 'x-amz-object-attributes');
  const wanted = new Set(
    (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  if (wanted.size === 0)
    throw new S3Error('InvalidArgument', {
      message: 'Invalid attribute name specified.',
      extra: { ArgumentName: 'x-amz-object-attributes', ArgumentValue: raw ?? '' },
    });
  for (const a of wanted) {
    if (!(ATTRIBUTES as readonly string[]).includes(a))
      throw new S3Error('InvalidArgument', {
        message: 'Invalid attribute name specified.',
        extra: { ArgumentName: 'x-amz-object-attributes', ArgumentValue: a },
      });
  }
  const maxParts = Math.min(
    intHeader(ctx, 'x-amz-max-parts', MULTIPART_LIMITS.maxListEntries),
    MULTIPART_LIMITS.maxListEntries,
  );
  const marker = intHeader(ctx, 'x-amz-part-number-marker', 0);
  const rec = requestObject(ctx);
  readCustomerKey(ctx, ep, services, rec);

  const body: Record<string, unknown> = {};
  if (wanted.has('ETag')) body.ETag = rec.etag; // unquoted, as S3 writes it here
  if (wanted.has('Checksum') && rec.checksum) {
    body.Checksum = {
      [`Checksum${rec.checksum.algorithm}`]: rec.checksum.value,
      ChecksumType: checksumTypeOf(rec.checksum.value),
    };
  }
  if (wanted.has('ObjectParts') && rec.parts) {
    const after = rec.parts.filter((p) => p.partNumber > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    body.ObjectParts = {
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      PartsCount: rec.parts.length,
      Part: page.map((p) => ({ PartNumber: p.partNumber, Size: p.size })),
    };
  }
  if (wanted.has('StorageClass')) body.StorageClass = 'STANDARD';
  if (wanted.has('ObjectSize')) body.ObjectSize = rec.size;
  ctx.set('Last-Modified', new Date(rec.lastModified).toUTCString());
  setEncryptionHeaders(ctx, rec);
  sendXml(ctx, 'GetObjectAttributesResponse', body as Parameters<typeof sendXml>[2]);
}
