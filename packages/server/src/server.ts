/**
 * Starting and stopping Coffer: key ring, store, users, the HTTP(S) listener and a graceful shutdown.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import pino, { type Logger } from 'pino';
import {
  DEFAULT_OPTIONS,
  type BlobStoreOptions,
  type ObjectOwnership,
  type PublicAccessBlock,
} from '@coffer/blob-store';
import type { S3ChunkStoreOptions } from '@coffer/chunk-store';
import { CryptoPool, defaultCryptoThreads } from '@coffer/crypto';
import { MultipartStore } from '@coffer/multipart';
import { createApp } from './app.ts';
import type { Services } from './context.ts';
import { UserRegistry, generateKeyPair } from './users.ts';
import { Metrics } from './metrics.ts';
import { LifecycleRunner } from './lifecycle.ts';
import { startGarbageJob } from './garbage-job.ts';
import type { LeasedJob } from './leased-job.ts';
import { DiskSpace, type SpaceReserve } from './space.ts';
import { LogSink } from './log-sink.ts';
import { RING_RELOAD_MS, openDataDir, type MasterKeySource } from './key-ring.ts';

/** What a node on shared metadata runs besides the requests (see {@link CofferServer.start}). */
interface SharedJobs {
  ringReload?: NodeJS.Timeout;
}

/** Options of {@link CofferServer.start}. */
export interface ServerOptions {
  /** Data directory (LevelDB metadata, chunk files, key ring). */
  dataDir: string;
  /**
   * A `postgres://` URL: metadata (buckets, objects, uploads, users) in that PostgreSQL database, which several
   * Coffer nodes can share, instead of LevelDB in the data directory. Default: LevelDB.
   */
  meta?: string;
  /**
   * The encrypted chunks in an S3-compatible store (Ceph radosgw, AWS S3, …) instead of files in the data directory,
   * which then holds only what this node keeps locally. Default: chunk files in the data directory.
   */
  chunks?: S3ChunkStoreOptions;
  /** Host to listen on. */
  host: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Region the server answers as. */
  region: string;
  /**
   * Domains under which buckets are also addressed as host names, virtual-hosted style (`Host: {bucket}.{domain}`,
   * as the AWS SDKs send by default to a named endpoint). Path style always works. Default none.
   */
  domains?: readonly string[];
  /**
   * Accept AWS Signature Version 2 (`Authorization: AWS …`, `AWSAccessKeyId`/`Expires`/`Signature` URLs, SigV2 POST
   * forms), which older tools and the presigners of boto3 and the aws CLI v1 still make. Default true.
   */
  sigV2?: boolean;
  /**
   * Object Ownership of buckets created without `x-amz-object-ownership`. Default `BucketOwnerEnforced` (ACLs
   * disabled), as on AWS; `ObjectWriter` is the older, permissive default.
   */
  defaultObjectOwnership?: ObjectOwnership;
  /** Give new buckets Block Public Access with all four settings on, as AWS does. Default true. */
  defaultPublicAccessBlock?: boolean;
  /**
   * Where the master keys come from: by default a ring in the metadata, wrapped under `DATA/keys/ring.key`
   * (`data-dir`) or under a key derived from `key` (`COFFER_MASTER_KEY`); `file` keeps the ring in that file.
   */
  masterKey: MasterKeySource;
  /** Root user's keys; when absent, the first start generates a pair and reports it through `onGeneratedRoot`. */
  root?: { accessKey: string; secretKey: string };
  /** Called once when a root key pair was generated (the only time the secret is shown). */
  onGeneratedRoot?: (pair: { accessKey: string; secretKey: string }) => void;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Worker threads for chunk encryption and decryption; 0 encrypts on the request thread. */
  cryptoThreads: number;
  /** Multipart uploads older than this are aborted by a background sweep (default 7 days). */
  multipartMaxUploadAgeMs?: number;
  /** Accept SSE-C over plain HTTP from any peer, not only loopback. */
  allowInsecureSseC?: boolean;
  /** Trust `X-Forwarded-Proto: https` from the proxy in front. */
  trustProxy?: boolean;
  /** How long in-flight requests may run on shutdown before their connections are closed. */
  shutdownTimeoutMs: number;
  /** Logger; a pino logger to stderr at `info` when absent. */
  logger?: Logger;
  /** How often the buckets' lifecycle rules run (expirations, stale uploads); default hourly. */
  lifecycleIntervalMs?: number;
  /** How often the garbage sweep runs (one node at a time); default `SERVER_DEFAULTS.gcIntervalMs`. */
  gcIntervalMs?: number;
  /**
   * How long replaced or deleted data stays for the reads still streaming it (ms); longer than the longest GET.
   * Default: the store's (15 minutes with `meta`, 0 on one node, where readers keep their files themselves).
   */
  garbageDelayMs?: number;
  /** Serve Prometheus metrics (`GET /metrics`) on this address; none when absent. */
  metricsListen?: { host: string; port: number };
  /**
   * Free space kept on the data directory's file system: new data is refused (507 `XCofferStorageFull`) below it,
   * while deletes still commit. Default `DEFAULT_RESERVE` (space.ts): 256 MiB, at most 10 % of the file system.
   */
  minFreeSpace?: SpaceReserve;
  /**
   * With `meta`: the sweep leaves unreferenced chunk and temp files younger than this, which may be another node's
   * write in progress (default 15 minutes, `BlobStoreOptions.sweepGraceMs`). The garbage job sweeps them every
   * `gcIntervalMs`, or every grace period if that is shorter, so that a killed node's orphans go within two.
   */
  sweepGraceMs?: number;
  /** Log lines the logger's destination has dropped so far, for the metrics. */
  logDropped?: () => number;
  /** TEST ONLY: the store's fault-injection hooks (`BlobStoreOptions.testing`). Never set it in production. */
  testing?: BlobStoreOptions['testing'];
}

