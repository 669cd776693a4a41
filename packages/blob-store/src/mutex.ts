/**
 * A FIFO async mutex. The store runs every metadata commit (read-check-write of LevelDB) under one, which makes
 * the precondition checks (If-None-Match, If-Match) and refcount updates atomic within this process. LevelDB's lock
 * file keeps other processes out of the data directory.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** Runs `fn` once every earlier holder has finished; its result (or error) is passed through. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => { release = resolve; });
    this.#pending++;
    try {
      await prev;
      return await fn();
    } finally {
      this.#pending--;
      release();
    }
  }

  /** Number of holders running or waiting. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves when every holder queued so far has finished. */
  async idle(): Promise<void> {
    await this.run(async () => undefined);
  }
}
