/**
 * The one entry for request authentication: SigV4, or SigV2 when the options accept it.
 */
import type { AuthContext, SignableRequest, VerifyOptions } from './types.ts';
import { isSigV2Request, verifyV2Request } from './v2.ts';
import { resolveOptions, verifyV4Request } from './verify.ts';

/**
 * Verify a request as S3 does: SigV4 (Authorization header or presigned query), or SigV2 (header or query-string
 * authentication) when `opts.sigV2` is set; without it a SigV2 request is SIGV4_UNSUPPORTED_ALGORITHM.
 * Resolves with what was proved; rejects with a {@link SigV4Error}.
 */
export async function verifyRequest(req: SignableRequest, opts: VerifyOptions): Promise<AuthContext> {
  const o = resolveOptions(opts);
  return o.sigV2 && isSigV2Request(req) ? verifyV2Request(req, opts) : verifyV4Request(req, opts);
}
