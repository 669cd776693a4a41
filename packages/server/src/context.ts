/** What the HTTP layer shares between middleware and handlers. */
import type { Logger } from 'pino';
import type { BucketRecord, ObjectOwnership, ObjectRecord, ObjectStore, PublicAccessBlock } from '@coffer/blob-store';
import type { CryptoPool, MasterKeyRing } from '@coffer/crypto';
import type { MultipartStore } from '@coffer/multipart';
import type { AuthContext } from '@coffer/sigv4';
import type { User, UserRegistry } from './users.ts';
import type { Endpoint } from './operations.ts';
import type { Metrics } from './metrics.ts';
import type { LifecycleRunner } from './lifecycle.ts';
import type { LeasedJob } from './leased-job.ts';
import type { DiskSpace } from './space.ts';

/** The long-lived services a request handler works with. */
export interface Services {
  store: ObjectStore;
  /** Multipart upload sessions over the same store (its background sweep runs while the server does). */
  multipart: MultipartStore;
  /** The background runs of the buckets' lifecycle rules. */
  lifecycle: LifecycleRunner;
  /** The background garbage sweep (released blobs when due, blobs of writes that never committed). */
  gc: LeasedJob;
  keyRing: MasterKeyRing;
  /** The chunk-encryption worker pool, when the server runs one. */
  cryptoPool?: CryptoPool;
  users: UserRegistry;
  logger: Logger;
  /** Prometheus metrics, when the server exports them. */
  metrics?: Metrics;
  /** The data directory's free space and its reserve: new data is refused below it. */
  space: DiskSpace;
  /** Region this server answers as (credential scope, GetBucketLocation). */
  region: string;
  /** Domains under which buckets are also addressed as host names (`{bucket}.{domain}`, virtual-hosted style). */
  domains: readonly string[];
  /** Accept Signature Version 2 (header, query string and POST forms) besides SigV4. */
  sigV2: boolean;
  /** What buckets created from now on start with (`--default-object-ownership`, `--default-public-access-block`). */
  bucketDefaults: {
    ownership: ObjectOwnership;
    /** Absent = no Block Public Access configuration. */
    publicAccessBlock?: PublicAccessBlock;
  };
  /** When SSE-C may travel over plain HTTP beyond loopback peers. */
  security: {
    /** Accept SSE-C over plain HTTP from any peer (the operator's explicit opt-in). */
    allowInsecureSseC: boolean;
    /** Count `X-Forwarded-Proto: https` as a secure connection (only behind a proxy the operator trusts). */
    trustProxy: boolean;
  };
}

/** Per-request state on `ctx.state`. */
export interface AppState {
  requestId: string;
  /** What authentication proved (for an unsigned request: only how its body is protected, see auth.ts). */
  auth?: AuthContext;
  /** The verified user; absent = the anonymous principal. */
  user?: User;
  endpoint?: Endpoint;
  /** The bucket the request names, loaded and authorized before its handler runs. */
  bucket?: BucketRecord;
  /** The object of an action on an object's data, ACL or tags, loaded and authorized with the bucket. */
  object?: ObjectRecord;
  /** A POST upload's form fields (by lower-cased name), which stand for a PUT's headers in policy conditions. */
  form?: ReadonlyMap<string, string>;
  /** CORS response headers of an allowed cross-origin request (kept on error responses too). */
  cors?: Record<string, string>;
}
