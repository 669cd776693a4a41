/**
 * The pieces of the PostgreSQL engine's group commit: the one SERIALIZABLE transaction a group runs in
 * ({@link Session}), the transaction each member sees ({@link PgTx}), the check of the values members took from the
 * cache, and the group's writes.
 */
import type pg from 'pg';

import { keyBuf, keyStr, strRange, type KeyStr, type StrRange } from './keys.ts';
import { MemberWrites, layerGet, mergeScan, type WriteMap } from './overlay.ts';
import type { RecentMap } from './recent.ts';
import type { KvEntry, KvKey, KvRange, KvTransaction } from './types.ts';

/** What runs one statement: the pool (committed state) or a {@link Session}. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/**
 * Values larger than this are not kept in the cache: records are far smaller, and inline object data (up to 64 KiB,
 * written in transactions but read outside them) would otherwise fill it with what no transaction reads again.
 */
const CACHE_VALUE_MAX = 4096;

/** Keeps the committed value of `k` in the cache (null: absent), or forgets it if the value is large. */
export function remember(cache: RecentMap<Buffer | null>, k: KeyStr, v: Buffer | null): void {
  if (v === null || v.length <= CACHE_VALUE_MAX) cache.set(k, v);
  else cache.delete(k);
}

/** Point read of one committed key (a named statement: parsed and planned once per connection). */
export const GET = 'SELECT v FROM coffer_kv WHERE k = $1';

/** Committed rows in a range, page by page, through `db`. */
export async function* scanRows(db: Queryable, r: StrRange, page: number): AsyncGenerator<KvEntry> {
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
    const values: unknown[] = [];
    for (const b of [lower, upper]) {
      if (!b) continue;
      values.push(b.key);
      where.push(`k ${b.op} $${values.length}`);
    }
    const n = Math.min(page, left);
    values.push(n);
    const text = `SELECT k, v FROM coffer_kv ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY k ASC LIMIT $${values.length}`;
    const { rows } = await db.query<{ k: Buffer; v: Buffer }>({ text, values });
    for (const row of rows) yield { key: row.k, value: row.v };
    left -= rows.length;
    if (rows.length < n) return;
    lower = { op: '>', key: rows[rows.length - 1]!.k };
  }
}

/**
 * One SERIALIZABLE transaction on one connection, begun with its first statement and ended by {@link commit}.
 * Statements are queued on the connection rather than awaited one by one where nothing depends on their answer
 * (`pg` sends the next as soon as the previous one is answered): BEGIN goes with the first statement, the writes
 * with COMMIT. On a loaded machine every await costs a turn of the event loop behind the HTTP work of every other
 * request, measured at 10–50 ms each; a group that waited for BEGIN, each write and COMMIT in turn took ~120 ms.
 */
export class Session implements Queryable {
  #begun: Promise<unknown> | undefined;
  readonly #atCommit: pg.QueryConfig[] = [];

  constructor(readonly client: pg.PoolClient) {}

  /** True once a statement was sent (so there is a transaction to commit or roll back). */
  get begun(): boolean {
    return this.#begun !== undefined;
  }

  /** Runs a statement in the transaction. */
  query<R extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    this.#begun ??= this.client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    return Promise.all([this.#begun, this.client.query<R>(q)]).then(([, r]) => r);
  }

  /** Queues a statement to be sent right before COMMIT. */
  atCommit(q: pg.QueryConfig): void {
    this.#atCommit.push(q);
  }

  /**
   * Sends the queued statements and COMMIT back to back, and resolves once all have succeeded. PostgreSQL answers a
   * COMMIT of a transaction that an error aborted with a ROLLBACK, not an error: that error is among the statements
   * awaited here, or was seen by the caller before (a member's failed read ends the group before its commit).
   */
  async commit(): Promise<void> {
    if (!this.begun && this.#atCommit.length === 0) return; // nothing was read or written: nothing to commit
    const sent: Promise<unknown>[] = this.#atCommit.map((q) => this.query(q));
    sent.push(this.client.query('COMMIT'));
    await Promise.all(sent);
  }
}

/** A point read of a group: the value, and whether it came from the database (else from the cache, unchecked). */
interface Read {
  value: Buffer | null;
  checked: boolean;
}

