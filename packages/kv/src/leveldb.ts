import { statfs } from 'node:fs/promises';

import { Level } from 'level';

import { KvError } from './errors.ts';
import { keyBuf, keyStr, strRange, type KeyStr, type StrRange } from './keys.ts';
import { MemberWrites, layerGet, mergeScan, type WriteMap } from './overlay.ts';
import { RecentMap } from './recent.ts';
import type { KvEngine, KvEntry, KvKey, KvRange, KvStats, KvTransaction, TransactOptions } from './types.ts';

/** Options of {@link LevelEngine.open}. */
export interface LevelEngineOptions {
  /**
   * Write every batch with `sync: true`, so that a resolved `transact` survives a power loss (LevelDB's default does
   * not). Default true; false only for throw-away stores (tests, benchmarks of what sync costs).
   */
  sync?: boolean;
  /** Recently read or written keys whose committed value is kept in memory. Default 4096. */
  cacheSize?: number;
  /** Most transactions in one group commit (one LevelDB batch). Default 256. */
  maxGroup?: number;
  /**
   * How long a commit waits for its batch to be written, in ms (default 30 000; 0: no bound). A batch still being
   * written then fails its transactions with `KV_UNAVAILABLE`, and the engine takes no write until that write has
   * settled (and, if it failed, the database has been reopened): a stuck disk cannot hold requests forever.
   */
  commitTimeoutMs?: number;
  /**
   * TEST ONLY: wraps every batch write, so that a fault test can fail it before calling the real write (nothing
   * applied) or after (applied, reported failed), or stop the process at either side. Never set it in production.
   */
  batchHook?: (write: () => Promise<void>) => Promise<void>;
}

// The commit timeout is far above a synced batch's usual milliseconds, even on a loaded disk, and short enough for
// a client to retry.
const DEFAULTS = Object.freeze({ sync: true, cacheSize: 4096, maxGroup: 256, commitTimeoutMs: 30_000 });

/** The options after defaults. */
type Resolved = Required<Omit<LevelEngineOptions, 'batchHook'>> & Pick<LevelEngineOptions, 'batchHook'>;

/** Resolves with the outcome of `p`, or 'timeout' after `ms` milliseconds (0: no bound). */
function within(p: Promise<void>, ms: number): Promise<{ ok: true } | { ok: false; err: unknown } | 'timeout'> {
  const outcome = p.then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (ms <= 0) return outcome;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([outcome, late]).finally(() => clearTimeout(timer));
}

/** How long after a failed reopen the next one is tried; transactions meanwhile fail at once. */
const REOPEN_BACKOFF_MS = 1000;
/**
 * Free bytes the database's file system needs before a failed database is reopened: reopening writes what its log
 * holds (up to LevelDB's 4 MiB write buffer) to a new table file and a new manifest. Below it the open database keeps
 * serving reads rather than being closed for an open that would fail.
 */
const REOPEN_MIN_FREE = 8 * 1024 * 1024;

type RawOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/** The writes of one group commit; `parent` is the group whose batch is being written while this one is evaluated. */
interface Group {
  parent: Group | undefined;
  readonly writes: WriteMap;
}

interface Job {
  fn: (tx: KvTransaction) => unknown;
  signal: AbortSignal | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface InFlight {
  group: Group;
  /** Resolves when the group's batch write starts (the group before it is written). */
  started: Promise<void>;
  /** Resolves true once the batch is written, false if it (or the group before it) failed. */
  written: Promise<boolean>;
  done: boolean;
}

/** A FIFO async mutex: group evaluation is serial. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await prev;
      return await fn();
    } finally {
      release();
    }
  }
}

/** One member of a group commit: its own writes over the group's, the group in flight, then the database. */
class LevelTx extends MemberWrites implements KvTransaction {
  constructor(
    readonly engine: LevelEngine,
    readonly group: Group,
  ) {
    super(group.writes);
  }

  #layers(): (WriteMap | undefined)[] {
    return [this.own, this.group.writes, this.group.parent?.writes];
  }

