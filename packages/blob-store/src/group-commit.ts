import type { Level } from 'level';

import { BlobStoreError, ioError } from './errors.ts';
import type { Mutex } from './mutex.ts';
import type { BatchHook } from './options.ts';
import type { BucketRecord, ObjectRecord } from './types.ts';

/** Refcount record of a blob (sublevel `r`, key = blob id). */
export interface RefRecord {
  v: 1;
  /** Number of records (objects, parts) that refer to the blob. */
  n: number;
  /** The blob's ciphertext is in sublevel `d` (an inline object), not in a file. Absent = a file. */
  inline?: true;
}

/** A JSON sublevel with UTF-8 keys. */
export function sub<V>(db: Level<string, unknown>, name: string | string[]) {
  return db.sublevel<string, V>(name, { keyEncoding: 'utf8', valueEncoding: 'json' });
}
/** A JSON sublevel. */
export type Sub<V> = ReturnType<typeof sub<V>>;
/** The sublevel of inline ciphertext (`d`, key = blob id, Buffer values). */
export function dataSub(db: Level<string, unknown>) {
  return db.sublevel<string, Buffer>('d', { keyEncoding: 'utf8', valueEncoding: 'buffer' });
}
/** The sublevel of inline ciphertext. */
export type DataSub = ReturnType<typeof dataSub>;
/** A write of a batch, encoded: a UTF-8 key (sublevel prefix included) and JSON text or ciphertext bytes. */
type RawOp = { type: 'put'; key: string; value: string | Buffer } | { type: 'del'; key: string };

/**
 * Writes encoded operations as one LevelDB batch, through classic-level's `_batch` (the implementation method that
 * abstract-level's `batch()` ends in). `batch()` first copies each operation and resolves its sublevel and
 * encodings: measured at 40–50 µs per small PUT (five entries) on the request thread against 8–12 µs for `_batch`
 * alone. Nothing here needs what it adds: there are no hooks or 'write' listeners, and the values are encoded.
 */
async function writeBatch(db: Level<string, unknown>, ops: RawOp[], sync: boolean): Promise<void> {
  if (db.status !== 'open') throw new Error(`the database is ${db.status}`);
  await (db as unknown as { _batch(ops: RawOp[], options: { sync: boolean }): Promise<void> })._batch(ops, { sync });
}

const SEP = '\x00';

/** Where committed state lives, and what the store knows about blobs not yet committed. */
export interface CommitTarget {
  db: Level<string, unknown>;
  buckets: Sub<BucketRecord>;
  objects: Sub<ObjectRecord>;
  refs: Sub<RefRecord>;
  data: DataSub;
  nsOf(ns: string): Sub<object>;
  /** A committed bucket record (the store keeps them cached). */
  bucket(name: string): Promise<BucketRecord | undefined>;
  /** Blobs written but not referenced by a committed record (files, and inline blobs waiting in memory). */
  uncommitted: ReadonlySet<string>;
  /** The ciphertext of an uncommitted inline blob, or undefined for a file blob. */
  pendingInline(blobId: string): Buffer | undefined;
  /** `sync` of the batch. */
  sync: boolean;
  /** TEST ONLY: wraps every batch write (fault injection; see `BlobStoreOptions.testing`). */
  batch?: BatchHook;
}

/**
 * The work of one metadata commit. Methods that read see the database as of the transaction plus the
 * transaction's own writes (and those of transactions ordered before it in the same group commit); writes are
 * collected and applied by one LevelDB batch. Transactions are evaluated one at a time, in arrival order, so a
 * read-check-write inside one is atomic.
 */
export interface Transaction {
  /** A bucket, or undefined. */
  getBucket(name: string): Promise<BucketRecord | undefined>;
  /** Creates or replaces a bucket record. */
  putBucket(rec: BucketRecord): void;
  /** Deletes a bucket record (no checks; see `BlobStore.deleteBucket`). */
  deleteBucket(name: string): void;
  /** True if the bucket holds at least one object. */
  hasObjects(bucket: string): Promise<boolean>;
  /** An object record, or undefined. */
  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined>;
  /** Writes an object record: +1 reference on each of its blobs, -1 on each blob of the record it replaces. */
  putObject(rec: ObjectRecord): Promise<void>;
  /** Deletes an object record and drops its references; false if there was none. */
  deleteObject(bucket: string, key: string): Promise<boolean>;
  /** A generic record, or undefined. */
  getRecord<T>(ns: string, id: string): Promise<T | undefined>;
  /** Writes a generic record. */
  putRecord(ns: string, id: string, value: object): void;
  /** Deletes a generic record; false if there was none. */
  deleteRecord(ns: string, id: string): Promise<boolean>;
  /** True if the namespace holds a record whose id starts with `prefix`. */
  hasRecords(ns: string, prefix: string): Promise<boolean>;
  /** +1 reference on each blob (of a segment another record keeps, e.g. a multipart part). */
  addRefs(blobIds: readonly string[]): void;
  /** -1 reference on each blob; a blob at 0 is deleted by (inline) or after (file) the commit. */
  dropRefs(blobIds: readonly string[]): void;
}

