/**
 * The `coffer` command: `serve`, `user add|list|remove`, `keys list|rotate`, `scrub`, `meta migrate`. The only place
 * that reads environment variables and flags. `bin/coffer.js` runs it in one process.
 */
import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import type { BlobStoreOptions, ObjectStore } from '@coffer/blob-store';
import { parseChunksUrl, type S3ChunkStoreOptions } from '@coffer/chunk-store';
import type { MasterKeyRing } from '@coffer/crypto';
import { CofferServer, SERVER_DEFAULTS } from './server.ts';
import { RING_RELOAD_MS, openDataDir, type MasterKeySource } from './key-ring.ts';
import { arnOf, isBuiltinPolicy, UserRegistry } from './users.ts';
import { rotateMasterKey } from './rotate.ts';
import { migrateMeta, redactUrl } from './migrate.ts';
import { LogSink } from './log-sink.ts';
import { parseReserve, type SpaceReserve } from './space.ts';

/** The flags that put the chunks in an S3-compatible store (`--chunks s3://BUCKET/PREFIX`). */
interface ChunkFlags {
  chunks?: { bucket: string; prefix: string };
  chunksEndpoint?: string;
  chunksRegion?: string;
}

/** Options every command that opens a data directory takes. */
interface DataOpts extends ChunkFlags {
  data: string;
  meta?: string;
  masterKeyFile?: string;
}

/** Parses `--chunks`: `s3://BUCKET/PREFIX`. */
function parseChunks(value: string): { bucket: string; prefix: string } {
  try {
    return parseChunksUrl(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Adds the `--chunks` flags to a command. */
function chunkOptions(cmd: Command): Command {
  return cmd
    .option('--chunks <s3://bucket/prefix>', 'keep the encrypted chunks in this S3-compatible store', parseChunks)
    .option('--chunks-endpoint <url>', 'the chunk store S3 endpoint (http(s)://host[:port])')
    .option('--chunks-region <region>', 'the region chunk store requests are signed for (default us-east-1)');
}

/**
 * The S3 chunk store `--chunks` names, with the backend's keys from `COFFER_CHUNKS_ACCESS_KEY` /
 * `COFFER_CHUNKS_SECRET_KEY` (never flags: a command line is visible to every user of the machine); `undefined`
 * without `--chunks` (the chunk files in the data directory).
 */
function chunkStoreOptions(opts: ChunkFlags): S3ChunkStoreOptions | undefined {
  if (opts.chunks === undefined) {
    if (opts.chunksEndpoint !== undefined || opts.chunksRegion !== undefined) {
      throw new InvalidArgumentError('--chunks-endpoint and --chunks-region go with --chunks');
    }
    return undefined;
  }
  if (opts.chunksEndpoint === undefined) throw new InvalidArgumentError('--chunks needs --chunks-endpoint URL');
  const accessKeyId = process.env.COFFER_CHUNKS_ACCESS_KEY;
  const secretAccessKey = process.env.COFFER_CHUNKS_SECRET_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new InvalidArgumentError(
      '--chunks needs the backend keys in COFFER_CHUNKS_ACCESS_KEY and COFFER_CHUNKS_SECRET_KEY',
    );
  }
  return {
    endpoint: opts.chunksEndpoint,
    ...opts.chunks,
    region: opts.chunksRegion,
    credentials: { accessKeyId, secretAccessKey },
  };
}

/** Opens the users of a stopped data directory (or of a PostgreSQL metadata database, running nodes or not). */
function withUsers<T>(opts: DataOpts, fn: (users: UserRegistry) => Promise<T>): Promise<T> {
  return withStore(opts, async (store, keyRing) => fn(await UserRegistry.open(store, keyRing)));
}

/** Parses `HOST:PORT` (`[::1]:9000` for IPv6). */
function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:9000');
  return { host: m[1] ?? m[2], port };
}

/** Parses `--meta`: a PostgreSQL URL (the default, LevelDB in the data directory, needs no flag). */
function parseMeta(value: string): string {
  if (!/^postgres(ql)?:\/\/[^/]/.test(value)) {
    throw new InvalidArgumentError(
      'expected a postgres:// URL, e.g. postgres://coffer:PASSWORD@db.example:5432/coffer',
    );
  }
  return value;
}

/** Parses a positive number option. */
function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** Parses a duration in seconds, 0 or more, into ms. */
function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 7 * 86_400)
    throw new InvalidArgumentError('expected a number of seconds from 0 to 604800 (a week)');
  return Math.round(n * 1000);
}

