import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { KvError } from './errors.ts';
import { keyBuf, keyStr, strRange } from './keys.ts';
import {
  GET,
  PgTx,
  Session,
  StaleCache,
  checkCached,
  queueWrites,
  remember,
  scanRows,
  type GroupState,
} from './pg-group.ts';
import { RecentMap } from './recent.ts';
import type { KvEngine, KvEntry, KvKey, KvRange, KvStats, KvTransaction, TransactOptions } from './types.ts';

/** Options of {@link PgEngine.open}. */
export interface PgEngineOptions {
  /** Connections in the pool of this process. Default 10. */
  poolSize?: number;
  /** Runs of a transaction that keeps conflicting before it fails with `KV_CONFLICT`. Default 100. */
  maxAttempts?: number;
  /** Rows fetched per query of a scan. Default 256. */
  scanPage?: number;
  /** Most transactions of this process committed together in one PostgreSQL transaction. Default 256. */
  maxGroup?: number;
  /**
   * Keys whose last committed value seen by this process is kept, so that a transaction's point read of one costs no
   * round trip (it is checked against the database, for all of a group's cached reads at once, before COMMIT).
   * Default 4096; 0: every read goes to the database.
   */
  cacheSize?: number;
}

const DEFAULTS = Object.freeze({ poolSize: 10, maxAttempts: 100, scanPage: 256, maxGroup: 256, cacheSize: 4096 });

/**
 * The schema, one migration per version, applied in order on open (inside one transaction, with the version row).
 * Portable SQL only, so that CockroachDB or YugabyteDB can take over: `bytea` keys compared with range predicates
 * (never LIKE), no sequences, advisory locks or LISTEN/NOTIFY. `ASC` is the primary key's order where the database
 * takes one (YugabyteDB hash-shards the first column otherwise, and a range scan would visit every tablet);
 * PostgreSQL refuses the word there, and its B-tree is ascending anyway.
 */
const MIGRATIONS: readonly ((asc: string) => readonly string[])[] = [
  (asc) => [`CREATE TABLE coffer_kv (k bytea NOT NULL, v bytea NOT NULL, PRIMARY KEY (k${asc}))`],
];

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** SQLSTATEs after which the whole transaction is run again: serialization failure, deadlock. */
const RETRY = new Set(['40001', '40P01']);
/**
 * SQLSTATEs of a racing `CREATE … IF NOT EXISTS` when several nodes start on a new database: the catalog's unique
 * index (23505), the table or its row type made meanwhile (42P07, 42710). The migration is run again.
 */
const CREATE_RACE = new Set(['23505', '42P07', '42710']);
/** SQLSTATEs of a server going away (admin/crash shutdown, cannot connect now) and classes 08 (connection). */
const GONE = new Set(['57P01', '57P02', '57P03']);