/** What the members of a group share: their writes, and the committed values their point reads saw. */
export interface GroupState {
  readonly writes: WriteMap;
  readonly reads: Map<KeyStr, Read>;
}

/**
 * One member of a group commit: its own writes over those of the members before it in the group, then the group's
 * PostgreSQL transaction (or, for a point read, the engine's cache of committed values, checked before COMMIT). The
 * first error of a statement is kept, since PostgreSQL then refuses every statement of the transaction until
 * ROLLBACK, whatever the callback did with the error.
 */
export class PgTx extends MemberWrites implements KvTransaction {
  /** The first error PostgreSQL answered a statement of this member with. */
  dbError: unknown;
  constructor(
    readonly session: Session,
    readonly page: number,
    readonly group: GroupState,
    readonly cache: RecentMap<Buffer | null>,
  ) {
    super(group.writes);
  }

  async get(key: KvKey): Promise<Buffer | undefined> {
    const k = keyStr(key);
    const v = layerGet([this.own, this.group.writes], k);
    if (v !== undefined) return v ?? undefined;
    let read = this.group.reads.get(k);
    if (read === undefined) {
      const cached = this.cache.get(k);
      read = cached !== undefined ? { value: cached, checked: false } : { value: await this.#read(k), checked: true };
      this.group.reads.set(k, read);
    }
    return read.value ?? undefined;
  }

  async #read(k: KeyStr): Promise<Buffer | null> {
    try {
      const { rows } = await this.session.query<{ v: Buffer }>({ name: 'coffer_get', text: GET, values: [keyBuf(k)] });
      const value = rows[0]?.v ?? null;
      remember(this.cache, k, value);
      return value;
    } catch (err) {
      this.dbError ??= err;
      throw err;
    }
  }

  scan(range: KvRange): AsyncIterable<KvEntry> {
    return mergeScan([this.own, this.group.writes], strRange(range), (r) => this.#rows(r));
  }

  async *#rows(r: StrRange): AsyncGenerator<KvEntry> {
    try {
      yield* scanRows(this.session, r, this.page);
    } catch (err) {
      this.dbError ??= err;
      throw err;
    }
  }
}

/** Thrown when a group's cached reads no longer hold: it runs again, on the values just read. */
export class StaleCache extends Error {
  constructor() {
    super('a cached metadata value was changed by another node');
  }
}

/**
 * Reads again, in one statement of the group's transaction, the keys whose value the members took from the cache,
 * and puts what it finds in the cache. Throws {@link StaleCache} if any differs from what was taken: another node
 * changed it. When all hold, the members' reads are exactly reads of the transaction's snapshot, which SERIALIZABLE
 * then protects like any other read.
 */
export async function checkCached(session: Session, group: GroupState, cache: RecentMap<Buffer | null>) {
  const keys: KeyStr[] = [];
  for (const [k, r] of group.reads) if (!r.checked) keys.push(k);
  if (keys.length === 0) return;
  const { rows } = await session.query<{ k: Buffer; v: Buffer }>({
    name: 'coffer_get_many',
    text: 'SELECT k, v FROM coffer_kv WHERE k = ANY($1::bytea[])',
    values: [keys.map(keyBuf)],
  });
  const found = new Map(rows.map((row) => [row.k.toString('latin1'), row.v]));
  let stale = false;
  for (const k of keys) {
    const now = found.get(k) ?? null;
    const then = group.reads.get(k)!.value;
    if (now === null ? then !== null : then === null || !now.equals(then)) stale = true;
    remember(cache, k, now);
  }
  if (stale) throw new StaleCache();
}

/** Queues a group's writes for its commit: one DELETE and one upsert, whatever their number. */
export function queueWrites(session: Session, writes: WriteMap): void {
  const dels: Buffer[] = [];
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  for (const [k, v] of writes) {
    if (v === null) dels.push(keyBuf(k));
    else {
      keys.push(keyBuf(k));
      values.push(v);
    }
  }
  if (dels.length > 0) {
    session.atCommit({
      name: 'coffer_delete',
      text: 'DELETE FROM coffer_kv WHERE k = ANY($1::bytea[])',
      values: [dels],
    });
  }
  if (keys.length > 0) {
    session.atCommit({
      name: 'coffer_upsert',
      text:
        'INSERT INTO coffer_kv (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ' +
        'ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v',
      values: [keys, values],
    });
  }
}