/** Parses `--min-free-space` (bytes, `512MiB`, `1GiB`, `5%`). */
function parseMinFree(value: string): SpaceReserve {
  try {
    return parseReserve(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** One more `--domain`: a DNS name (letters, digits, hyphens, dots), kept lowercase. */
function parseDomain(value: string, previous: string[]): string[] {
  const d = value.toLowerCase();
  if (!/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(d)) {
    throw new InvalidArgumentError('expected a domain name, e.g. s3.example.com');
  }
  return [...previous, d];
}

/** Parses a whole number option (0 or more). */
function parseCount(value: string): number {
  if (!/^\d{1,3}$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** The master key source from `--master-key-file` or `COFFER_MASTER_KEY` (base64 or hex, 32 bytes). */
function masterKeySource(opts: { masterKeyFile?: string }): MasterKeySource {
  if (opts.masterKeyFile) return { kind: 'file', path: opts.masterKeyFile };
  const env = process.env.COFFER_MASTER_KEY;
  if (env) {
    const key = /^[0-9a-fA-F]{64}$/.test(env) ? Buffer.from(env, 'hex') : Buffer.from(env, 'base64');
    if (key.length !== 32) throw new InvalidArgumentError('COFFER_MASTER_KEY must be 32 bytes, base64 or hex');
    return { kind: 'key', key };
  }
  return { kind: 'data-dir' };
}

/** The points `COFFER_TEST_CRASH_AT` can name. */
const CRASH_POINT = /^(blob-stored|batch-before|batch-after|sweep-unlink|migrate-commit)(?::(\d{1,6}))?$/;

/**
 * TEST ONLY: `COFFER_TEST_CRASH_AT=POINT[:N]` kills this process with SIGKILL the N-th time (default 1) it reaches
 * a named point of the commit protocol, for the crash tests: `blob-stored` (a blob file fsync'd and renamed, no
 * record yet), `batch-before` / `batch-after` (a metadata batch about to be written / written, nothing acknowledged
 * yet), `sweep-unlink` (the sweep about to remove a file), `migrate-commit` (`meta migrate` has committed a
 * transaction of its copy). Unset, the store runs without hooks.
 */
function crashHooks(): BlobStoreOptions['testing'] {
  const at = crashPoint();
  if (!at) return undefined;
  return {
    point: at,
    batch: async (write) => {
      at('batch-before');
      await write();
      at('batch-after');
    },
  };
}

/** The test-only crash point of `COFFER_TEST_CRASH_AT` (see {@link crashHooks}) as a function, if one is set. */
function crashPoint(): ((name: string) => void) | undefined {
  const spec = process.env.COFFER_TEST_CRASH_AT;
  if (!spec) return undefined;
  const m = CRASH_POINT.exec(spec);
  if (!m) {
    throw new InvalidArgumentError(
      'COFFER_TEST_CRASH_AT must be blob-stored, batch-before, batch-after, sweep-unlink ' +
        'or migrate-commit, optionally :N',
    );
  }
  let left = Number(m[2] ?? 1);
  return (name: string): void => {
    if (name === m[1] && --left === 0) process.kill(process.pid, 'SIGKILL');
  };
}

/** Opens a stopped data directory for an administrative command; a clear message while a server holds it. */
async function withStore<T>(
  opts: DataOpts,
  fn: (store: ObjectStore, keyRing: MasterKeyRing) => Promise<T>,
  storeOpts: Pick<BlobStoreOptions, 'sweepAtOpen'> = {},
): Promise<T> {
  let opened: { store: ObjectStore; keyRing: MasterKeyRing };
  try {
    opened = await openDataDir({
      dataDir: opts.data,
      meta: opts.meta,
      masterKey: masterKeySource(opts),
      chunks: chunkStoreOptions(opts),
      testing: crashHooks(),
      ...storeOpts,
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'BLOB_LOCKED') {
      throw new Error(`the data directory ${opts.data} is in use by a running Coffer server: stop it first`);
    }
    throw err;
  }
  try {
    return await fn(opened.store, opened.keyRing);
  } finally {
    await opened.store.close();
  }
}

const program = new Command('coffer').description(
  'Coffer: an S3-compatible object store that encrypts every object at rest',
);

chunkOptions(
  program
    .command('serve')
    .description('serve the S3 API')
    .option('--data <dir>', 'data directory', SERVER_DEFAULTS.dataDir)
    .option(
      '--meta <url>',
      'metadata in PostgreSQL (postgres://…, shared by several nodes) instead of LevelDB in DATA',
      parseMeta,
    ),
)
  .addOption(
    new Option('--listen <host:port>', 'address to listen on')
      .argParser(parseListen)
      .default(
        { host: SERVER_DEFAULTS.host, port: SERVER_DEFAULTS.port },
        `${SERVER_DEFAULTS.host}:${SERVER_DEFAULTS.port}`,
      ),
  )
  .option('--region <region>', 'region the server answers as', SERVER_DEFAULTS.region)
  .option(
    '--domain <name>',
    'also address buckets as {bucket}.<name> (virtual-hosted style); repeatable',
    parseDomain,
    [] as string[],
  )
  .option('--no-sigv2', 'refuse AWS Signature Version 2 (header, presigned URLs, POST forms): SigV4 only')
  .addOption(
    new Option('--default-object-ownership <setting>', 'Object Ownership of buckets created from now on')
      .choices(['BucketOwnerEnforced', 'BucketOwnerPreferred', 'ObjectWriter'])
      .default('BucketOwnerEnforced'),
  )
  .addOption(
    new Option(
      '--default-public-access-block <on|off>',
      'Block Public Access (all four) on buckets created from now on',
    )
      .choices(['on', 'off'])
      .default('on'),
  )
  .option(
    '--master-key-file <file>',
    'keep the master key ring in this file (default: in the metadata, wrapped under DATA/keys/ring.key ' +
      'or COFFER_MASTER_KEY)',
  )
  .option('--tls-cert <file>', 'PEM certificate: serve HTTPS')
  .option('--tls-key <file>', 'PEM private key for --tls-cert')
  .option(
    '--crypto-threads <n>',
    'worker threads for chunk encryption (0: on the request thread)',
    parseCount,
    SERVER_DEFAULTS.cryptoThreads,
  )
  .option('--multipart-max-age <hours>', 'abort multipart uploads older than this many hours', parsePositive, 24 * 7)
  .option('--allow-insecure-sse-c', 'accept SSE-C keys over plain HTTP from any peer (loopback peers always may)')
  .option('--trust-proxy', 'count X-Forwarded-Proto: https from the proxy in front as a secure connection')
  .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'info')
  .option('--lifecycle-interval <seconds>', "how often the buckets' lifecycle rules run", parsePositive, 3600)
  .option(
    '--sweep-grace <seconds>',
    'with --meta: the sweeps leave unreferenced data younger than this (another node may be writing it)',
    parsePositive,
    900,
  )
  .option('--gc-interval <seconds>', 'how often the garbage sweep runs (one node at a time)', parsePositive, 300)
  .option(
    '--garbage-delay <seconds>',
    'keep replaced or deleted data this long for reads still streaming it; longer than the longest GET ' +
      '(default: 900 with --meta, else 0)',
    parseSeconds,
  )
  .option('--metrics-listen <host:port>', 'serve Prometheus metrics (GET /metrics) on this address', parseListen)
  .option(
    '--min-free-space <size>',
    'refuse new data (507) below this much free space: bytes, 512MiB, 1GiB or 5% ' +
      '(default: 256MiB, at most 10% of the file system)',
    parseMinFree,
  )
  .action(async (opts) => {
    // Streaming objects allocates ~1–2 MiB of short-lived Buffers per MiB served, while the live heap stays small
    // (~14 MB). With V8's default growth the old-generation limit sits so close to the heap (29 MB, its slack no
    // bigger than the young generation) that incremental marking restarts every ~15 MiB of traffic: ~75 full GCs
    // for 1.5 GiB moved, up to 40 % of the server's CPU on GET. A larger growth factor for the limit cuts that to
    // ~15 for ~20 MiB more peak RSS. Only with inline crypto: the flag is per process, and every worker isolate of
    // the pool would keep its own extra garbage (+25 MiB with one worker). Measured in benchmarks/README.md. The
    // process is ours (the CLI), so the CLI sets it; a library never would.
    if (opts.cryptoThreads === 0) setFlagsFromString('--heap-growing-percent=250');
    const { default: pino } = await import('pino');
    // Never pino.destination(): it writes synchronously, and a log on a full disk then stalls every request.
    const sink = new LogSink(2);
    const logger = pino({ level: opts.logLevel }, sink);
    const accessKey = process.env.COFFER_ACCESS_KEY;
    const secretKey = process.env.COFFER_SECRET_KEY;
    if (!!accessKey !== !!secretKey)
      throw new InvalidArgumentError('set both COFFER_ACCESS_KEY and COFFER_SECRET_KEY, or neither');
    if (!!opts.tlsCert !== !!opts.tlsKey) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
    const server = await CofferServer.start({
      dataDir: opts.data,
      meta: opts.meta,
      chunks: chunkStoreOptions(opts),
      host: opts.listen.host,
      port: opts.listen.port,
      region: opts.region,
      domains: opts.domain,
      sigV2: opts.sigv2,
      defaultObjectOwnership: opts.defaultObjectOwnership,
      defaultPublicAccessBlock: opts.defaultPublicAccessBlock === 'on',
      masterKey: masterKeySource(opts),
      root: accessKey && secretKey ? { accessKey, secretKey } : undefined,
      onGeneratedRoot: (pair) => {
        process.stdout.write(
          `Generated root credentials (shown only this once; keep them):\n  access key: ${pair.accessKey}\n  secret key: ${pair.secretKey}\n`,
        );
      },
      tls: opts.tlsCert ? { cert: opts.tlsCert, key: opts.tlsKey } : undefined,
      cryptoThreads: opts.cryptoThreads,
      multipartMaxUploadAgeMs: opts.multipartMaxAge * 3_600_000,
      allowInsecureSseC: opts.allowInsecureSseC ?? false,
      trustProxy: opts.trustProxy ?? false,
      shutdownTimeoutMs: SERVER_DEFAULTS.shutdownTimeoutMs,
      logger,
      metricsListen: opts.metricsListen,
      lifecycleIntervalMs: opts.lifecycleInterval * 1000,
      sweepGraceMs: Math.round(opts.sweepGrace * 1000),
      gcIntervalMs: opts.gcInterval * 1000,
      garbageDelayMs: opts.garbageDelay,
      minFreeSpace: opts.minFreeSpace,
      logDropped: () => sink.dropped,
      testing: crashHooks(),
    });
    // Handlers go in before the listening line: a supervisor may signal as soon as it reads it.
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      // A store that cannot close (a disk write that never returns) must not keep the process alive: requests get
      // the shutdown timeout, the store as long again.
      setTimeout(() => process.exit(1), 2 * SERVER_DEFAULTS.shutdownTimeoutMs).unref();
      const exit = (code: number) => void sink.flush(1000).then(() => process.exit(code));
      server.close().then(
        () => exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          exit(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    // An IPv6 address goes in brackets in a URL.
    const hostPort = ({ address, port }: { address: string; port: number }) =>
      `${address.includes(':') ? `[${address}]` : address}:${port}`;
    if (server.metricsAddress)
      process.stdout.write(`coffer metrics on http://${hostPort(server.metricsAddress)}/metrics\n`);
    process.stdout.write(`coffer listening on ${opts.tlsCert ? 'https' : 'http'}://${hostPort(server.address)}\n`);
  });

const user = program.command('user').description('manage users of a stopped data directory');
const dataOptions = (cmd: Command) =>
  chunkOptions(
    cmd
      .option('--data <dir>', 'data directory', SERVER_DEFAULTS.dataDir)
      .option('--meta <url>', 'metadata in PostgreSQL (postgres://…) instead of LevelDB in DATA', parseMeta)
      .option('--master-key-file <file>', 'master key ring file (default: the ring in the metadata)'),
  );

dataOptions(user.command('add').description('add a user'))
  .requiredOption('--access-key <key>', 'access key ID')
  .requiredOption('--secret-key <key>', 'secret access key')
  .requiredOption('--name <name>', 'display name')
  .option('--policy <file|builtin>', 'user policy: a JSON file, or readwrite, readonly, writeonly')
  .action(async (opts) => {
    const policy = opts.policy === undefined ? undefined : await policySource(opts.policy);
    const added = await withUsers(opts, (users) =>
      users.add({ accessKey: opts.accessKey, secretKey: opts.secretKey, name: opts.name, policy }),
    );
    const arn = arnOf(added);
    process.stdout.write(`added user ${added.name} (access key ${added.accessKey}, id ${added.id}, ${arn})\n`);
  });

dataOptions(user.command('list').description('list users')).action(async (opts) => {
  const list = await withUsers(opts, async (users) => users.list());
  for (const u of list) process.stdout.write(`${u.accessKey}\t${u.name}\t${u.id}${u.root ? '\troot' : ''}\n`);
});

dataOptions(user.command('remove').description('remove a user by access key or name'))
  .argument('[who]', 'access key or name')
  .option('--access-key <key>', 'access key ID')
  .action(async (who, opts) => {
    const target = opts.accessKey ?? who;
    if (!target) throw new InvalidArgumentError('name the user: --access-key KEY or a name');
    const removed = await withUsers(opts, (users) => users.remove(target));
    process.stdout.write(`removed user ${removed.name} (access key ${removed.accessKey})\n`);
  });

/** A `--policy` argument as the registry stores it: a built-in policy's name, or the text of the file it names. */
async function policySource(arg: string): Promise<string> {
  return isBuiltinPolicy(arg) ? arg : readFile(arg, 'utf8');
}

const policy = user.command('policy').description("set, show or clear a user's policy");
dataOptions(policy.command('set').description('set the user policy (a JSON file, or readwrite, readonly, writeonly)'))
  .argument('<user>', 'access key or name')
  .argument('<policy>', 'a JSON policy file, or readwrite, readonly, writeonly')
  .action(async (who: string, arg: string, opts) => {
    const source = await policySource(arg);
    const updated = await withUsers(opts, (users) => users.setPolicy(who, source));
    process.stdout.write(`set the policy of user ${updated.name}\n`);
  });

dataOptions(policy.command('show').description('print the user policy (a built-in name or the document)'))
  .argument('<user>', 'access key or name')
  .action(async (who: string, opts) => {
    const found = await withUsers(opts, async (users) =>
      users.list().find((u) => u.accessKey === who || u.name === who),
    );
    if (!found) throw new InvalidArgumentError(`no user with access key or name ${who}`);
    process.stdout.write(found.policySource === undefined ? 'no policy\n' : `${found.policySource.trimEnd()}\n`);
  });

dataOptions(policy.command('clear').description('remove the user policy (the user keeps full control of its buckets)'))
  .argument('<user>', 'access key or name')
  .action(async (who: string, opts) => {
    const updated = await withUsers(opts, (users) => users.setPolicy(who, undefined));
    process.stdout.write(`cleared the policy of user ${updated.name}\n`);
  });

const keys = program.command('keys').description('master key ring');
dataOptions(keys.command('list').description('list master key IDs (never the keys)')).action(async (opts) => {
  const ring = await withStore(opts, async (_store, keyRing) => keyRing);
  for (const id of ring.ids()) process.stdout.write(`${id}${id === ring.activeId ? '\tactive' : ''}\n`);
});

dataOptions(
  keys.command('rotate').description('add a new active master key and re-wrap every SSE-S3 data key (resumable)'),
).action(async (opts) => {
  const bar = new SingleBar(
    {
      format: 're-wrapping data keys [{bar}] {value}/{total} objects',
      hideCursor: true,
      noTTYOutput: true,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  let started = false;
  const result = await withStore(opts, (store, ring) =>
    rotateMasterKey(store, ring, {
      // Nodes on the shared metadata read the ring every RING_RELOAD_MS; a loaded one may take a little longer.
      propagationMs: opts.meta && !opts.masterKeyFile ? 2 * RING_RELOAD_MS + 1000 : 0,
      onProgress: ({ scanned, total }) => {
        if (!started) {
          bar.start(total, 0);
          started = true;
        }
        bar.update(Math.min(scanned, total));
      },
    }),
  );
  if (started) bar.stop();
  process.stdout.write(
    `${result.resumed ? 'resumed rotation to' : 'rotated to'} ${result.activeId}: ${result.rewrapped} data keys re-wrapped, ${result.scanned} objects scanned\n`,
  );
});

dataOptions(
  program
    .command('scrub')
    .description('verify every stored object: files present, SSE-S3 data decrypts and authenticates'),
).action(async (opts) => {
  const bar = new SingleBar(
    { format: 'scrubbing [{bar}] {value} objects', hideCursor: true, noTTYOutput: true, stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(0, 0);
  const report = await withStore(opts, (store) => store.scrub({ onProgress: ({ objects }) => bar.update(objects) }));
  bar.stop();
  for (const f of report.failures) process.stdout.write(`FAIL\t${f.bucket}/${f.key}\t${f.code}\t${f.message}\n`);
  process.stdout.write(
    `${report.objects} objects, ${report.bytes} bytes checked (${report.sizeOnly} SSE-C objects by size only), ${report.failures.length} failures\n`,
  );
  if (report.failures.length > 0) process.exitCode = 2;
});

/** What `coffer gc` shows of each phase of the compare. */
const PHASES = { metadata: 'reading references', blobs: 'listing data', objects: 'finding objects' } as const;

dataOptions(
  program
    .command('gc')
    .description(
      'compare the stored data with the metadata: delete data nothing refers to, report data that records refer ' +
        'to but that is missing',
    ),
)
  .option('--dry-run', 'delete nothing: only report what would be deleted')
  .option(
    '--grace <seconds>',
    'keep unreferenced data younger than this: it may be a write in progress on a running node ' +
      '(default: 900 with --meta, else 0)',
    parseSeconds,
  )
  .action(async (opts) => {
    const dryRun = opts.dryRun === true;
    const bar = new SingleBar(
      { format: 'gc: {phase} [{bar}] {value}/{total}', hideCursor: true, noTTYOutput: true, stream: process.stderr },
      Presets.shades_classic,
    );
    let phase: string | undefined;
    const { released, report, tmpFiles } = await withStore(
      opts,
      async (store) => {
        // The garbage list's due entries first: the compare then counts only what is still waiting.
        const released = dryRun ? undefined : await store.collectGarbage();
        const report = await store.gc({
          dryRun,
          graceMs: opts.grace,
          onProgress: (p) => {
            const label = PHASES[p.phase];
            if (phase === undefined) bar.start(0, 0, { phase: label });
            phase = p.phase;
            // A bar where the count to expect is known (the listing: the blobs the metadata names), a count otherwise.
            bar.setTotal(Math.max(p.expected ?? p.done, p.done));
            bar.update(p.done, { phase: label });
          },
        });
        // Temp files of writes cut short (the compare covers the blob files, the sweep finds none left).
        const tmpFiles = dryRun ? 0 : (await store.sweep()).tmpFiles;
        return { released, report, tmpFiles };
      },
      // Not at open: the compare itself finds what the open's sweep would delete, and a dry run deletes nothing.
      { sweepAtOpen: false },
    );
    if (phase !== undefined) bar.stop();
    for (const m of report.missing) {
      const users = m.objects.map((o) => `${o.bucket}/${o.key}`).join('\t') || '(a multipart upload part)';
      process.stdout.write(`MISSING\t${m.blobId}\t${users}\n`);
    }
    for (const id of report.removed) process.stdout.write(`${dryRun ? 'WOULD DELETE' : 'DELETED'}\t${id}\n`);
    process.stdout.write(
      `${report.blobs} blobs (${report.bytes} bytes): ${report.referenced - report.missing.length} referenced, ` +
        `${report.garbage} on the garbage list, ${report.young} younger than the grace, ` +
        `${report.removed.length} unreferenced ${dryRun ? 'would be deleted' : 'deleted'} ` +
        `(${report.removedBytes} bytes)` +
        (released ? `, ${released.removed} released blobs deleted, ${tmpFiles} temp files deleted` : '') +
        `; ${report.missing.length} missing\n`,
    );
    if (report.missing.length > 0) process.exitCode = 2;
  });

const meta = program.command('meta').description('the metadata store');
meta
  .command('migrate')
  .description('copy the metadata of a stopped data directory (LevelDB) into PostgreSQL, verified; resumable')
  .requiredOption('--from <dir>', 'data directory (its server stopped); its chunk files stay there')
  .requiredOption('--to <url>', 'PostgreSQL database (postgres://…) that `coffer serve --meta` will use', parseMeta)
  .option('--force', 'copy into a database that holds keys the data directory does not have, deleting them')
  .action(async (opts) => {
    const bar = new SingleBar(
      {
        format: '{phase} [{bar}] {value}/{total} keys',
        hideCursor: true,
        noTTYOutput: true,
        stream: process.stderr,
      },
      Presets.shades_classic,
    );
    const crash = crashPoint();
    let phase: string | undefined;
    let written = 0;
    const report = await migrateMeta({
      dataDir: opts.from,
      url: opts.to,
      force: opts.force ?? false,
      onProgress: (p) => {
        const label = p.phase === 'copy' ? 'copying  ' : 'verifying';
        if (phase === undefined) bar.start(p.total, 0, { phase: label });
        phase = p.phase;
        bar.update(p.done, { phase: label });
        if (p.written > written) crash?.('migrate-commit');
        written = p.written;
      },
    });
    if (phase !== undefined) bar.stop();
    const v = report.verify;
    const copied =
      `${report.keys} keys, ${report.written} written, ${report.deleted} deleted` + (report.resumed ? ', resumed' : '');
    if (report.verified) {
      process.stdout.write(
        `migrated ${opts.from} to ${redactUrl(opts.to)}: ${copied}; ` +
          `verified: ${v.targetKeys} keys on both sides, ${v.sampled} sampled reads byte-equal\n`,
      );
    } else {
      process.stdout.write(
        `NOT verified: ${copied}; ${v.sourceKeys} keys in the source, ` +
          `${v.targetKeys} in the target, ${v.differing} differing, ${v.sampleDiffering} of ${v.sampled} sampled reads differing; run it again\n`,
      );
      process.exitCode = 2;
    }
  });

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`coffer: ${err.message}\n`);
  process.exit(1);
});
