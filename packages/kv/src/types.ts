/**
 * The metadata-engine contract: an ordered key-value store with byte-ordered range scans and transactions, the shape
 * of lakeFS's `pkg/kv` (Get, Set, Delete, Scan in key order; compare-and-set through a transaction). Everything
 * Coffer keeps about buckets, objects, uploads, users and keys is written once above it; each engine (LevelDB
 * embedded, PostgreSQL for several nodes) implements only this, and passes the one suite in `@coffer/kv/testing`.
 */

/** A key: any non-empty byte string. Keys order as unsigned bytes (memcmp), the order S3 lists in for UTF-8 keys. */
export type KvKey = Uint8Array;

/** A range of keys, bounds as in abstract-level: at most one lower (`gt`/`gte`) and one upper (`lt`/`lte`). */
export interface KvRange {
  /** Keys greater than this. */
  gt?: KvKey;
  /** Keys greater than or equal to this. */
  gte?: KvKey;
  /** Keys less than this. */
  lt?: KvKey;
  /** Keys less than or equal to this. */
  lte?: KvKey;
  /** At most this many entries (default: no limit). */
  limit?: number;
}

/** One entry of a scan. */
export interface KvEntry {
  key: Buffer;
  value: Buffer;
}

/** Reads. Outside a transaction they see committed state; inside one, also the transaction's own writes. */
export interface KvReader {
  /** The value at `key`, or undefined. */
  get(key: KvKey): Promise<Buffer | undefined>;
  /** The entries in `range`, in ascending byte order of their keys. Iterate it once. */
  scan(range: KvRange): AsyncIterable<KvEntry>;
}

/**
 * A transaction: reads (which see its own writes: read-your-writes), then writes that become visible and durable
 * together, or not at all, when the callback returns. Writes are buffered: `set` and `delete` never wait.
 */
export interface KvTransaction extends KvReader {
  /** Sets `key` to `value` when the transaction commits. */
  set(key: KvKey, value: Uint8Array): void;
  /** Removes `key` when the transaction commits (nothing if absent). */
  delete(key: KvKey): void;
}

/** Options of {@link KvEngine.transact}. */
export interface TransactOptions {
  /** Gives up before the callback has run (or between retries) with an `AbortError`. */
  signal?: AbortSignal;
}

/** Counters of an engine since it was opened (for metrics). */
export interface KvStats {
  /** Transactions committed. */
  transactions: number;
  /** Commits to the database: one per group commit, which may hold several transactions. */
  commits: number;
  /** Runs of a transaction (or of a group) thrown away on a conflict with another node, and run again. */
  retries: number;
}

/** A metadata engine. */
export interface KvEngine extends KvReader {
  /** The engine's kind (`leveldb`, `postgres`), for logs and metrics. */
  readonly kind: string;
  /** True while the engine takes no write because it recovers from a failed one (reads go on). */
  readonly recovering: boolean;
  /**
   * Runs `fn` in a serializable transaction and commits its writes atomically and durably; resolves with what `fn`
   * returned once the commit is durable. If `fn` throws, nothing is written and the error is passed through. On a
   * conflict with a concurrent transaction the engine runs `fn` again (so `fn` must have no side effects beyond the
   * transaction's writes, and must compute what it returns from its reads); after too many conflicts it throws
   * `KV_CONFLICT`.
   */
  transact<T>(fn: (tx: KvTransaction) => Promise<T> | T, opts?: TransactOptions): Promise<T>;
  /** Counters since the engine was opened. */
  stats(): KvStats;
  /** Waits for commits in flight, then releases the engine. Later calls throw `KV_CLOSED`. */
  close(): Promise<void>;
}
