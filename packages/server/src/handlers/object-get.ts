/**
 * GetObject and HeadObject: metadata, SSE-C key check and conditions are settled before a byte is sent; the body
 * is decrypted from only the chunks the range needs.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 * @see https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
 */
import { Readable } from 'node:stream';
import type { Context } from 'koa';
import type { ObjectRecord } from '@coffer/blob-store';
import { parsePartNumber } from '@coffer/multipart';
import { S3Error } from '../errors.ts';
import type { Services } from '../context.ts';
import type { ObjectEndpoint } from '../operations.ts';
import { requestBucket, requestObject } from '../access.ts';
import { readCustomerKey, refuseSseHeader } from '../encryption.ts';
import {
  type ByteRange,
  evaluateConditions,
  header,
  invalidHeaderArgument,
  isHeaderValue,
  parseRange,
  setObjectHeaders,
} from '../http.ts';
import { expirationHeader, objectExpiry } from '../lifecycle.ts';
import { setChecksumHeader } from '../respond.ts';
import { setLockHeaders } from '../object-lock.ts';

/** `response-*` query parameters override these response headers on GET. */
const OVERRIDES = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
] as const;

/** The byte range a `?partNumber=N` read selects, with the part count to report. */
function partRange(rec: ObjectRecord, raw: string): { range?: ByteRange; count?: number } {
  const n = parsePartNumber(raw);
  const parts = rec.parts;
  const count = parts?.length ?? 1;
  if (n > count) throw new S3Error('InvalidPartNumber', { extra: { PartNumberRequested: n, ActualPartCount: count } });
  if (!parts) return { range: rec.size > 0 ? { start: 0, end: rec.size - 1 } : undefined };
  let start = 0;
  for (let i = 0; i < n - 1; i++) start += parts[i].size;
  const size = parts[n - 1].size;
  return { range: size > 0 ? { start, end: start + size - 1 } : undefined, count };
}

async function readObject(ctx: Context, ep: ObjectEndpoint, services: Services, withBody: boolean): Promise<void> {
  refuseSseHeader(ctx);
  const bucket = requestBucket(ctx);
  const rec = requestObject(ctx);
  const customer = readCustomerKey(ctx, ep, services, rec);
  const rangeHeader = header(ctx.req.headers, 'range');
  const partNumber = ep.query.get('partNumber');
  if (partNumber !== undefined && rangeHeader !== undefined) {
    throw new S3Error('InvalidRequest', { message: 'Cannot specify both Range header and partNumber query parameter' });
  }
  setObjectHeaders(ctx, rec);
  setLockHeaders(ctx, rec);
  const expiry = bucket.lifecycle && objectExpiry(bucket.lifecycle, rec);
  if (expiry) ctx.set('x-amz-expiration', expirationHeader(expiry));
  if (evaluateConditions(ctx.req.headers, rec, 'read') === 'not-modified') {
    ctx.body = null;
    ctx.status = 304;
    return;
  }
  let range: ByteRange | undefined;
  if (partNumber !== undefined) {
    const part = partRange(rec, partNumber);
    range = part.range;
    if (part.count !== undefined) ctx.set('x-amz-mp-parts-count', String(part.count));
  } else {
    range = parseRange(rangeHeader, rec.size);
  }
  const partial =
    range !== undefined && (rangeHeader !== undefined || (rec.parts !== undefined && partNumber !== undefined));
  if (!partial && header(ctx.req.headers, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED')
    setChecksumHeader(ctx, rec);
  if (withBody) {
    for (const [param, name] of OVERRIDES) {
      const v = ep.query.get(param);
      if (v === undefined) continue;
      if (!isHeaderValue(v)) throw invalidHeaderArgument(param);
      ctx.set(name, v);
    }
  }
  const length = range ? range.end - range.start + 1 : rec.size;
  if (partial) ctx.set('Content-Range', `bytes ${range!.start}-${range!.end}/${rec.size}`);
  ctx.status = partial ? 206 : 200;
  if (!withBody) {
    ctx.set('Content-Length', String(length));
    return;
  }
  // Small objects are stored inline: one Buffer answers them without the cost of a stream pipeline. But a response
  // ended with a Buffer has its Content-Disposition re-read as UTF-8 by Node (nodejs/node#46528), which mangles the
  // raw bytes a client sent (S3 gives them back as they came): with bytes above 0x7F there, it goes as a stream.
  const inline = await services.store.readInline(rec, { range, customer });
  const rawDisposition = /[^\x00-\x7f]/.test(String(ctx.response.get('Content-Disposition')));
  ctx.body =
    inline === undefined
      ? await services.store.openObject(rec, { range, customer })
      : rawDisposition
        ? Readable.from([inline])
        : inline;
  ctx.length = length;
}

export function getObject(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  return readObject(ctx, ep, services, true);
}

export function headObject(ctx: Context, ep: ObjectEndpoint, services: Services): Promise<void> {
  return readObject(ctx, ep, services, false);
}
