/**
 * Garbage collection of blob files, across nodes (SCALE-OUT.md, "Commit protocol across nodes"): the garbage sweep,
 * which deletes the blobs that commits released once their not-before time has passed (the garbage list, `!g!`),
 * and the full compare of the stored blobs against the metadata (`coffer gc`), which finds what no sweep sees:
 * blobs that nothing refers to and blobs that records refer to but that are gone.
 */
import type { ChunkInfo } from '@coffer/chunk-store';
import type { KvEngine } from '@coffer/kv';

import type { StoreContext } from './context.ts';
import { objectRecords } from './maintenance.ts';
import { K, decode, type GarbageRecord, type RefRecord } from './schema.ts';

/** What garbage collection works on. */
export interface GcContext {
  kv: KvEngine;
  /** Blobs this process is writing or has written that no commit references yet: never removed. */
  uncommitted: ReadonlySet<string>;
  /** Every stored blob. */
  listBlobs(): AsyncIterable<ChunkInfo>;
  /** Deletes a stored blob; nothing if it is gone already. */
  removeBlob(id: string): Promise<void>;
}

/** Options of {@link collectGarbage}. */
export interface CollectOptions {
  /** Entries due at this time (ms since the epoch) are collected; default now. */
  now?: number;
  signal?: AbortSignal;
}

/** Options of {@link compareBlobs} (`ObjectStore.gc`). */
export interface GcOptions {
  /** Delete nothing: report what would be deleted. */
  dryRun?: boolean;
  /** Unreferenced blobs younger than this (ms) are left alone; default the store's `sweepGraceMs`. */
  graceMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: GcProgress) => void;
}

/** What {@link collectGarbage} did. */
export interface GarbageSweep {
  /** Released blobs deleted (with their garbage entries). */
  removed: number;
  /** Entries not due yet. */
  pending: number;
}

/** What {@link compareBlobs} found. */
export interface GcReport {
  /** Blobs stored. */
  blobs: number;
  /** Stored bytes. */
  bytes: number;
  /** File blobs the metadata refers to. */
  referenced: number;
  /** Stored blobs on the garbage list (left to the garbage sweep, which deletes them when due). */
  garbage: number;
  /** Unreferenced blobs younger than the grace: perhaps a write in progress; left alone. */
  young: number;
  /** Unreferenced blobs past the grace: removed (or, in a dry run, that would be), and their bytes. */
  removed: string[];
  removedBytes: number;
  /** Blobs the metadata refers to that are not stored, with the objects that use them (none: an upload's part). */
  missing: { blobId: string; objects: { bucket: string; key: string }[] }[];
}

/** Progress of {@link compareBlobs}: entries read in each phase so far. */
export interface GcProgress {
  phase: 'metadata' | 'blobs' | 'objects';
  done: number;
  /** How many there should be, when known: the blobs the metadata names (referenced or on the garbage list). */
  expected?: number;
}

/** Garbage entries or candidates handled per metadata transaction. */
const BATCH = 100;

/**
 * The garbage sweep: deletes every blob on the garbage list whose not-before time is at or before `now`, then its
 * entry. Deleting first and forgetting second means a crash between the two leaves an entry whose blob is gone,
 * which the next sweep deletes again (deletion is idempotent). Run by one node at a time (a job lease).
 */
export async function collectGarbage(ctx: GcContext, opts: CollectOptions = {}): Promise<GarbageSweep> {
  const now = opts.now ?? Date.now();
  let removed = 0;
  let pending = 0;
  let due: string[] = [];
  const flush = async (): Promise<void> => {
    const ids = due;
    due = [];
    if (ids.length === 0) return;
    for (const id of ids) await ctx.removeBlob(id);
    await ctx.kv.transact((tx) => {
      for (const id of ids) tx.delete(K.garbage(id));
    });
    removed += ids.length;
  };
  for await (const e of ctx.kv.scan(K.garbageAll)) {
    opts.signal?.throwIfAborted();
    if (decode<GarbageRecord>(e.value)!.notBefore > now) pending++;
    else due.push(K.blobIdOf(e.key));
    if (due.length >= BATCH) await flush();
  }
  await flush();
  return { removed, pending };
}