/** Defaults of {@link ServerOptions}. */
export const SERVER_DEFAULTS = Object.freeze({
  dataDir: './data',
  host: '127.0.0.1',
  port: 9000,
  region: 'us-east-1',
  shutdownTimeoutMs: 10_000,
  gcIntervalMs: 5 * 60_000,
  // Measured on 2 cores (benchmarks/README.md): the pool costs more than it buys there, so small machines encrypt
  // on the request thread.
  cryptoThreads: availableParallelism() > 2 ? defaultCryptoThreads() : 0,
});

/** The Block Public Access of new buckets, as on AWS since April 2023: everything blocked. */
const BLOCK_ALL_PUBLIC_ACCESS: PublicAccessBlock = Object.freeze({
  blockPublicAcls: true,
  ignorePublicAcls: true,
  blockPublicPolicy: true,
  restrictPublicBuckets: true,
});

/** How often a node on shared metadata reads the users again. */
const USERS_RELOAD_MS = 2000;
/** How long an idle keep-alive connection stays open (Node: 5 s; common load balancers: 60 s). */
const KEEP_ALIVE_MS = 65_000;

/**
 * When the garbage job runs, and whether it sweeps orphans: only with shared metadata (alone, the store sweeps at
 * start, when a crash's leftovers appear), then at least once per sweep grace.
 */
function gcSchedule(opts: ServerOptions): { intervalMs: number; sweepOrphans: boolean } {
  const intervalMs = opts.gcIntervalMs ?? SERVER_DEFAULTS.gcIntervalMs;
  if (opts.meta === undefined) return { intervalMs, sweepOrphans: false };
  const grace = opts.sweepGraceMs ?? DEFAULT_OPTIONS.sweepGraceMs;
  return { intervalMs: Math.min(intervalMs, grace), sweepOrphans: true };
}

/** A running Coffer server. */
export class CofferServer {
  readonly #server: http.Server;
  readonly #services: Services;
  readonly #timeoutMs: number;
  readonly #metricsServer: http.Server | undefined;
  readonly #shared: SharedJobs;
  #closing?: Promise<void>;

  private constructor(
    server: http.Server,
    services: Services,
    timeoutMs: number,
    metricsServer: http.Server | undefined,
    shared: SharedJobs,
  ) {
    this.#shared = shared;
    this.#server = server;
    this.#services = services;
    this.#timeoutMs = timeoutMs;
    this.#metricsServer = metricsServer;
  }