/** Checks shared with the store. */
export interface TxChecks {
  bucketName(name: unknown): string;
  key(key: unknown): string;
  namespace(ns: unknown): string;
  id(id: unknown): string;
}

/** What earlier members of a group commit wrote: the state later members read through. */
class GroupState {
  /**
   * The group before this one while its batch is being written (this group is evaluated meanwhile): its writes are
   * not in the database yet, so reads look at them first. At most one group is in flight below the one evaluated.
   */
  parent: GroupState | undefined;
  readonly buckets = new Map<string, BucketRecord | null>();
  readonly objects = new Map<string, ObjectRecord | null>();
  /** Object records as committed before this group (prefetched for the members' hints; null = none). */
  readonly readObjects = new Map<string, ObjectRecord | null>();
  readonly records = new Map<string, Map<string, object | null>>();
  /** Inline ciphertext to put (Buffer) or delete (null). */
  readonly data = new Map<string, Buffer | null>();
  /** Refcounts as of the members so far (null = no entry); ids read from the database are cached here too. */
  readonly refs = new Map<string, RefRecord | null>();
  readonly dirtyRefs = new Set<string>();
  /** Fresh blobs committed by an earlier member: no longer "uncommitted" for later members. */
  readonly settled = new Set<string>();
  /** File blobs whose count reached 0 (unlinked after the batch). */
  readonly freed: string[] = [];
  /** Fresh blobs referenced for the first time (removed from the uncommitted set after the batch). */
  readonly committed: string[] = [];

  constructor(parent: GroupState | undefined) {
    this.parent = parent;
  }

  /** Fresh blob committed by this group or the one in flight. */
  isSettled(id: string): boolean {
    return this.settled.has(id) || (this.parent?.settled.has(id) ?? false);
  }

  /**
   * True when `refs` holds the current count of `id` (filling it from the group in flight if that has it); a blob
   * still uncommitted has no refcount entry (count 0) without a read.
   */
  hasRef(id: string, uncommitted: ReadonlySet<string>): boolean {
    if (this.refs.has(id)) return true;
    if (this.parent?.refs.has(id)) {
      this.refs.set(id, this.parent.refs.get(id)!);
      return true;
    }
    if (uncommitted.has(id) && !this.isSettled(id)) {
      this.refs.set(id, null);
      return true;
    }
    return false;
  }

  /**
   * The group's writes, encoded as the sublevels would encode them: the sublevel's prefix and the key (all keys are
   * UTF-8), and JSON text or the ciphertext Buffer.
   */
  ops(t: CommitTarget): RawOp[] {
    const ops: RawOp[] = [];
    const add = <V>(s: { prefix: string }, m: Map<string, V | null>) => {
      for (const [k, v] of m) ops.push(v === null ? { type: 'del', key: s.prefix + k } : { type: 'put', key: s.prefix + k, value: JSON.stringify(v) });
    };
    add(t.buckets, this.buckets);
    add(t.objects, this.objects);
    for (const [ns, m] of this.records) add(t.nsOf(ns), m);
    for (const [k, v] of this.data) {
      ops.push(v === null ? { type: 'del', key: t.data.prefix + k } : { type: 'put', key: t.data.prefix + k, value: v });
    }
    for (const id of this.dirtyRefs) {
      const r = this.refs.get(id) ?? null;
      ops.push(r === null ? { type: 'del', key: t.refs.prefix + id } : { type: 'put', key: t.refs.prefix + id, value: JSON.stringify(r) });
    }
    return ops;
  }
}

type Layer<V> = Map<string, V | null> | undefined;

