/**
 * How this server verifies signatures: the options of @coffer/sigv4 for its users, region, domains and SigV2; and
 * which requests carry no signature at all (they act as the anonymous principal).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthContext, PayloadMode, VerifyOptions } from '@coffer/sigv4';
import { S3Error } from './errors.ts';
import { header } from './http.ts';
import type { Services } from './context.ts';
import { hostBucket } from './router.ts';

/** The verification options of every signed request and POST form. */
export function verifyOptions(services: Services): VerifyOptions {
  return {
    getSecretKey: (accessKey) => services.users.secretKey(accessKey),
    region: services.region,
    sigV2: services.sigV2,
    virtualHostBucket: (host) => hostBucket(host, services.domains),
  };
}

/** Query parameters of SigV4 and SigV2 query-string authentication: any of them makes a request a signed one. */
const AUTH_PARAMS =
  /(?:^|&)(?:x-amz-(?:algorithm|credential|signature|date|signedheaders|expires)|awsaccesskeyid|signature)=/i;

/**
 * True for a request that does not try to authenticate: no Authorization header and no query-string
 * authentication. S3 runs such a request as the anonymous principal; one that tries and fails is refused by
 * verification instead (a bad signature never falls back to anonymous).
 */
export function isUnsigned(headers: IncomingHttpHeaders, rawQuery: string): boolean {
  return headers.authorization === undefined && !AUTH_PARAMS.test(rawQuery);
}

/**
 * The body protection of an unsigned request, for the body decoder: a hex `x-amz-content-sha256` is still
 * verified, an unsigned aws-chunked body with trailers is decoded; chunk signatures need a key an anonymous caller
 * does not have (400 InvalidArgument, as for SigV2).
 */
export function anonymousAuth(headers: IncomingHttpHeaders): AuthContext {
  const sent = header(headers, 'x-amz-content-sha256');
  let payload: PayloadMode = { kind: 'unsigned' };
  if (sent === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') payload = { kind: 'streaming-unsigned-trailer' };
  else if (sent !== undefined && /^[0-9a-fA-F]{64}$/.test(sent))
    payload = { kind: 'signed', sha256: sent.toLowerCase() };
  else if (sent !== undefined && sent !== 'UNSIGNED-PAYLOAD')
    throw new S3Error('InvalidArgument', {
      message:
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.',
      extra: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: sent },
    });
  return {
    accessKeyId: '',
    signatureVersion: 'AWS4-HMAC-SHA256',
    via: 'header',
    payload,
    amzDate: '',
    scope: '',
    signature: '',
    signingKey: Buffer.alloc(0),
  };
}