/**
 * The full compare (`coffer gc`): every stored blob against the metadata. A blob that no reference and no garbage
 * entry names, and whose write ended more than `graceMs` ago, is removed (`dryRun`: only reported); one written
 * since then may be a write that has not committed yet. A referenced blob that is not stored is reported as missing.
 *
 * The references are read first, then the blobs listed: a blob is only ever stored before its first reference and
 * deleted after its last, so a reference read before the listing whose blob the listing lacks is missing unless the
 * reference went away meanwhile (checked again), and an unlisted-reference blob is checked again, in a transaction,
 * before it is removed.
 */
export async function compareBlobs(ctx: GcContext, opts: GcOptions & { graceMs: number }): Promise<GcReport> {
  const report: GcReport = {
    blobs: 0,
    bytes: 0,
    referenced: 0,
    garbage: 0,
    young: 0,
    removed: [],
    removedBytes: 0,
    missing: [],
  };
  let expected: number | undefined;
  const progress = (phase: GcProgress['phase'], done: number, force = false): void => {
    opts.signal?.throwIfAborted();
    if (force || done % 1000 === 0)
      opts.onProgress?.({ phase, done, expected: phase === 'blobs' ? expected : undefined });
  };
  const unseen = new Set<string>();
  let read = 0;
  for await (const e of ctx.kv.scan(K.refs)) {
    progress('metadata', ++read);
    if (!decode<RefRecord>(e.value)!.inline) unseen.add(K.blobIdOf(e.key));
  }
  report.referenced = unseen.size;
  const garbage = new Set<string>();
  for await (const e of ctx.kv.scan(K.garbageAll)) {
    progress('metadata', ++read);
    garbage.add(K.blobIdOf(e.key));
  }
  progress('metadata', read, true);
  expected = unseen.size + garbage.size;

  const now = Date.now();
  const candidates: ChunkInfo[] = [];
  for await (const blob of ctx.listBlobs()) {
    progress('blobs', ++report.blobs);
    report.bytes += blob.size;
    if (unseen.delete(blob.id)) continue;
    if (garbage.has(blob.id)) report.garbage++;
    else if (ctx.uncommitted.has(blob.id) || now - blob.lastModified.getTime() < opts.graceMs) report.young++;
    else candidates.push(blob);
  }
  progress('blobs', report.blobs, true);

  for (let i = 0; i < candidates.length; i += BATCH) {
    const batch = candidates.slice(i, i + BATCH);
    // Still unreferenced now? A commit that referenced one since the listing makes it live.
    const dead = await ctx.kv.transact(async (tx) => {
      const out: ChunkInfo[] = [];
      for (const b of batch) {
        const live = (await tx.get(K.ref(b.id))) ?? (await tx.get(K.garbage(b.id)));
        if (live === undefined && !ctx.uncommitted.has(b.id)) out.push(b);
      }
      return out;
    });
    for (const b of dead) {
      if (!opts.dryRun) await ctx.removeBlob(b.id);
      report.removed.push(b.id);
      report.removedBytes += b.size;
    }
  }

  const missing = new Set<string>();
  for (const id of unseen) if ((await ctx.kv.get(K.ref(id))) !== undefined) missing.add(id);
  if (missing.size > 0) {
    const users = new Map<string, { bucket: string; key: string }[]>([...missing].map((id) => [id, []]));
    let objects = 0;
    // Every version's record, the older ones too: a version keeps its blobs until it is deleted for good.
    for await (const rec of objectRecords(ctx.kv)) {
      progress('objects', ++objects);
      for (const s of rec.segments) users.get(s.blobId)?.push({ bucket: rec.bucket, key: rec.key });
    }
    report.missing = [...users].map(([blobId, objs]) => ({ blobId, objects: objs }));
  }
  return report;
}

/** What garbage collection works on in an open store: its engine, its writes in flight and its chunk store. */
export function gcContext(ctx: StoreContext): GcContext {
  return {
    kv: ctx.kv,
    uncommitted: ctx.uncommitted,
    listBlobs: () => ctx.chunks.list(),
    // Errors pass: the garbage sweep must stop before it forgets the entry of a blob it could not delete.
    removeBlob: (id) => ctx.chunks.delete(id),
  };
}
