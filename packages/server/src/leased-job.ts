/**
 * A background job that one node at a time runs when several share the metadata: every `intervalMs`, the node that
 * gets (or keeps) the job's lease runs it. On LevelDB the store is alone and always gets it.
 */
import type { ObjectStore } from '@coffer/blob-store';

/** A running {@link startLeasedJob}. */
export interface LeasedJob {
  /** Stops the runs; waits for one in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `run` soon (within a second), then every `intervalMs` after the last run ended, under the lease `job`, which
 * outlives the interval a little so that its holder keeps it from one run to the next. A failure goes to `onError`;
 * the runs go on.
 */
export function startLeasedJob(
  store: Pick<ObjectStore, 'acquireJobLease'>,
  job: string,
  intervalMs: number,
  run: () => Promise<unknown>,
  onError: (err: unknown) => void,
): LeasedJob {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    running = store
      .acquireJobLease(job, Math.ceil(intervalMs * 1.5))
      .then((mine) => (mine ? run() : undefined))
      .then(() => undefined, onError)
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, Math.min(intervalMs, 1000));
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
