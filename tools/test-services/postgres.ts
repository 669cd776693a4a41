/**
 * A throw-away PostgreSQL server for tests: its own cluster (`initdb`) in a fresh directory, listening on 127.0.0.1
 * and a free port only, with its unix socket inside that directory; {@link RunningPostgres.stop} stops and removes it.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the server runs as the `postgres` system user
 * (created by Debian's `postgresql` package, see tools/install-test-deps.sh) through `runuser`. The cluster's default
 * collation is ICU `en-US`, as on a typical production server: a schema that relies on the default collation instead
 * of `COLLATE "C"` or `bytea` lists keys out of byte order here too, and its tests fail.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { cleanupOnExit, freePort, run } from './processes.ts';

/** Debian keeps the server programs off PATH, under the major version. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';

/** The unprivileged system user the server runs as when the tests run as root. */
const PG_OS_USER = 'postgres';

/** The cluster's superuser; it logs in only through the unix socket (trust), never over TCP. */
const SUPERUSER = 'postgres';

/** The role and database the returned URL names. */
const ROLE = 'coffer';

/** Attempts at binding a free port; another process may take the port between our probe and the server's bind. */
const PORT_ATTEMPTS = 5;

/** Options of {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Create the cluster in this (new or empty) directory instead of a fresh temp directory. */
  dir?: string;
  /**
   * Leave the server running when this process exits (for tools/dev-cluster.sh). By default a server not yet
   * stopped is stopped and its directory removed when the process exits.
   */
  keepAfterExit?: boolean;
}

