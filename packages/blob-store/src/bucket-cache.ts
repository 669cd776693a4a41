/**
 * The cache of bucket records, which every request reads. On LevelDB the store is the only writer while it has the
 * database open (LevelDB's lock) and updates the cache when a commit writes a bucket, so entries never go stale. On a
 * shared engine other nodes write too: an entry is read again once older than {@link SHARED_CACHE_MS}, so another
 * node's change shows within that bound. Every commit reads the bucket inside its transaction, never from here.
 */
import type { KvEngine } from '@coffer/kv';

import { K, decode } from './schema.ts';
import type { BucketRecord } from './types.ts';

/** How long a cached bucket record is trusted when other nodes share the metadata. */
const SHARED_CACHE_MS = 2000;

/** Committed bucket records, with the time each was read or written. */
export class BucketCache {
  readonly #kv: KvEngine;
  readonly #shared: boolean;
  readonly #entries = new Map<string, { rec: BucketRecord; at: number }>();
  /** Bumped by every commit that writes buckets, so that a read racing it leaves the cache alone. */
  #gen = 0;

  constructor(kv: KvEngine, shared: boolean) {
    this.#kv = kv;
    this.#shared = shared;
  }

  /** A committed bucket record, from the cache or the database (which then fills the cache). */
  async get(name: string): Promise<BucketRecord | undefined> {
    const hit = this.#entries.get(name);
    if (hit && !(this.#shared && Date.now() - hit.at > SHARED_CACHE_MS)) return hit.rec;
    const gen = this.#gen;
    const rec = decode<BucketRecord>(await this.#kv.get(K.bucket(name)));
    // A commit that wrote buckets meanwhile may have made this read stale: then leave the cache alone.
    if (gen === this.#gen) {
      if (rec) this.#entries.set(name, { rec: freezeBucket(rec), at: Date.now() });
      else this.#entries.delete(name);
    }
    return rec;
  }

  /** Takes the buckets a commit wrote (`null`: deleted). */
  committed(buckets: ReadonlyMap<string, BucketRecord | null>): void {
    if (buckets.size === 0) return;
    this.#gen++;
    for (const [name, rec] of buckets) {
      if (rec === null) this.#entries.delete(name);
      else this.#entries.set(name, { rec: freezeBucket(rec), at: Date.now() });
    }
  }

  /** Forgets everything: after a failed write, which may have landed, the cache is no longer known to be right. */
  clear(): void {
    this.#gen++;
    this.#entries.clear();
  }
}

/** Cached bucket records are shared: frozen, so that no caller can change the cache by accident. */
function freezeBucket(rec: BucketRecord): BucketRecord {
  if (rec.encryption) Object.freeze(rec.encryption);
  return Object.freeze(rec);
}