/** The first layer that has `k` (own writes, the group's, the group in flight before it), else the database. */
async function layered<V>(layers: readonly Layer<V>[], k: string, load: () => Promise<unknown>): Promise<V | undefined> {
  for (const m of layers) if (m?.has(k)) return m.get(k) ?? undefined;
  return (await load()) as V | undefined;
}

/** True if a key starting with `prefix` is live in the layers or (not shadowed by them) in the database `keys`. */
async function layeredHas<V>(layers: readonly Layer<V>[], prefix: string, keys: () => AsyncIterable<string>): Promise<boolean> {
  const effective = (k: string): V | null | undefined => {
    for (const m of layers) if (m?.has(k)) return m.get(k);
    return undefined;
  };
  for (const m of layers) {
    if (!m) continue;
    for (const k of m.keys()) if (k.startsWith(prefix) && effective(k) != null) return true;
  }
  for await (const k of keys()) {
    if (!k.startsWith(prefix)) break;
    if (effective(k) === undefined) return true; // a key the layers set is counted above (or deleted)
  }
  return false;
}

/** One member of a group commit: an overlay of its own writes over the group's and the database. */
class Tx implements Transaction {
  readonly #t: CommitTarget;
  readonly #g: GroupState;
  readonly #c: TxChecks;
  readonly #bucketW = new Map<string, BucketRecord | null>();
  readonly #objectW = new Map<string, ObjectRecord | null>();
  readonly #recordW = new Map<string, Map<string, object | null>>();
  readonly #deltas = new Map<string, number>();
  #done = false;

  constructor(target: CommitTarget, group: GroupState, checks: TxChecks) {
    this.#t = target;
    this.#g = group;
    this.#c = checks;
  }

  #live(): void {
    if (this.#done) throw new Error('transaction already committed');
  }

