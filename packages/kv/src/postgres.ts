import { setTimeout as sleep } from 'node:timers/promises';

import pg from 'pg';

import { KvError } from './errors.ts';
import { keyBuf, keyStr, strRange, valueBuf, type StrRange } from './keys.ts';
import { mergeScan, type WriteMap } from './overlay.ts';
import type { KvEngine, KvEntry, KvKey, KvRange, KvTransaction, TransactOptions } from './types.ts';

/** Options of {@link PgEngine.open}. */
export interface PgEngineOptions {
  /** Connections in the pool of this process. Default 10. */
  poolSize?: number;
  /** Runs of a transaction that keeps conflicting before it fails with `KV_CONFLICT`. Default 100. */
  maxAttempts?: number;
  /** Rows fetched per query of a scan. Default 256. */
  scanPage?: number;
}

const DEFAULTS = Object.freeze({ poolSize: 10, maxAttempts: 100, scanPage: 256 });

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

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Committed rows in a range, page by page, through `db` (a pooled query or a transaction's client). */
async function* scanRows(db: Queryable, r: StrRange, page: number): AsyncGenerator<KvEntry> {
  let left = r.limit;
  let lower: { op: '>' | '>='; key: Buffer } | undefined =
    r.gt !== undefined
      ? { op: '>', key: keyBuf(r.gt) }
      : r.gte !== undefined
        ? { op: '>=', key: keyBuf(r.gte) }
        : undefined;
  const upper =
    r.lt !== undefined
      ? { op: '<', key: keyBuf(r.lt) }
      : r.lte !== undefined
        ? { op: '<=', key: keyBuf(r.lte) }
        : undefined;
  while (left > 0) {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const b of [lower, upper]) {
      if (!b) continue;
      params.push(b.key);
      where.push(`k ${b.op} $${params.length}`);
    }
    const n = Math.min(page, left);
    params.push(n);
    const sql = `SELECT k, v FROM coffer_kv ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY k ASC LIMIT $${params.length}`;
    const { rows } = await db.query<{ k: Buffer; v: Buffer }>(sql, params);
    for (const row of rows) yield { key: row.k, value: row.v };
    left -= rows.length;
    if (rows.length < n) return;
    lower = { op: '>', key: rows[rows.length - 1]!.k };
  }
}

/** A transaction on one pooled connection: reads go to PostgreSQL through the overlay of its own writes. */
class PgTx implements KvTransaction {
  readonly own: WriteMap = new Map();
  constructor(
    readonly client: pg.PoolClient,
    readonly page: number,
  ) {}

  async get(key: KvKey): Promise<Buffer | undefined> {
    const k = keyStr(key);
    if (this.own.has(k)) return this.own.get(k) ?? undefined;
    const { rows } = await this.client.query<{ v: Buffer }>('SELECT v FROM coffer_kv WHERE k = $1', [keyBuf(k)]);
    return rows[0]?.v;
  }

  scan(range: KvRange): AsyncIterable<KvEntry> {
    return mergeScan([this.own], strRange(range), (r) => scanRows(this.client, r, this.page));
  }

  set(key: KvKey, value: Uint8Array): void {
    this.own.set(keyStr(key), valueBuf(value));
  }

  delete(key: KvKey): void {
    this.own.set(keyStr(key), null);
  }

  /** Sends the buffered writes: one DELETE and one upsert, whatever their number. */
  async flush(): Promise<void> {
    const dels: Buffer[] = [];
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (const [k, v] of this.own) {
      if (v === null) dels.push(keyBuf(k));
      else {
        keys.push(keyBuf(k));
        values.push(v);
      }
    }
    if (dels.length > 0) await this.client.query('DELETE FROM coffer_kv WHERE k = ANY($1::bytea[])', [dels]);
    if (keys.length > 0) {
      await this.client.query(
        'INSERT INTO coffer_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v',
        [keys, values],
      );
    }
  }
}

/**
 * The engine for several nodes: one table in PostgreSQL (`coffer_kv`, `bytea` keys in byte order), reached through a
 * `pg` pool. Every transaction runs SERIALIZABLE and is run again on a serialization failure or deadlock, so the
 * read-check-write of a callback is atomic across every node on the same database (the trap of READ COMMITTED,
 * `SELECT … FOR UPDATE` on a row that does not exist yet locking nothing, cannot happen). Writes are buffered and
 * sent at the end, before COMMIT. A lost connection gives `KV_UNAVAILABLE` (the commit may or may not have happened
 * when the connection went during COMMIT; PostgreSQL's atomicity means it happened wholly or not at all).
 */
