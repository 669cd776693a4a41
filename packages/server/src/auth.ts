/** How this server verifies signatures: the options of @coffer/sigv4 for its users, region, domains and SigV2. */
import type { VerifyOptions } from '@coffer/sigv4';
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