  /** Opens the data directory and starts listening. */
  static async start(opts: ServerOptions): Promise<CofferServer> {
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
      throw new RangeError('options.port must be an integer from 0 to 65535');
    if (!opts.dataDir) throw new TypeError('options.dataDir must be a non-empty path');
    const logger = opts.logger ?? pino({ level: 'info' }, new LogSink(2));
    if (!Number.isInteger(opts.cryptoThreads) || opts.cryptoThreads < 0)
      throw new RangeError('options.cryptoThreads must be an integer of 0 or more');
    const cryptoPool = opts.cryptoThreads > 0 ? await CryptoPool.open({ threads: opts.cryptoThreads }) : undefined;
    let opened: Awaited<ReturnType<typeof openDataDir>>;
    try {
      opened = await openDataDir({
        dataDir: opts.dataDir,
        meta: opts.meta,
        masterKey: opts.masterKey,
        cryptoPool,
        sweepGraceMs: opts.sweepGraceMs,
        garbageDelayMs: opts.garbageDelayMs,
        chunks: opts.chunks,
        testing: opts.testing,
      });
    } catch (err) {
      await cryptoPool?.close();
      throw err;
    }
    const { store, keyRing } = opened;
    const shared: SharedJobs = {};
    let gc: LeasedJob | undefined;
    try {
      const users = await UserRegistry.open(store, keyRing);
      if (opts.root) {
        await users.ensureRoot(opts.root.accessKey, opts.root.secretKey);
      } else if (!users.root()) {
        const pair = generateKeyPair();
        await users.add({ ...pair, name: 'root', root: true });
        opts.onGeneratedRoot?.(pair);
      }
      // Other nodes on the same metadata may add or remove users: see their changes within seconds.
      if (opts.meta) {
        users.startReloading(USERS_RELOAD_MS, (err) => logger.warn({ err }, 'reloading users failed'));
        // A rotation on another node (or by `coffer keys rotate`) adds keys this node must know before it meets
        // data keys wrapped under them.
        shared.ringReload = setInterval(() => {
          keyRing.reload().catch((err) => logger.warn({ err }, 'reloading the master key ring failed'));
        }, RING_RELOAD_MS);
        shared.ringReload.unref();
      }
      const multipart = new MultipartStore(store, { maxUploadAgeMs: opts.multipartMaxUploadAgeMs });
      multipart.start((err) => logger.error({ err }, 'multipart sweep failed'));
      const lifecycle = new LifecycleRunner(store, multipart, logger);
      lifecycle.start(opts.lifecycleIntervalMs ?? 3_600_000);
      gc = startGarbageJob(store, logger, gcSchedule(opts));
      const space = new DiskSpace(opts.dataDir, opts.minFreeSpace);
      const metrics = opts.metricsListen
        ? new Metrics({
            space,
            logDropped: opts.logDropped,
            writesStopped: () => store.recovering,
            metadata: () => store.metadataStats(),
          })
        : undefined;
      const services: Services = {
        store,
        multipart,
        lifecycle,
        gc,
        keyRing,
        cryptoPool,
        users,
        logger,
        metrics,
        space,
        region: opts.region,
        domains: opts.domains ?? [],
        sigV2: opts.sigV2 ?? true,
        bucketDefaults: {
          ownership: opts.defaultObjectOwnership ?? 'BucketOwnerEnforced',
          ...(opts.defaultPublicAccessBlock === false ? {} : { publicAccessBlock: BLOCK_ALL_PUBLIC_ACCESS }),
        },
        security: { allowInsecureSseC: opts.allowInsecureSseC ?? false, trustProxy: opts.trustProxy ?? false },
      };
      const handle = createApp(services).callback();
      const server = opts.tls
        ? https.createServer({ cert: await readFile(opts.tls.cert), key: await readFile(opts.tls.key) }, handle)
        : http.createServer(handle);
      // An `Expect` other than 100-continue is ignored, as S3 does; Node would answer 417 Expectation Failed.
      server.on('checkExpectation', handle);
      // Node closes an idle keep-alive connection after 5 s. SDK clients keep their connections for longer and send
      // the next request on one the server is closing at that moment: the request fails with ECONNRESET, and one
      // with a streamed body cannot be retried. Keep idle connections as long as load balancers commonly do.
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      server.headersTimeout = KEEP_ALIVE_MS + 5_000;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      let metricsServer: http.Server | undefined;
      if (metrics && opts.metricsListen) {
        try {
          metricsServer = (await metrics.listen(opts.metricsListen.host, opts.metricsListen.port)).server;
        } catch (err) {
          server.close();
          throw err;
        }
      }
      return new CofferServer(server, services, opts.shutdownTimeoutMs, metricsServer, shared);
    } catch (err) {
      clearInterval(shared.ringReload);
      await gc?.stop();
      await store.close();
      await cryptoPool?.close();
      throw err;
    }
  }

  /** The address the server listens on. */
  get address(): AddressInfo {
    return this.#server.address() as AddressInfo;
  }

  /** The address of the metrics endpoint, when there is one. */
  get metricsAddress(): AddressInfo | undefined {
    return this.#metricsServer?.address() as AddressInfo | undefined;
  }

  /** Stops accepting, lets in-flight requests finish (bounded by the shutdown timeout), then closes the store. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#metricsServer?.close();
      this.#metricsServer?.closeAllConnections();
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      const timer = setTimeout(() => this.#server.closeAllConnections(), this.#timeoutMs);
      await closed;
      clearTimeout(timer);
      this.#services.users.stop();
      clearInterval(this.#shared.ringReload);
      await this.#services.lifecycle.stop();
      await this.#services.gc.stop();
      await this.#services.multipart.stop();
      await this.#services.store.close();
      await this.#services.cryptoPool?.close();
    })();
    return this.#closing;
  }
}
