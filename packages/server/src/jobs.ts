/**
 * Background jobs that one node at a time runs when several share the metadata (the lifecycle rules, the garbage
 * sweep): each run first takes the job's lease in the metadata, and the node that gets it runs the job.
 */
import type { Logger } from 'pino';
import type { ObjectStore } from '@coffer/blob-store';

/** The store's leases on background jobs. */
export type JobLeases = Pick<ObjectStore, 'acquireJobLease'>;

/** Runs `run` soon after {@link start}, then every `intervalMs`, on whichever node holds the lease of `job`. */
export class LeasedJob {
  readonly #leases: JobLeases;
  readonly #job: string;
  readonly #run: () => Promise<unknown>;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  /** `onError` receives the failures of a run (the next run comes all the same). */
  constructor(leases: JobLeases, job: string, run: () => Promise<unknown>, onError: (err: unknown) => void) {
    this.#leases = leases;
    this.#job = job;
    this.#run = run;
    this.#onError = onError;
  }

  /** True once {@link stop} was called: a long run checks it to end early. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs once soon (within a second), then every `intervalMs`. */
  start(intervalMs: number): void {
    const tick = () => {
      // The lease outlives the interval a little, so that its holder renews it before another node can take it.
      const lease = Math.ceil(intervalMs * 1.5);
      this.#running = this.#leases
        .acquireJobLease(this.#job, lease)
        .then((mine) => (mine ? this.#run() : undefined))
        .then(() => undefined, this.#onError)
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped) this.#timer = setTimeout(tick, intervalMs);
        });
    };
    this.#timer = setTimeout(tick, Math.min(intervalMs, 1000));
  }

  /** Stops the runs; waits for one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}

/** The sweeps of the store that the garbage job runs. */
export type GarbageSweeps = Pick<ObjectStore, 'acquireJobLease' | 'collectGarbage' | 'sweep'>;

/**
 * The garbage job: deletes the released blobs whose time has come (the garbage list), then, with `sweepOrphans`,
 * the blobs of writes that never committed once past the grace (the sweep), on one node at a time. One node alone
 * needs no orphan sweep while it runs: it sweeps at start, which is when a crash's leftovers appear.
 */
export function garbageJob(store: GarbageSweeps, logger: Logger, opts: { sweepOrphans: boolean }): LeasedJob {
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
  return new LeasedJob(store, 'gc', run, (err) => logger.error({ err }, 'garbage collection failed'));
}
