import { timingSafeEqual } from 'node:crypto';

import { MESSAGES, SigV4Error } from './errors.ts';

/**
 * Parse a Content-MD5 header: base64 of 16 bytes. `undefined` when absent.
 * @throws SigV4Error SIGV4_INVALID_DIGEST (InvalidDigest) for anything else.
 */
export function parseContentMd5(headerValue: string | undefined): Buffer | undefined {
  if (headerValue === undefined) return undefined;
  const v = headerValue.trim();
  const buf = /^[A-Za-z0-9+/]{22}==$/.test(v) ? Buffer.from(v, 'base64') : undefined;
  if (buf?.length !== 16) {
    throw new SigV4Error('SIGV4_INVALID_DIGEST', MESSAGES.invalidDigest, { 'Content-MD5': headerValue });
  }
  return buf;
}

/**
 * Check a Content-MD5 header against the MD5 of the received payload (computed elsewhere). No-op when absent.
 * @throws SigV4Error SIGV4_INVALID_DIGEST for a malformed header, SIGV4_BAD_DIGEST (BadDigest) on mismatch.
 */
export function checkContentMd5(headerValue: string | undefined, md5: Buffer): void {
  const expected = parseContentMd5(headerValue);
  if (expected === undefined) return;
  if (md5.length !== 16 || !timingSafeEqual(expected, md5)) {
    throw new SigV4Error('SIGV4_BAD_DIGEST', MESSAGES.badDigest, {
      ExpectedDigest: expected.toString('hex'),
      CalculatedDigest: md5.toString('base64'),
    });
  }
}