/** True for a serialization failure or a deadlock: the transaction is run again. */
function isRetryable(err: unknown): boolean {
  return RETRY.has(sqlState(err) ?? '');
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True for an error of the connection rather than of a statement (refused, reset, terminated, shut down). */
function isConnectionError(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return GONE.has(state) || state.startsWith('08');
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, EPIPE, …
  return (
    err instanceof Error &&
    /Connection terminated|Client has encountered a connection error|not queryable/i.test(err.message)
  );
}

/** A transaction waiting for its group. */
interface Job {
  fn: (tx: KvTransaction) => unknown;
  signal: AbortSignal | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** What a member's callback came to, told to its caller once the group has committed. */
type Outcome = { job: Job; ok: true; value: unknown } | { job: Job; ok: false; err: unknown };

/**
 * The engine for several nodes: one table in PostgreSQL (`coffer_kv`, `bytea` keys in byte order), reached through a
 * `pg` pool. Every transaction runs SERIALIZABLE and is run again on a serialization failure or deadlock, so the
 * read-check-write of a callback is atomic across every node on the same database (the trap of READ COMMITTED,
 * `SELECT … FOR UPDATE` on a row that does not exist yet locking nothing, cannot happen). A lost connection gives
 * `KV_UNAVAILABLE` (the commit may or may not have happened when the connection went during COMMIT; PostgreSQL's
 * atomicity means it happened wholly or not at all).
 *
 * Group commit, as in the LevelDB engine: the transactions of this process that arrive while one PostgreSQL
 * transaction runs all go into the next one. Its members are evaluated one at a time, in arrival order, each against
 * the database plus the writes of the members before it, so they never conflict with each other; their writes are
 * sent at the end as one DELETE and one upsert, and a member's promise settles only once COMMIT has returned. Run
 * concurrently instead, the transactions of one node conflicted with each other all the time: PostgreSQL's SSI locks
 * the B-tree page a point read visits, so on a table of a few pages every PUT read a page the others wrote (measured:
 * 5 serialization failures per committed PUT, ~40 PUT/s). A conflict with another node runs the whole group again; a
 * member whose callback throws leaves the others unaffected.
 */
export class PgEngine implements KvEngine {
  readonly kind = 'postgres';
  /** PostgreSQL recovers by itself; a failed transaction leaves nothing to repair here. */
  readonly recovering = false;
  readonly #pool: pg.Pool;
  readonly #opts: Required<PgEngineOptions>;
  readonly #stats: KvStats = { transactions: 0, commits: 0, retries: 0 };
  /** The committed values this process last saw, by key: guesses that a group checks before COMMIT. */
  readonly #cache: RecentMap<Buffer | null>;
  #queue: Job[] = [];
  /** The connection the groups run on, while it works. */
  #conn: pg.PoolClient | undefined;
  /** The group being run, if any: one at a time. */
  #group: Promise<void> | undefined;
  #closed = false;

  private constructor(pool: pg.Pool, opts: Required<PgEngineOptions>) {
    this.#pool = pool;
    this.#opts = opts;
    this.#cache = new RecentMap(opts.cacheSize);
  }

  /** Connects to `url` (`postgres://user:pass@host:port/db`), creates or migrates the schema, and returns the engine. */
  static async open(url: string, options: PgEngineOptions = {}): Promise<PgEngine> {
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url))
      throw new TypeError('url must be a postgres:// URL');
    const opts = { ...DEFAULTS, ...options };
    for (const name of ['poolSize', 'maxAttempts', 'scanPage', 'maxGroup'] as const) {
      if (!Number.isInteger(opts[name]) || opts[name] < 1)
        throw new RangeError(`options.${name} must be a positive whole number`);
    }
    if (!Number.isInteger(opts.cacheSize) || opts.cacheSize < 0)
      throw new RangeError('options.cacheSize must be a whole number');
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize });
    // An idle client whose server went away emits 'error' on the pool; unhandled, it would end the process. The
    // next query on a new connection reports the outage where it matters.
    pool.on('error', () => {});
    const engine = new PgEngine(pool, opts);
    try {
      await engine.#migrate();
    } catch (err) {
      await engine.close().catch(() => {});
      throw err;
    }
    return engine;
  }

  async #migrate(): Promise<void> {
    await this.#retrying(async () => {
      await this.#pool.query(
        'CREATE TABLE IF NOT EXISTS coffer_schema (id int NOT NULL PRIMARY KEY, version int NOT NULL)',
      );
    }, CREATE_RACE);
    await this.#retrying(
      () =>
        this.#inTransaction(async (session) => {
          const { rows } = await session.query<{ version: number }>({
            text: 'SELECT version FROM coffer_schema WHERE id = 1',
          });
          const version = rows[0]?.version ?? 0;
          if (version > PG_SCHEMA_VERSION) {
            throw new KvError(
              'KV_SCHEMA',
              `the database has schema version ${version}; this Coffer knows up to ${PG_SCHEMA_VERSION}`,
            );
          }
          const {
            rows: [about],
          } = await session.query<{ version: string }>({ text: 'SELECT version()' });
          const asc = /YugabyteDB|CockroachDB/.test(about?.version ?? '') ? ' ASC' : '';
          for (let v = version; v < PG_SCHEMA_VERSION; v++)
            for (const text of MIGRATIONS[v]!(asc)) await session.query({ text });
          await session.query({
            text: 'INSERT INTO coffer_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version',
            values: [PG_SCHEMA_VERSION],
          });
        }),
      CREATE_RACE,
    );
  }

  async get(key: KvKey): Promise<Buffer | undefined> {
    const k = keyBuf(keyStr(key));
    this.#checkOpen();
    const { rows } = await this.#query(() =>
      this.#pool.query<{ v: Buffer }>({ name: 'coffer_get', text: GET, values: [k] }),
    );
    return rows[0]?.v;
  }

  scan(range: KvRange): AsyncIterable<KvEntry> {
    const r = strRange(range);
    this.#checkOpen();
    const pool = this.#pool;
    const page = this.#opts.scanPage;
    const wrap = (p: Promise<unknown>) => this.#query(() => p);
    return (async function* () {
      const it = scanRows({ query: (q) => pool.query(q) }, r, page);
      for (;;) {
        const next = (await wrap(it.next())) as IteratorResult<KvEntry>;
        if (next.done) return;
        yield next.value;
      }
    })();
  }

  transact<T>(fn: (tx: KvTransaction) => Promise<T> | T, opts: TransactOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    return new Promise<T>((resolve, reject) => {
      this.#checkOpen();
      this.#queue.push({ fn, signal: opts.signal, resolve: resolve as (v: unknown) => void, reject });
      this.#next();
    });
  }

  /** Starts the next group unless one runs; each group starts the next when it is done. */
  #next(): void {
    if (this.#group || this.#queue.length === 0) return;
    const jobs = this.#queue.splice(0, this.#opts.maxGroup);
    this.#group = this.#commitGroup(jobs).finally(() => {
      this.#group = undefined;
      this.#next();
    });
  }

  /** Runs a group to its end and settles every member; never rejects. */
  async #commitGroup(jobs: Job[]): Promise<void> {
    let members = jobs;
    try {
      const outcomes = await this.#retrying(async () => {
        members = members.filter((job) => {
          if (job.signal?.aborted) job.reject(job.signal.reason);
          return !job.signal?.aborted;
        });
        if (members.length === 0) return [];
        const group: GroupState = { writes: new Map(), reads: new Map() };
        let outcomes: Outcome[];
        try {
          outcomes = await this.#inTransaction((session) => this.#evaluate(session, members, group));
        } catch (err) {
          // What the group read may be what another node has changed: the next run reads it from the database. (A
          // stale cache has just been refreshed by the check that found it stale.)
          if (!(err instanceof StaleCache)) for (const k of group.reads.keys()) this.#cache.delete(k);
          throw err;
        }
        for (const [k, v] of group.writes) remember(this.#cache, k, v);
        return outcomes;
      });
      if (outcomes.length > 0) this.#stats.commits++;
      for (const o of outcomes) {
        if (o.ok) {
          this.#stats.transactions++;
          o.job.resolve(o.value);
        } else o.job.reject(o.err);
      }
    } catch (err) {
      for (const job of members) job.reject(err);
    }
  }

  /**
   * Runs the members' callbacks one after the other in `session`, checks their cached reads and queues their writes
   * for the commit.
   */
  async #evaluate(session: Session, jobs: readonly Job[], group: GroupState): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const job of jobs) {
      const tx = new PgTx(session, this.#opts.scanPage, group, this.#cache);
      let outcome: Outcome;
      try {
        outcome = { job, ok: true, value: await job.fn(tx) };
      } catch (err) {
        outcome = { job, ok: false, err };
      }
      tx.end(outcome.ok && tx.dbError === undefined);
      // PostgreSQL takes no more statements in this transaction: the group runs again (a conflict), or all of it
      // fails (KV_UNAVAILABLE for a lost connection; any other error of a statement is a fault of this code).
      if (tx.dbError !== undefined) throw tx.dbError;
      outcomes.push(outcome);
    }
    // The cache is only ever a guess, checked here: a failure anywhere (even a COMMIT that was lost on the way but
    // happened) leaves nothing in it to repair.
    await checkCached(session, group, this.#cache);
    queueWrites(session, group.writes);
    return outcomes;
  }

  /** Counters since the engine was opened. */
  stats(): KvStats {
    return { ...this.#stats };
  }

  /**
   * Runs `work` in a SERIALIZABLE transaction and commits it (once: see {@link #retrying}). Groups run one at a
   * time, so they keep one connection of the pool; a connection that failed is given back broken and replaced.
   */
  async #inTransaction<T>(work: (session: Session) => Promise<T>): Promise<T> {
    this.#checkOpen();
    this.#conn ??= await this.#query(() => this.#pool.connect());
    const client = this.#conn;
    // A checked-out client whose server goes away emits 'error' besides failing its query; unhandled, that event
    // would end the process. The failing query is what reports it.
    if (!client.listenerCount('error')) client.on('error', () => {});
    const session = new Session(client);
    let broken: unknown;
    try {
      const result = await work(session);
      await session.commit();
      return result;
    } catch (err) {
      if (session.begun) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e;
        });
      }
      if (isConnectionError(err)) {
        broken = err;
        throw new KvError('KV_UNAVAILABLE', 'the metadata database cannot be reached', { cause: err });
      }
      throw err;
    } finally {
      if (broken !== undefined) {
        this.#conn = undefined;
        client.release(broken instanceof Error ? broken : true);
      }
    }
  }

  /**
   * Runs `attempt` until it does not fail with a conflict (or one of `alsoRetry`), with a short random backoff
   * between runs; each run again is counted in {@link stats}.
   */
  async #retrying<T>(attempt: () => Promise<T>, alsoRetry?: ReadonlySet<string>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        const stale = err instanceof StaleCache;
        if (!(stale || isRetryable(err) || alsoRetry?.has(sqlState(err) ?? ''))) throw err;
        if (i >= this.#opts.maxAttempts) {
          throw new KvError('KV_CONFLICT', `a metadata transaction conflicted ${i} times`, { cause: err });
        }
        this.#stats.retries++;
        // A stale cache is fixed already (the values just read are in it); a conflict waits for the other side.
        if (!stale) await sleep(Math.random() * Math.min(100, 2 ** i));
      }
    }
  }

  /** Runs one query (or connect), turning a lost connection into `KV_UNAVAILABLE`. */
  async #query<T>(q: () => Promise<T>): Promise<T> {
    try {
      return await q();
    } catch (err) {
      if (isConnectionError(err))
        throw new KvError('KV_UNAVAILABLE', 'the metadata database cannot be reached', { cause: err });
      throw err;
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new KvError('KV_CLOSED', 'the metadata engine is closed');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Transactions already queued still commit.
    while (this.#group) await this.#group;
    this.#conn?.release();
    this.#conn = undefined;
    await this.#pool.end();
  }
}