  getBucket(name: string): Promise<BucketRecord | undefined> {
    return layered([this.#bucketW, this.#g.buckets, this.#g.parent?.buckets], name, () => this.#t.bucket(name));
  }

  putBucket(rec: BucketRecord): void {
    this.#live();
    this.#bucketW.set(this.#c.bucketName(rec.name), rec);
  }

  deleteBucket(name: string): void {
    this.#live();
    this.#bucketW.set(name, null);
  }

  hasObjects(bucket: string): Promise<boolean> {
    const base = bucket + SEP;
    return layeredHas([this.#objectW, this.#g.objects, this.#g.parent?.objects], base, () => this.#t.objects.keys({ gte: base, lt: bucket + '\x01' }));
  }

  getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const k = bucket + SEP + key;
    return layered([this.#objectW, this.#g.objects, this.#g.parent?.objects], k, async () => {
      const r = this.#g.readObjects;
      if (r.has(k)) return r.get(k) ?? undefined;
      const rec = (await this.#t.objects.get(k)) as ObjectRecord | undefined;
      r.set(k, rec ?? null);
      return rec;
    });
  }

  async putObject(rec: ObjectRecord): Promise<void> {
    this.#live();
    this.#c.bucketName(rec.bucket);
    this.#c.key(rec.key);
    const prev = await this.getObject(rec.bucket, rec.key);
    if (prev) this.dropRefs(prev.segments.map((s) => s.blobId));
    this.addRefs(rec.segments.map((s) => s.blobId));
    this.#objectW.set(rec.bucket + SEP + rec.key, rec);
  }

  async deleteObject(bucket: string, key: string): Promise<boolean> {
    this.#live();
    const prev = await this.getObject(bucket, key);
    if (!prev) return false;
    this.dropRefs(prev.segments.map((s) => s.blobId));
    this.#objectW.set(bucket + SEP + key, null);
    return true;
  }

  getRecord<T>(ns: string, id: string): Promise<T | undefined> {
    this.#c.namespace(ns);
    return layered<object>([this.#recordW.get(ns), this.#g.records.get(ns), this.#g.parent?.records.get(ns)], id, () => this.#t.nsOf(ns).get(id)) as Promise<T | undefined>;
  }

  putRecord(ns: string, id: string, value: object): void {
    this.#live();
    this.#recordMap(ns).set(this.#c.id(id), value);
  }

  async deleteRecord(ns: string, id: string): Promise<boolean> {
    this.#live();
    const existed = (await this.getRecord(ns, id)) !== undefined;
    this.#recordMap(ns).set(this.#c.id(id), null);
    return existed;
  }

  hasRecords(ns: string, prefix: string): Promise<boolean> {
    this.#c.namespace(ns);
    return layeredHas([this.#recordW.get(ns), this.#g.records.get(ns), this.#g.parent?.records.get(ns)], prefix, () => this.#t.nsOf(ns).keys({ gte: prefix }));
  }

  addRefs(blobIds: readonly string[]): void {
    this.#live();
    for (const id of blobIds) this.#deltas.set(id, (this.#deltas.get(id) ?? 0) + 1);
  }

  dropRefs(blobIds: readonly string[]): void {
    this.#live();
    for (const id of blobIds) this.#deltas.set(id, (this.#deltas.get(id) ?? 0) - 1);
  }

  #recordMap(ns: string): Map<string, object | null> {
    this.#c.namespace(ns);
    let m = this.#recordW.get(ns);
    if (!m) {
      m = new Map();
      this.#recordW.set(ns, m);
    }
    return m;
  }

  /** Closes the transaction without merging (its callback threw). */
  abandon(): void {
    this.#done = true;
  }

  /**
   * Merges this member's writes into the group. Refcounts: a blob may rise from 0 only if it is a fresh upload
   * (uncommitted, and not already committed and freed earlier in this group); otherwise its last reference went
   * away before this commit (`BLOB_NO_SUCH_KEY`: e.g. a copy source deleted). Throws before merging anything.
   */
  async finish(): Promise<void> {
    this.#done = true;
    const g = this.#g;
    const ids = [...this.#deltas.keys()].filter((id) => this.#deltas.get(id) !== 0);
    const unknown = ids.filter((id) => !g.hasRef(id, this.#t.uncommitted));
    if (unknown.length > 0) {
      const got = await this.#t.refs.getMany(unknown);
      unknown.forEach((id, i) => g.refs.set(id, (got[i] as RefRecord | undefined) ?? null));
    }
    const next = new Map<string, { cur: RefRecord | null; n: number }>();
    for (const id of ids) {
      const cur = g.refs.get(id) ?? null;
      const n = (cur?.n ?? 0) + this.#deltas.get(id)!;
      if (cur === null && n > 0 && (!this.#t.uncommitted.has(id) || g.isSettled(id))) {
        throw new BlobStoreError('BLOB_NO_SUCH_KEY', 'The specified key does not exist.');
      }
      next.set(id, { cur, n });
    }
    // Nothing below throws: the member is in.
    for (const [k, v] of this.#bucketW) g.buckets.set(k, v);
    for (const [k, v] of this.#objectW) g.objects.set(k, v);
    for (const [ns, m] of this.#recordW) {
      let gm = g.records.get(ns);
      if (!gm) g.records.set(ns, (gm = new Map()));
      for (const [k, v] of m) gm.set(k, v);
    }
    for (const [id, { cur, n }] of next) {
      if (n <= 0) {
        if (cur === null) continue;
        g.refs.set(id, null);
        g.dirtyRefs.add(id);
        if (cur.inline) g.data.set(id, null);
        else g.freed.push(id);
      } else if (cur === null) {
        const sealed = this.#t.pendingInline(id);
        g.refs.set(id, sealed ? { v: 1, n, inline: true } : { v: 1, n });
        g.dirtyRefs.add(id);
        if (sealed) g.data.set(id, sealed);
        g.settled.add(id);
        g.committed.push(id);
      } else {
        g.refs.set(id, { ...cur, n });
        g.dirtyRefs.add(id);
      }
    }
  }
}

/** What a group commit changed, for the store's bookkeeping once the batch is written. */
export interface CommitDone {
  /** Fresh blobs now referenced. */
  committed: readonly string[];
  /** File blobs no longer referenced (to unlink). */
  freed: readonly string[];
  /** Bucket records written (null = deleted). */
  buckets: ReadonlyMap<string, BucketRecord | null>;
}

/** What a transaction will read, so that a group reads it for all its members at once (a hint only). */
export interface TxHint {
  /** Object keys (`bucket + NUL + key`) the transaction reads (and the refcounts of their blobs). */
  objects?: readonly string[];
}

interface InFlight {
  state: GroupState;
  /** Resolves when the group's batch write starts (the group before it is written). */
  started: Promise<void>;
  /** Resolves true once the batch is written, false if it (or the group before it) failed. */
  written: Promise<boolean>;
  done: boolean;
}

interface Job {
  fn: (tx: Transaction) => unknown;
  hint: TxHint | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Most transactions in one group commit (one LevelDB batch). */
const MAX_GROUP = 256;
/** Entries (object records and refcounts) kept by {@link Committed}. */
const COMMITTED_CACHE_SIZE = 4096;

/** A bounded map that forgets the least recently set key. */
class RecentMap<V> {
  readonly #m = new Map<string, V>();
  constructor(readonly max: number) {}
  get(k: string): V | undefined {
    return this.#m.get(k);
  }
  set(k: string, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.max) this.#m.delete(this.#m.keys().next().value!);
  }
  clear(): void {
    this.#m.clear();
  }
}

/**
 * The committed JSON of recently written or read object records and refcounts (null = no entry), by database key:
 * what LevelDB holds for them, so a group's prefetch need not read them again (an overwrite reads the record it
 * replaces and its blobs' counts). Every write goes through the group committer, which takes a batch's entries in
 * only once the batch is written, and reads in only keys that no batch in flight writes. Text, not objects: each
 * read parses its own copy, so no caller can alter what the next one sees. A failed batch clears it (after a
 * failed sync, LevelDB's state is not known until it is reopened).
 */
class Committed {
  readonly #json = new RecentMap<string | null>(COMMITTED_CACHE_SIZE);
  readonly #prefixes: readonly string[];

  constructor(t: CommitTarget) {
    this.#prefixes = [t.objects.prefix, t.refs.prefix];
  }

  /** The record at `key` of `sub`: parsed from the cache, else read (synchronously) and remembered. */
  read<V>(sub: Sub<V>, key: string): V | null {
    const k = sub.prefix + key;
    let json = this.#json.get(k);
    if (json === undefined) this.#json.set(k, (json = (sub.getSync(key, { valueEncoding: 'utf8' }) as string | undefined) ?? null));
    return json === null ? null : (JSON.parse(json) as V);
  }

  /** Takes in the object and refcount entries of a batch just written. */
  landed(ops: readonly RawOp[]): void {
    for (const op of ops) {
      if (!this.#prefixes.some((p) => op.key.startsWith(p))) continue;
      this.#json.set(op.key, op.type === 'put' ? (op.value as string) : null);
    }
  }

  clear(): void {
    this.#json.clear();
  }
}

/**
 * Group commit: transactions that arrive while a synced batch is being written wait, and then all go in the next
 * single synced batch. Each is evaluated alone and in arrival order against the database plus the writes of the
 * members before it, so read-check-write (If-None-Match, If-Match, refcounts) stays atomic; a member whose
 * callback throws leaves the others unaffected. A member's promise settles only after the batch holding its
 * writes was written (with `sync: true` when durable), so every acknowledged commit is as durable as before: this
 * only shares the fsync.
 *
 * Pipelined one deep: while a group's batch is being written, the next group is evaluated (under the store's
 * commit mutex, which the sweeper takes too) against the database plus the writing group's writes; its batch is
 * written only after that one, and fails if that one failed. Batches land in evaluation order.
 */
export class GroupCommitter {
  readonly #t: CommitTarget;
  readonly #mutex: Mutex;
  readonly #checks: TxChecks;
  readonly #after: (done: CommitDone) => void;
  #queue: Job[] = [];
  #scheduled = false;
  /** The last group evaluated, while its batch is not yet written. */
  #inflight: InFlight | undefined;
  /** Wakes a group that is taking more commits while its parent's batch is being written. */
  #arrival: (() => void) | undefined;
  readonly #committed: Committed;

  constructor(target: CommitTarget, mutex: Mutex, checks: TxChecks, after: (done: CommitDone) => void) {
    this.#t = target;
    this.#mutex = mutex;
    this.#checks = checks;
    this.#after = after;
    this.#committed = new Committed(target);
  }

  /** Runs `fn` in the next group commit; resolves with its result once the batch is written. */
  run<T>(fn: (tx: Transaction) => Promise<T> | T, hint?: TxHint): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, hint, resolve: resolve as (v: unknown) => void, reject });
      this.#arrival?.();
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    void this.#mutex.run(() => this.#flush());
  }

  /**
   * Reads what the members said they will read (object records, then the refcounts of their blobs) for the whole
   * group before its members run. The reads are synchronous (`getSync`): a few small records, almost always in
   * LevelDB's memtable or caches, read on a path that is serial anyway; an asynchronous read costs a round trip
   * through the thread pool, which on a loaded 2-core machine measured 3–4 ms, paid group after group. What the
   * group in flight wrote shadows these reads (whether its batch has landed yet or not), so this is the state the
   * first member sees.
   */
  #prefetch(g: GroupState, jobs: readonly Job[]): void {
    // Keys the group in flight wrote are read from it (and keys this group has seen, from it), not from the database.
    const keys = [...new Set(jobs.flatMap((j) => j.hint?.objects ?? []))]
      .filter((k) => !g.parent?.objects.has(k) && !g.objects.has(k) && !g.readObjects.has(k));
    if (keys.length === 0) return;
    const c = this.#committed;
    const ids = new Set<string>();
    try {
      for (const k of keys) {
        const rec = c.read(this.#t.objects, k);
        g.readObjects.set(k, rec);
        for (const seg of rec?.segments ?? []) ids.add(seg.blobId);
      }
      for (const id of ids) if (!g.hasRef(id, this.#t.uncommitted)) g.refs.set(id, c.read(this.#t.refs, id));
    } catch {
      // only a hint: the members read for themselves
    }
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const parent = this.#inflight;
    // At most one group in flight below the one evaluated: the parent's own parent must be written (the parent's
    // batch has started) before this group is evaluated against the parent's writes.
    if (parent) await parent.started;
    if (this.#queue.length === 0) return;
    const g = new GroupState(parent && !parent.done ? parent.state : undefined);
    const parentWritten = g.parent ? parent!.written : undefined;
    let parentDone = parentWritten === undefined;
    void parentWritten?.then(() => { parentDone = true; });
    const ok: { job: Job; result: unknown }[] = [];
    let taken = 0;
    // Evaluate what is queued; while the parent's batch is still being written, keep taking commits as they
    // arrive, so that they all share the next batch (the group grows to cover the parent's fsync).
    for (;;) {
      const jobs = this.#queue.splice(0, MAX_GROUP - taken);
      taken += jobs.length;
      if (jobs.length > 0) this.#prefetch(g, jobs);
      for (const job of jobs) {
        const tx = new Tx(this.#t, g, this.#checks);
        try {
          const result = await job.fn(tx);
          await tx.finish();
          ok.push({ job, result });
        } catch (err) {
          tx.abandon();
          job.reject(err);
        }
      }
      if (parentDone || taken >= MAX_GROUP) break;
      if (this.#queue.length > 0) continue;
      await new Promise<void>((resolve) => {
        this.#arrival = resolve;
        void parentWritten!.then(() => resolve());
      });
      this.#arrival = undefined;
    }
    if (this.#queue.length > 0) this.#schedule();
    const ops = ok.length > 0 ? g.ops(this.#t) : [];
    const before = g.parent ? parent!.written : undefined;
    g.parent = undefined; // evaluated: the next group reads this one, never the one before (no chain of groups)
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => { markStarted = resolve; });
    // The batch is written outside the mutex, after the parent's: the next group is evaluated meanwhile.
    const written = (async (): Promise<boolean> => {
      if (before && !(await before)) {
        // This group was evaluated against writes that never happened.
        markStarted();
        const e = new BlobStoreError('BLOB_IO', 'an earlier metadata commit failed');
        for (const { job } of ok) job.reject(e);
        return false;
      }
      markStarted();
      if (ops.length > 0) {
        try {
          const write = (): Promise<void> => writeBatch(this.#t.db, ops, this.#t.sync);
          await (this.#t.batch ? this.#t.batch(write) : write());
        } catch (err) {
          this.#committed.clear();
          const e = ioError('the metadata commit', err);
          for (const { job } of ok) job.reject(e);
          return false;
        }
        this.#committed.landed(ops);
      }
      this.#after({ committed: g.committed, freed: g.freed, buckets: g.buckets });
      for (const { job, result } of ok) job.resolve(result);
      return true;
    })();
    const entry: InFlight = { state: g, started, written, done: false };
    this.#inflight = entry;
    void written.then(() => {
      entry.done = true;
      if (this.#inflight === entry) this.#inflight = undefined;
    });
  }

  /** Resolves when every transaction queued so far is written (or failed). */
  async idle(): Promise<void> {
    await this.#mutex.idle();
    await this.#inflight?.written;
  }
}
