/**
 * @coffer/server: the Koa S3 front and the server lifecycle. The `coffer` command is `src/cli.ts`, run by
 * `bin/coffer.js`.
 */
export { CofferServer, SERVER_DEFAULTS, type ServerOptions } from './server.ts';
export {
  RING_KEY_FILE,
  RING_RELOAD_MS,
  openDataDir,
  openKeyRing,
  type MasterKeySource,
  type OpenDataDirOptions,
} from './key-ring.ts';
export { createApp, type Handler } from './app.ts';
export { route, parseQuery, splitPath } from './router.ts';
export {
  OPERATIONS,
  type Operation,
  type Scope,
  type OperationIn,
  type Endpoint,
  type EndpointOf,
  type BucketEndpoint,
  type ObjectEndpoint,
} from './operations.ts';
export { S3Error, S3_ERRORS, toS3Error, type S3ErrorCode } from './errors.ts';
export { UserRegistry, UserError, generateKeyPair, type User } from './users.ts';
export type { Services, AppState } from './context.ts';
