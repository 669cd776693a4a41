/**
 * Master-key rotation: add a new active master key and re-wrap every SSE-S3 data key under it, without touching
 * data. Resumable: the target key is recorded before re-wrapping starts, and a later run finishes that rotation
 * instead of starting another.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import type { ObjectStore } from '@coffer/blob-store';
import type { MasterKeyRing } from '@coffer/crypto';
import { MultipartStore } from '@coffer/multipart';

const NS = 'system';
const ID = 'rotation';

/** The record of a rotation in progress. */
interface RotationRecord {
  v: 1;
  target: string;
  started: string;
}

/** Progress of a rotation, for a progress bar. */
export interface RotationProgress {
  scanned: number;
  rewrapped: number;
  total: number;
}

/** Counts object versions (the progress bar's total; every version has a data key) by paging through every bucket. */
async function countObjects(store: ObjectStore): Promise<number> {
  let total = 0;
  for (const bucket of await store.listBuckets()) {
    let markers: { keyMarker?: string; versionIdMarker?: string } = {};
    for (;;) {
      const page = await store.listObjectVersions(bucket.name, { ...markers, maxKeys: 1000 });
      total += page.versions.filter((e) => !e.rec.deleteMarker).length;
      if (!page.isTruncated) break;
      markers = { keyMarker: page.nextKeyMarker, versionIdMarker: page.nextVersionIdMarker };
    }
  }
  return total;
}

/**
 * Rotates the master key of a stopped data directory, or of a shared metadata database under running nodes (or
 * resumes an interrupted rotation), and re-wraps every SSE-S3 data key. Returns the active key ID and the counts.
 */
export async function rotateMasterKey(
  store: ObjectStore,
  ring: MasterKeyRing,
  opts: {
    onProgress?: (p: RotationProgress) => void;
    signal?: AbortSignal;
    /**
     * How long running nodes take to read a key added to the ring (shared metadata: their reload interval, and
     * then some). The new key is added, this long passes, and only then is it made active: so no node meets a data
     * key wrapped under a key it does not know yet. 0 (the default) for a ring no running node shares.
     */
    propagationMs?: number;
  } = {},
): Promise<{ activeId: string; resumed: boolean; scanned: number; rewrapped: number }> {
  const pending = await store.getRecord<RotationRecord>(NS, ID);
  const resumed = pending?.target === ring.activeId;
  if (!resumed) {
    const target = await ring.addKey();
    if (opts.propagationMs) await sleep(opts.propagationMs, undefined, { signal: opts.signal });
    await ring.activate(target);
    await store.putRecord(NS, ID, { v: 1, target, started: new Date().toISOString() } satisfies RotationRecord);
  }
  const total = await countObjects(store);
  const result = await store.rewrapKeys({ signal: opts.signal, onProgress: (p) => opts.onProgress?.({ ...p, total }) });
  // Uploads in progress hold SSE-S3 data keys too.
  const uploads = await new MultipartStore(store).rewrapKeys();
  await store.deleteRecord(NS, ID);
  return { activeId: ring.activeId, resumed, scanned: result.scanned, rewrapped: result.rewrapped + uploads };
}
