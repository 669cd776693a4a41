/**
 * Response writing the handlers share: an XML body, an empty 200, the Owner element of a user and the stored
 * checksum's headers.
 */
import type { Context } from 'koa';
import type { ObjectRecord } from '@coffer/blob-store';
import { buildXml } from '@coffer/xml';
import type { Services } from './context.ts';

/** Writes an XML response body. */
export function sendXml(ctx: Context, root: string, body: Parameters<typeof buildXml>[1]): void {
  ctx.type = 'application/xml';
  ctx.body = buildXml(root, body);
}

/** Answers 200 with no body (Koa would answer 204 for `body = null` alone). */
export function sendEmpty(ctx: Context, status = 200): void {
  ctx.body = null;
  ctx.status = status;
}

/** The Owner (or Initiator) element of a user. */
export function owner(services: Services, id: string): { ID: string; DisplayName: string } {
  return { ID: id, DisplayName: services.users.byId(id)?.name ?? id };
}

/** Sets `x-amz-checksum-<algorithm>` and `x-amz-checksum-type` for a stored checksum. */
export function setChecksumHeader(ctx: Context, rec: ObjectRecord): void {
  if (!rec.checksum) return;
  ctx.set(`x-amz-checksum-${rec.checksum.algorithm.toLowerCase()}`, rec.checksum.value);
  ctx.set('x-amz-checksum-type', checksumTypeOf(rec.checksum.value));
}

/** A COMPOSITE checksum (of a multipart object's part checksums) ends in `-N`; any other covers the whole object. */
export function checksumTypeOf(value: string): 'COMPOSITE' | 'FULL_OBJECT' {
  return /-\d+$/.test(value) ? 'COMPOSITE' : 'FULL_OBJECT';
}