  async get(key: KvKey): Promise<Buffer | undefined> {
    const k = keyStr(key);
    const v = layerGet(this.#layers(), k);
    if (v !== undefined) return v ?? undefined;
    return this.engine.readCommitted(k);
  }

  scan(range: KvRange): AsyncIterable<KvEntry> {
    return mergeScan(this.#layers(), strRange(range), (r) => this.engine.scanStr(r));
  }
}

/**
 * The embedded engine: LevelDB in one directory, for one process (LevelDB's lock file keeps others out).
 *
 * Group commit: transactions that arrive while a synced batch is being written wait, and then all go in the next
 * single synced batch. Each is evaluated alone, in arrival order, against the database plus the writes of the members
 * before it, so transactions are serial (they never conflict) and read-check-write stays atomic; a member whose
 * callback throws leaves the others unaffected. A member's promise settles only after the batch holding its writes is
 * written (synced when durable): this only shares the fsync.
 *
 * Pipelined one deep: while a group's batch is being written, the next group is evaluated against the database plus
 * the writing group's writes; its batch is written only after that one, and fails if that one failed.
 *
 * A failed batch (an I/O error, a full disk) leaves LevelDB's log in a state only a reopen recovers: LevelDB goes on
 * appending after a torn record, and a restart then drops everything after it — writes that were acknowledged. So
 * after a failed batch the engine takes no write until it has closed and reopened the database (recovering its log);
 * it tries that on the next transaction, at most once a second, and meanwhile transactions fail with `KV_IO`.
 */
export class LevelEngine implements KvEngine {
  readonly kind = 'leveldb';
  readonly #location: string;
  readonly #opts: Resolved;
  #db: Level<Buffer, Buffer>;
  readonly #mutex = new Mutex();
  readonly #cache: RecentMap<Buffer | null>;
  readonly #stats: KvStats = { transactions: 0, commits: 0, retries: 0 };
  #queue: Job[] = [];
  #scheduled = false;
  #inflight: InFlight | undefined;
  #arrival: (() => void) | undefined;
  /** Set by a failed batch until the database has been reopened. */
  #broken: KvError | undefined;
  /** A batch write that outlived the commit timeout, until it settles: no reopen and no write meanwhile. */
  #stuck: Promise<unknown> | undefined;
  #lastReopen = 0;
  /** The background retry of the reopen while the engine is broken. */
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(location: string, db: Level<Buffer, Buffer>, opts: Resolved) {
    this.#location = location;
    this.#db = db;
    this.#opts = opts;
    this.#cache = new RecentMap(opts.cacheSize);
  }

  /** Opens (creating if needed) the LevelDB database in `location`. */
  static async open(location: string, options: LevelEngineOptions = {}): Promise<LevelEngine> {
    const opts: Resolved = { ...DEFAULTS, ...options };
    if (typeof opts.sync !== 'boolean') throw new TypeError('options.sync must be a boolean');
    if (!Number.isInteger(opts.commitTimeoutMs) || opts.commitTimeoutMs < 0) {
      throw new RangeError('options.commitTimeoutMs must be a whole number');
    }
    if (opts.batchHook !== undefined && typeof opts.batchHook !== 'function')
      throw new TypeError('options.batchHook must be a function');
    if (!Number.isInteger(opts.cacheSize) || opts.cacheSize < 0)
      throw new RangeError('options.cacheSize must be a whole number');
    if (!Number.isInteger(opts.maxGroup) || opts.maxGroup < 1)
      throw new RangeError('options.maxGroup must be a positive whole number');
    const db = await LevelEngine.#openDb(location);
    return new LevelEngine(location, db, opts);
  }

  static async #openDb(location: string): Promise<Level<Buffer, Buffer>> {
    const db = new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    try {
      await db.open();
    } catch (err) {
      throw new KvError('KV_IO', 'the metadata database could not be opened', { cause: err });
    }
    return db;
  }

  async get(key: KvKey): Promise<Buffer | undefined> {
    const k = keyBuf(keyStr(key));
    this.#checkOpen();
    try {
      return (await this.#db.get(k)) ?? undefined;
    } catch (err) {
      throw new KvError('KV_IO', 'a metadata read failed', { cause: err });
    }
  }

  scan(range: KvRange): AsyncIterable<KvEntry> {
    const r = strRange(range);
    this.#checkOpen();
    return this.scanStr(r);
  }

  /** Committed entries in a range (the base of a transaction's scan). */
  async *scanStr(r: StrRange): AsyncGenerator<KvEntry> {
    if (r.limit === 0) return;
    const b = (k: KeyStr | undefined) => (k === undefined ? undefined : keyBuf(k));
    const opts = { gt: b(r.gt), gte: b(r.gte), lt: b(r.lt), lte: b(r.lte), limit: r.limit === Infinity ? -1 : r.limit };
    for (const k of Object.keys(opts) as (keyof typeof opts)[]) if (opts[k] === undefined) delete opts[k];
    const it = this.#db.iterator(opts);
    try {
      for (;;) {
        const entries = await it.nextv(256);
        if (entries.length === 0) return;
        for (const [key, value] of entries) yield { key, value };
      }
    } catch (err) {
      throw new KvError('KV_IO', 'a metadata scan failed', { cause: err });
    } finally {
      await it.close();
    }
  }

  /**
   * The committed value of a key no batch in flight writes: from the cache, else read synchronously. A group's reads
   * are serial anyway; an asynchronous LevelDB read costs a round trip through the thread pool (measured at 3–4 ms
   * on a loaded 2-core machine), while a small record is almost always in LevelDB's memtable or block cache.
   */
  readCommitted(k: KeyStr): Buffer | undefined {
    let v = this.#cache.get(k);
    if (v === undefined) {
      try {
        v = this.#db.getSync(keyBuf(k)) ?? null;
      } catch (err) {
        throw new KvError('KV_IO', 'a metadata read failed', { cause: err });
      }
      this.#cache.set(k, v);
    }
    return v ?? undefined;
  }

  transact<T>(fn: (tx: KvTransaction) => Promise<T> | T, opts: TransactOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    return new Promise<T>((resolve, reject) => {
      if (this.#closed) throw new KvError('KV_CLOSED', 'the metadata engine is closed');
      this.#queue.push({ fn, signal: opts.signal, resolve: resolve as (v: unknown) => void, reject });
      this.#arrival?.();
      this.#schedule();
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new KvError('KV_CLOSED', 'the metadata engine is closed');
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    void this.#mutex.run(() => this.#flush());
  }

  /** After a failed batch: reopens the database once nothing is in flight; false if it is still broken. */
  async #recover(): Promise<boolean> {
    if (!this.#broken) return true;
    if (this.#stuck) return false;
    await this.#inflight?.written;
    if (Date.now() - this.#lastReopen < REOPEN_BACKOFF_MS) return false;
    this.#lastReopen = Date.now();
    if (!(await this.#roomToReopen())) return false;
    try {
      await this.#db.close();
    } catch {
      // closing a database whose log write failed may fail too; the reopen below decides
    }
    try {
      this.#db = await LevelEngine.#openDb(this.#location);
    } catch (err) {
      this.#broken = new KvError('KV_IO', 'the metadata database could not be reopened after a failed write', {
        cause: err,
      });
      return false;
    }
    this.#cache.clear();
    this.#broken = undefined;
    return true;
  }

  /**
   * Tries the reopen in the background (after `delayMs`, then every second while it fails), so that writes are
   * taken again as soon as there is room, without waiting for a transaction to try it.
   */
  #scheduleRecovery(delayMs: number): void {
    if (this.#retry || this.#closed) return;
    this.#retry = setTimeout(() => {
      void this.#mutex
        .run(async () => {
          if (this.#closed) return;
          await this.#recover();
        })
        .finally(() => {
          this.#retry = undefined;
          if (this.#broken && !this.#stuck) this.#scheduleRecovery(REOPEN_BACKOFF_MS);
        });
    }, delayMs);
    this.#retry.unref();
  }

  async #roomToReopen(): Promise<boolean> {
    try {
      const s = await statfs(this.#location);
      return s.bavail * s.bsize >= REOPEN_MIN_FREE;
    } catch {
      return true;
    }
  }

  /** True while writes are refused after a failed batch, until the database has been reopened. */
  get recovering(): boolean {
    return this.#broken !== undefined;
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    if (!(await this.#recover())) {
      const e = new KvError('KV_UNAVAILABLE', 'the metadata database is reopened after a failed write first', {
        cause: this.#broken,
      });
      for (const job of this.#queue.splice(0)) job.reject(e);
      return;
    }
    const parent = this.#inflight;
    // At most one group in flight below the one evaluated: the parent's own parent must be written (the parent's
    // batch has started) before this group is evaluated against the parent's writes.
    if (parent) await parent.started;
    if (this.#queue.length === 0) return;
    const g: Group = { parent: parent && !parent.done ? parent.group : undefined, writes: new Map() };
    const parentWritten = g.parent ? parent!.written : undefined;
    let parentDone = parentWritten === undefined;
    void parentWritten?.then(() => {
      parentDone = true;
    });
    const ok: { job: Job; result: unknown }[] = [];
    let taken = 0;
    // Evaluate what is queued; while the parent's batch is still being written, keep taking commits as they arrive,
    // so that they all share the next batch (the group grows to cover the parent's fsync).
    for (;;) {
      const jobs = this.#queue.splice(0, this.#opts.maxGroup - taken);
      taken += jobs.length;
      for (const job of jobs) {
        if (job.signal?.aborted) {
          job.reject(job.signal.reason);
          continue;
        }
        const tx = new LevelTx(this, g);
        try {
          const result = await job.fn(tx);
          tx.end(true);
          ok.push({ job, result });
        } catch (err) {
          tx.end(false);
          job.reject(err);
        }
      }
      if (parentDone || taken >= this.#opts.maxGroup) break;
      if (this.#queue.length > 0) continue;
      await new Promise<void>((resolve) => {
        this.#arrival = resolve;
        void parentWritten!.then(() => resolve());
      });
      this.#arrival = undefined;
    }
    if (this.#queue.length > 0) this.#schedule();
    const ops: RawOp[] = [];
    for (const [k, v] of g.writes)
      ops.push(v === null ? { type: 'del', key: keyBuf(k) } : { type: 'put', key: keyBuf(k), value: v });
    const before = g.parent ? parent!.written : undefined;
    g.parent = undefined; // evaluated: the next group reads this one, never the one before (no chain of groups)
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    // The batch is written outside the mutex, after the parent's: the next group is evaluated meanwhile.
    const written = (async (): Promise<boolean> => {
      if (before && !(await before)) {
        // This group was evaluated against writes that never happened.
        markStarted();
        const e = new KvError('KV_UNAVAILABLE', 'an earlier metadata commit failed');
        for (const { job } of ok) job.reject(e);
        return false;
      }
      markStarted();
      if (ops.length > 0) {
        const write = this.#broken ? Promise.reject(this.#broken) : this.#writeBatch(ops);
        const outcome = await within(write, this.#opts.commitTimeoutMs);
        if (outcome === 'timeout' || !outcome.ok) {
          this.#cache.clear();
          let error: KvError;
          if (outcome === 'timeout') {
            // The write may still land: until it settles nothing else is written; then the database is reopened
            // (whatever the outcome, its members were told it failed: an error that may have committed).
            error = new KvError('KV_UNAVAILABLE', 'the metadata commit did not finish in time');
            this.#stuck = write
              .catch(() => undefined)
              .finally(() => {
                this.#stuck = undefined;
                this.#scheduleRecovery(0);
              });
          } else {
            error = new KvError('KV_IO', 'the metadata commit failed', { cause: outcome.err });
          }
          this.#broken ??=
            outcome === 'timeout'
              ? error
              : new KvError('KV_IO', 'a metadata commit failed; the database is reopened before the next write', {
                  cause: error,
                });
          this.#scheduleRecovery(0);
          for (const { job } of ok) job.reject(error);
          return false;
        }
        for (const op of ops) this.#cache.set(op.key.toString('latin1'), op.type === 'put' ? op.value : null);
        this.#stats.commits++;
      }
      this.#stats.transactions += ok.length;
      for (const { job, result } of ok) job.resolve(result);
      return true;
    })();
    const entry: InFlight = { group: g, started, written, done: false };
    this.#inflight = entry;
    void written.then(() => {
      entry.done = true;
      if (this.#inflight === entry) this.#inflight = undefined;
    });
  }

  /**
   * One LevelDB batch through classic-level's `_batch` (the implementation method that abstract-level's `batch()`
   * ends in): `batch()` first copies each operation and resolves encodings, measured at 40–50 µs per small PUT on the
   * request thread against 8–12 µs for `_batch` alone; the keys and values here are Buffers already.
   */
  async #writeBatch(ops: RawOp[]): Promise<void> {
    const db = this.#db as unknown as {
      status: string;
      _batch(ops: RawOp[], options: { sync: boolean }): Promise<void>;
    };
    if (db.status !== 'open') throw new Error(`the database is ${db.status}`);
    const write = () => db._batch(ops, { sync: this.#opts.sync });
    await (this.#opts.batchHook ? this.#opts.batchHook(write) : write());
  }

  /** Counters since the engine was opened; `retries` stays 0 (the members of a group never conflict). */
  stats(): KvStats {
    return { ...this.#stats };
  }

  /** Resolves when every transaction queued so far is written (or failed). */
  async idle(): Promise<void> {
    await this.#mutex.run(async () => undefined);
    await this.#inflight?.written;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.idle();
    this.#closed = true;
    clearTimeout(this.#retry);
    await this.#db.close();
  }
}