/** A running throw-away PostgreSQL server. */
export interface RunningPostgres {
  /** `postgres://coffer:PASSWORD@127.0.0.1:PORT/coffer`: a non-superuser role with a password, owning its database. */
  url: string;
  /** The TCP port on 127.0.0.1. */
  port: number;
  /** The directory holding the cluster (`data/`), its socket, its log (`postgres.log`) and `state.json`. */
  dir: string;
  /** Creates another empty database owned by the same role and returns its URL (for tests that need a clean slate). */
  createDatabase(name?: string): Promise<string>;
  /**
   * Stops the server only, keeping its data: `fast` rolls back open transactions and checkpoints; `immediate` is a
   * crash (no checkpoint; committed transactions survive through WAL replay at the next start).
   */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the server again on the same directory and port. */
  startServer(): Promise<void>;
  /** {@link stopServer} then {@link startServer}: clients see their connections closed and may reconnect. */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops exactly this server (by its data directory) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** What `state.json` records, so that {@link attachPostgres} can find a server started by another process. */
interface PostgresState {
  url: string;
  port: number;
}

const isRoot = process.getuid?.() === 0;

/** argv that runs `program` as the unprivileged user when we are root (PostgreSQL refuses root). */
function asPgUser(program: string, args: readonly string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', PG_OS_USER, '--', program, ...args]] : [program, [...args]];
}

function pgCtl(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const [file, argv] = asPgUser(join(PG_BIN, 'pg_ctl'), args);
  return run(file, argv, { timeoutMs });
}

/** Starts a fresh throw-away server and resolves once it accepts connections for the returned URL. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'coffer-pg-')));
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o700);
  await chownToPgUser(dir);
  const data = join(dir, 'data');
  const handle = makeHandle(dir, { url: '', port: 0 }, opts.keepAfterExit ?? false);
  try {
    // a copy of a cluster made once per machine: initdb takes seconds, a copy a fraction of one
    await run('cp', ['-a', await templateCluster(), data]);
    const port = await startOnFreePort(dir);
    const password = randomBytes(18).toString('base64url');
    await superuserQuery(dir, port, [
      `CREATE ROLE ${ROLE} LOGIN PASSWORD '${password}'`,
      `CREATE DATABASE ${ROLE} OWNER ${ROLE}`,
    ]);
    const state: PostgresState = { url: `postgres://${ROLE}:${password}@127.0.0.1:${port}/${ROLE}`, port };
    await writeFile(join(dir, 'state.json'), JSON.stringify(state), { mode: 0o600 });
    Object.assign(handle, state);
    return handle;
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

/** initdb's arguments; the template's name hashes them, so that a change makes a new template. */
const INITDB_ARGS = [
  '--username',
  SUPERUSER,
  '--auth-local',
  'trust',
  '--auth-host',
  'scram-sha-256',
  '--encoding',
  'UTF8',
  '--locale',
  'C.UTF-8',
  '--locale-provider',
  'icu',
  '--icu-locale',
  'en-US',
  '--no-sync',
];

/**
 * Returns the data directory of a pristine cluster under os.tmpdir(), made by initdb on first use. Test files that
 * race to make it each build their own and rename it into place: the first rename wins and the others use it.
 */
async function templateCluster(): Promise<string> {
  const key = createHash('sha256')
    .update(JSON.stringify([PG_BIN, INITDB_ARGS]))
    .digest('hex')
    .slice(0, 16);
  const template = join(tmpdir(), `coffer-pg-template-${key}`);
  if (existsSync(join(template, 'PG_VERSION'))) return template;
  const staging = await mkdtemp(join(tmpdir(), 'coffer-pg-staging-'));
  try {
    await chownToPgUser(staging);
    const [file, argv] = asPgUser(join(PG_BIN, 'initdb'), ['--pgdata', join(staging, 'data'), ...INITDB_ARGS]);
    await run(file, argv);
    await rename(join(staging, 'data'), template).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return template;
}

/** Gives `dir` to the unprivileged user the server runs as (a no-op unless we are root). */
async function chownToPgUser(dir: string): Promise<void> {
  if (!isRoot) return;
  const uid = Number(await run('id', ['-u', PG_OS_USER]));
  const gid = Number(await run('id', ['-g', PG_OS_USER]));
  await chown(dir, uid, gid);
}

/** Reattaches to a server that {@link startPostgres} started in `dir` (possibly from another process). */
export async function attachPostgres(dir: string): Promise<RunningPostgres> {
  const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as PostgresState;
  return makeHandle(dir, state, true);
}

/** True when the server of `dir` runs (`pg_ctl status` reads its postmaster.pid and checks the process). */
export async function postgresRunning(dir: string): Promise<boolean> {
  return pgCtl(['status', '--pgdata', join(dir, 'data')]).then(
    () => true,
    () => false,
  );
}

/**
 * Writes the listen settings for a free port and starts the server, retrying on another port when the one we chose
 * was taken meanwhile.
 */
async function startOnFreePort(dir: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    await writeFile(join(dir, 'data', 'postgresql.auto.conf'), settings(dir, port));
    try {
      await startServerIn(dir);
      return port;
    } catch (err) {
      const log = await readFile(join(dir, 'postgres.log'), 'utf8').catch(() => '');
      if (attempt >= PORT_ATTEMPTS || !/could not bind|Address already in use/.test(log)) throw err;
    }
  }
}

/** Server settings: loopback and our own socket only; durability traded for speed (fsync) but never for correctness. */
function settings(dir: string, port: number): string {
  return [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    // fsync off only skips flushing to disk; every commit is still written to the WAL before it returns
    // (synchronous_commit stays on), so an `immediate` stop (a crash of the server, not of the machine) loses nothing
    `fsync = off`,
    `full_page_writes = off`,
    `shared_buffers = '32MB'`,
    `max_connections = 200`,
    `log_line_prefix = '%m [%p] '`,
    '',
  ].join('\n');
}

async function startServerIn(dir: string): Promise<void> {
  const log = join(dir, 'postgres.log');
  await pgCtl(['start', '--pgdata', join(dir, 'data'), '--log', log, '--wait', '--timeout', '60']);
}

/** Runs statements as the superuser through the unix socket (trust), so that no password appears in any argv. */
async function superuserQuery(dir: string, port: number, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ host: dir, port, user: SUPERUSER, database: 'postgres' });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

function makeHandle(dir: string, state: PostgresState, keepAfterExit: boolean): RunningPostgres {
  const data = join(dir, 'data');
  let stopped = false;
  const unregister = keepAfterExit
    ? () => false
    : cleanupOnExit(() => {
        const [file, argv] = asPgUser(join(PG_BIN, 'pg_ctl'), ['stop', '--pgdata', data, '--mode', 'immediate']);
        try {
          execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
        } finally {
          execFileSync('rm', ['-rf', dir]);
        }
      });
  const handle: RunningPostgres = {
    ...state,
    dir,
    async createDatabase(name = `db_${randomBytes(6).toString('hex')}`) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`database name must match [a-z_][a-z0-9_]*: ${name}`);
      await superuserQuery(dir, handle.port, [`CREATE DATABASE ${name} OWNER ${ROLE}`]);
      const url = new URL(handle.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stopServer(mode = 'fast') {
      await pgCtl(['stop', '--pgdata', data, '--mode', mode, '--wait', '--timeout', '60']);
    },
    startServer: () => startServerIn(dir),
    async restart(mode = 'fast') {
      await handle.stopServer(mode);
      await handle.startServer();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (await postgresRunning(dir)) await handle.stopServer('immediate');
      await rm(dir, { recursive: true, force: true });
      unregister();
    },
  };
  return handle;
}
