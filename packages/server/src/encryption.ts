/**
 * Reading the encryption a request asks for (SSE-S3 or SSE-C) and checking an SSE-C key against a stored object,
 * as S3-ENCRYPTION.md Part A and B decide.
 */
import type { Context } from 'koa';
import type { ObjectRecord, WriteEncryption } from '@coffer/blob-store';
import { parseServerSideEncryption, parseSseCustomerHeaders, type SseCustomerKey } from '@coffer/crypto';
import { S3Error } from './errors.ts';
import type { Services } from './context.ts';
import { header } from './http.ts';

/** Loopback peers may send SSE-C over plain HTTP (Part A); anything else needs TLS. */
function isSecure(ctx: Context): boolean {
  if ((ctx.req.socket as { encrypted?: boolean }).encrypted) return true;
  const peer = ctx.req.socket.remoteAddress ?? '';
  return peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
}

function requireSecure(ctx: Context): void {
  if (!isSecure(ctx)) {
    throw new S3Error('InvalidRequest', { message: 'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.' });
  }
}

/**
 * The encryption a write asks for: SSE-C with the three customer headers, SSE-S3 otherwise (every object is
 * encrypted). `aws:kms` is 501, an unknown value 400, and SSE-C together with `x-amz-server-side-encryption` 400.
 */
export function writeEncryption(ctx: Context): WriteEncryption {
  const headers = ctx.req.headers;
  const sse = parseServerSideEncryption(header(headers, 'x-amz-server-side-encryption'));
  const customer = parseSseCustomerHeaders(headers, { requireKeyMd5: true });
  if (!customer) return { scheme: 'SSE-S3' };
  if (sse) {
    throw new S3Error('InvalidArgument', {
      message: 'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
      extra: { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse },
    });
  }
  requireSecure(ctx);
  return { scheme: 'SSE-C', customer };
}

/** GET and HEAD take no `x-amz-server-side-encryption` header (S3-ENCRYPTION.md Part B 1.1). */
export function refuseSseHeaderOnRead(ctx: Context): void {
  const v = header(ctx.req.headers, 'x-amz-server-side-encryption');
  if (v !== undefined) {
    throw new S3Error('InvalidArgument', {
      message: 'x-amz-server-side-encryption header is not supported for this operation.',
      extra: { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: v },
    });
  }
}

/**
 * Checks the customer key a read (or a copy source) sends against the stored object, from metadata alone and
 * before any byte of the body: an SSE-C object needs its key (400), a key on an SSE-S3 object is refused (400),
 * a wrong key is 403 (Part A).
 */
export function readCustomerKey(ctx: Context, services: Services, rec: ObjectRecord, opts: { copySource?: boolean } = {}): SseCustomerKey | undefined {
  const customer = parseSseCustomerHeaders(ctx.req.headers, { copySource: opts.copySource, requireKeyMd5: false });
  if (rec.enc.scheme === 'SSE-C' && !customer) {
    throw new S3Error('InvalidRequest', { message: 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.' });
  }
  if (rec.enc.scheme !== 'SSE-C' && customer) {
    throw new S3Error('InvalidRequest', { message: 'The encryption parameters are not applicable to this object.' });
  }
  if (!customer) return undefined;
  requireSecure(ctx);
  try {
    services.store.verifyKey(rec, customer);
  } catch (err) {
    if ((err as { code?: string }).code === 'CRYPTO_WRONG_KEY') {
      throw new S3Error('AccessDenied', { message: 'Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.' });
    }
    throw err;
  }
  return customer;
}