export class PgEngine implements KvEngine {
  readonly kind = 'postgres';
  /** PostgreSQL recovers by itself; a failed transaction leaves nothing to repair here. */
  readonly recovering = false;
  readonly #pool: pg.Pool;
  readonly #opts: Required<PgEngineOptions>;
  #closed = false;

  private constructor(pool: pg.Pool, opts: Required<PgEngineOptions>) {
    this.#pool = pool;
    this.#opts = opts;
  }

  /** Connects to `url` (`postgres://user:pass@host:port/db`), creates or migrates the schema, and returns the engine. */
  static async open(url: string, options: PgEngineOptions = {}): Promise<PgEngine> {
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url))
      throw new TypeError('url must be a postgres:// URL');
    const opts = { ...DEFAULTS, ...options };
    for (const name of ['poolSize', 'maxAttempts', 'scanPage'] as const) {
      if (!Number.isInteger(opts[name]) || opts[name] < 1)
        throw new RangeError(`options.${name} must be a positive whole number`);
    }
    const pool = new pg.Pool({ connectionString: url, max: opts.poolSize });
    // An idle client whose server went away emits 'error' on the pool; unhandled, it would end the process. The
    // next query on a new connection reports the outage where it matters.
    pool.on('error', () => {});
    const engine = new PgEngine(pool, opts);
    try {
      await engine.#migrate();
    } catch (err) {
      await pool.end().catch(() => {});
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
    await this.#run(
      async (client) => {
        const { rows } = await client.query<{ version: number }>('SELECT version FROM coffer_schema WHERE id = 1');
        const version = rows[0]?.version ?? 0;
        if (version > PG_SCHEMA_VERSION) {
          throw new KvError(
            'KV_SCHEMA',
            `the database has schema version ${version}; this Coffer knows up to ${PG_SCHEMA_VERSION}`,
          );
        }
        const {
          rows: [about],
        } = await client.query<{ version: string }>('SELECT version()');
        const asc = /YugabyteDB|CockroachDB/.test(about?.version ?? '') ? ' ASC' : '';
        for (let v = version; v < PG_SCHEMA_VERSION; v++)
          for (const sql of MIGRATIONS[v]!(asc)) await client.query(sql);
        await client.query(
          'INSERT INTO coffer_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version',
          [PG_SCHEMA_VERSION],
        );
      },
      undefined,
      CREATE_RACE,
    );
  }

  async get(key: KvKey): Promise<Buffer | undefined> {
    const k = keyBuf(keyStr(key));
    this.#checkOpen();
    const { rows } = await this.#query(() =>
      this.#pool.query<{ v: Buffer }>('SELECT v FROM coffer_kv WHERE k = $1', [k]),
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
      const it = scanRows(pool, r, page);
      for (;;) {
        const next = (await wrap(it.next())) as IteratorResult<KvEntry>;
        if (next.done) return;
        yield next.value;
      }
    })();
  }

  transact<T>(fn: (tx: KvTransaction) => Promise<T> | T, opts: TransactOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    return this.#run(async (client) => {
      const tx = new PgTx(client, this.#opts.scanPage);
      const result = await fn(tx);
      await tx.flush();
      return result;
    }, opts.signal);
  }

  /** Runs `work` in a SERIALIZABLE transaction on a pooled client, again on conflict. */
  async #run<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    signal?: AbortSignal,
    alsoRetry?: ReadonlySet<string>,
  ): Promise<T> {
    this.#checkOpen();
    return this.#retrying(
      async () => {
        signal?.throwIfAborted();
        const client = await this.#query(() => this.#pool.connect());
        // A checked-out client whose server goes away emits 'error' besides failing its query; unhandled, that event
        // would end the process. The failing query is what reports it.
        if (!client.listenerCount('error')) client.on('error', () => {});
        let broken: unknown;
        try {
          await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
          const result = await work(client);
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch((e: unknown) => {
            broken = e;
          });
          if (isConnectionError(err)) {
            broken = err;
            throw new KvError('KV_UNAVAILABLE', 'the metadata database cannot be reached', { cause: err });
          }
          throw err;
        } finally {
          client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
        }
      },
      alsoRetry,
      signal,
    );
  }

  /** Runs `attempt` until it does not fail with a retryable SQLSTATE, with a short random backoff between runs. */
  async #retrying<T>(attempt: () => Promise<T>, alsoRetry?: ReadonlySet<string>, signal?: AbortSignal): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        const state = sqlState(err);
        if (state === undefined || !(RETRY.has(state) || alsoRetry?.has(state))) throw err;
        if (i >= this.#opts.maxAttempts) {
          throw new KvError('KV_CONFLICT', `a metadata transaction conflicted ${i} times`, { cause: err });
        }
        signal?.throwIfAborted();
        await sleep(Math.random() * Math.min(100, 2 ** i));
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
    await this.#pool.end();
  }
}
