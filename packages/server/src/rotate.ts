/**
 * Master-key rotation: add a new active master key and re-wrap every SSE-S3 data key under it, without touching
 * data. Resumable: the target key is recorded before re-wrapping starts, and a later run finishes that rotation
 * instead of starting another.
 */
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

/** Counts objects (the progress bar's total) by paging through every bucket. */
async function countObjects(store: ObjectStore): Promise<number> {
  let total = 0;
  for (const bucket of await store.listBuckets()) {
    let after: string | undefined;
    for (;;) {
      const page = await store.listObjects(bucket.name, { after, maxKeys: 1000 });
      total += page.objects.length;
      if (!page.isTruncated || page.objects.length === 0) break;
      after = page.objects[page.objects.length - 1].key;
    }
  }
  return total;
}

/**
 * Rotates the master key of a stopped data directory (or resumes an interrupted rotation) and re-wraps every
 * SSE-S3 data key. Returns the active key ID and the counts.
 */
export async function rotateMasterKey(
  store: ObjectStore,
  ring: MasterKeyRing,
  opts: { onProgress?: (p: RotationProgress) => void; signal?: AbortSignal } = {},
): Promise<{ activeId: string; resumed: boolean; scanned: number; rewrapped: number }> {
  const pending = await store.getRecord<RotationRecord>(NS, ID);
  const resumed = pending?.target === ring.activeId;
  if (!resumed) {
    const target = await ring.rotate();
    await store.putRecord(NS, ID, { v: 1, target, started: new Date().toISOString() } satisfies RotationRecord);
  }
  const total = await countObjects(store);
  const result = await store.rewrapKeys({ signal: opts.signal, onProgress: (p) => opts.onProgress?.({ ...p, total }) });
  // Uploads in progress hold SSE-S3 data keys too.
  const uploads = await new MultipartStore(store).rewrapKeys();
  await store.deleteRecord(NS, ID);
  return { activeId: ring.activeId, resumed, scanned: result.scanned, rewrapped: result.rewrapped + uploads };
}
