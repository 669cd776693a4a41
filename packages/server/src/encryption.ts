/**
 * Reading the encryption a request asks for (SSE-S3 or SSE-C) and checking an SSE-C key against a stored object,
 * as S3-ENCRYPTION.md Part A and B decide.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Context } from 'koa';
import type { BucketRecord, ObjectRecord, WriteEncryption } from '@coffer/blob-store';
import { parseServerSideEncryption, parseSseCustomerHeaders, type SseCustomerKey } from '@coffer/crypto';
import { S3Error } from './errors.ts';
import type { Services } from './context.ts';
import type { Endpoint } from './operations.ts';
import { header } from './http.ts';

/**
 * SSE-C needs a secure connection (Part A): TLS, a loopback peer, `X-Forwarded-Proto: https` from a proxy the
 * operator trusts, or the operator's explicit opt-in.
 */
export function isSecure(ctx: Context, services: Services): boolean {
  if ((ctx.req.socket as { encrypted?: boolean }).encrypted || services.security.allowInsecureSseC) return true;
  if (services.security.trustProxy && header(ctx.req.headers, 'x-forwarded-proto')?.toLowerCase() === 'https')
    return true;
  const peer = ctx.req.socket.remoteAddress ?? '';
  return peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
}

function requireSecure(ctx: Context, services: Services): void {
  if (!isSecure(ctx, services)) {
    throw new S3Error('InvalidRequest', {
      message:
        'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.',
    });
  }
}

const SSE_PARAM = /^x-amz-(copy-source-)?server-side-encryption-customer-/;

/**
 * The SSE-C parameters of a request: its headers, plus those a presigned URL carries in its query string (read
 * case-insensitively; when both carry one, they must agree). Part A, S3-ENCRYPTION.md 2.3.
 */
function sseParameters(ctx: Context, ep: Pick<Endpoint, 'query'>): IncomingHttpHeaders {
  const merged: IncomingHttpHeaders = { ...ctx.req.headers };
  for (const [name, value] of ep.query) {
    const lower = name.toLowerCase();
    if (!SSE_PARAM.test(lower)) continue;
    const present = header(merged, lower);
    if (present !== undefined && present !== value) {
      throw new S3Error('InvalidArgument', {
        message: 'The SSE-C parameters in the query string do not match the ones in the headers.',
        extra: { ArgumentName: lower },
      });
    }
    merged[lower] = value;
  }
  return merged;
}

const SSE_C_PARAM = /^x-amz-server-side-encryption-customer-/;

/**
 * The encryption a write to `bucket` asks for: SSE-C with the three customer headers, SSE-S3 otherwise (every
 * object is encrypted). `aws:kms` is 501, an unknown value 400, and SSE-C together with `x-amz-server-side-encryption`
 * 400. A bucket that blocks SSE-C answers any SSE-C parameter with 403 AccessDenied before the key is looked at,
 * as S3 does (Part B row 13). `params`: where the parameters are (default: the request's headers and query; a POST
 * form's fields for a browser upload).
 */
export function writeEncryption(
  ctx: Context,
  ep: Pick<Endpoint, 'query'>,
  services: Services,
  bucket: BucketRecord,
  params?: IncomingHttpHeaders,
): WriteEncryption {
  const headers = params ?? sseParameters(ctx, ep);
  if (
    bucket.encryption?.blockedEncryptionTypes?.includes('SSE-C') &&
    Object.keys(headers).some((h) => SSE_C_PARAM.test(h))
  ) {
    throw new S3Error('AccessDenied');
  }
  const sse = parseServerSideEncryption(header(headers, 'x-amz-server-side-encryption'));
  const customer = parseSseCustomerHeaders(headers, { requireKeyMd5: true });
  if (!customer) return { scheme: 'SSE-S3' };
  if (sse) {
    throw new S3Error('InvalidArgument', {
      message: 'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
      extra: { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse },
    });
  }
  requireSecure(ctx, services);
  return { scheme: 'SSE-C', customer };
}

/** GET, HEAD, UploadPart and UploadPartCopy take no `x-amz-server-side-encryption` header (S3-ENCRYPTION.md Part B 1.1). */
export function refuseSseHeader(ctx: Context): void {
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
export function readCustomerKey(
  ctx: Context,
  ep: Pick<Endpoint, 'query'>,
  services: Services,
  rec: ObjectRecord,
  opts: { copySource?: boolean } = {},
): SseCustomerKey | undefined {
  const customer = parseSseCustomerHeaders(sseParameters(ctx, ep), {
    copySource: opts.copySource,
    requireKeyMd5: !!opts.copySource,
  });
  if (rec.enc.scheme === 'SSE-C' && !customer) {
    throw new S3Error('InvalidRequest', {
      message:
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    });
  }
  if (rec.enc.scheme !== 'SSE-C' && customer) {
    throw new S3Error('InvalidRequest', { message: 'The encryption parameters are not applicable to this object.' });
  }
  if (!customer) return undefined;
  requireSecure(ctx, services);
  try {
    services.store.verifyKey(rec, customer);
  } catch (err) {
    if ((err as { code?: string }).code === 'CRYPTO_WRONG_KEY') {
      throw new S3Error('AccessDenied', {
        message:
          'Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key.',
      });
    }
    throw err;
  }
  return customer;
}
