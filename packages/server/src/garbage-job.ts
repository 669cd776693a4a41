/**
 * The garbage job: the one background sweep of a node's store, run by one node at a time when several share the
 * metadata (under a lease, leased-job.ts).
 */
import type { Logger } from 'pino';
import type { ObjectStore } from '@coffer/blob-store';

import { startLeasedJob, type LeasedJob } from './leased-job.ts';

/** The sweeps of the store that the garbage job runs. */
export type GarbageSweeps = Pick<ObjectStore, 'acquireJobLease' | 'collectGarbage' | 'sweep'>;

/** Options of {@link startGarbageJob}. */
export interface GarbageJobOptions {
  /** How often the job runs (ms). */
  intervalMs: number;
  /** Sweep the blobs of writes that never committed too (several nodes share the data). */
  sweepOrphans: boolean;
}

/**
 * Starts the garbage job: deletes the released blobs whose time has come (the garbage list), then, with
 * `sweepOrphans`, the blobs and temp files of writes that never committed once past the sweep grace (the store's
 * sweep), on one node at a time. One node alone needs no orphan sweep while it runs: it sweeps at start, which is
 * when a crash's leftovers appear.
 */
export function startGarbageJob(store: GarbageSweeps, logger: Logger, opts: GarbageJobOptions): LeasedJob {
  const run = async () => {
    const released = await store.collectGarbage();
    const orphans = opts.sweepOrphans ? await store.sweep() : { tmpFiles: 0, blobFiles: 0 };
    if (released.removed + orphans.blobFiles + orphans.tmpFiles > 0) {
      logger.info(
        { released: released.removed, pending: released.pending, orphans: orphans.blobFiles, tmp: orphans.tmpFiles },
        'garbage collected',
      );
    }
  };
  return startLeasedJob(store, 'gc', opts.intervalMs, run, (err) => logger.error({ err }, 'garbage collection failed'));
}
