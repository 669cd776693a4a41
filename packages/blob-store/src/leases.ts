/**
 * Leases: on blob files, so that a file freed while a reader has it open is unlinked only when the last reader
 * closes; and on background jobs, so that one node at a time runs a job when several share the metadata.
 */
import type { ChunkStore } from '@coffer/chunk-store';

import type { ObjectStore } from './contract.ts';
import { JOB_LEASE_NS as LEASE_NS } from './schema.ts';
import { checkId } from './validation.ts';
import { removeBlob } from './write.ts';

/** Open readers per blob file, and the freed files that wait for their last reader. */
export class BlobLeases {
  readonly #chunks: ChunkStore;
  readonly #readers = new Map<string, number>();
  readonly #unlinkLater = new Set<string>();

  constructor(chunks: ChunkStore) {
    this.#chunks = chunks;
  }

  /** Takes one reader's lease on each of `ids`. */
  lease(ids: readonly string[]): void {
    for (const id of ids) this.#readers.set(id, (this.#readers.get(id) ?? 0) + 1);
  }

  /** Returns the leases of {@link lease}; a freed file whose last reader this was is unlinked now. */
  unlease(ids: readonly string[]): void {
    for (const id of ids) {
      const n = (this.#readers.get(id) ?? 1) - 1;
      if (n > 0) {
        this.#readers.set(id, n);
        continue;
      }
      this.#readers.delete(id);
      if (this.#unlinkLater.delete(id)) void removeBlob(this.#chunks, id);
    }
  }

  /** Unlinks a blob file no record references any more, or once its last reader closes. */
  free(id: string): void {
    if (this.#readers.has(id)) this.#unlinkLater.add(id);
    else void removeBlob(this.#chunks, id);
  }
}

/**
 * Takes (or keeps) the lease on `job` for `ttlMs` for `holder` (a store's identity): true when it holds it now. A
 * lease whose holder stopped renewing it is free once it has run out.
 */
export async function acquireJobLease(
  store: Pick<ObjectStore, 'transaction'>,
  holder: string,
  job: string,
  ttlMs: number,
): Promise<boolean> {
  checkId(job);
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer');
  return store.transaction(async (tx) => {
    const now = Date.now();
    const cur = await tx.getRecord<{ holder: string; until: number }>(LEASE_NS, job);
    if (cur && cur.holder !== holder && cur.until > now) return false;
    tx.putRecord(LEASE_NS, job, { holder, until: now + ttlMs });
    return true;
  });
}
