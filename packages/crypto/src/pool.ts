import { availableParallelism } from 'node:os';

import { Piscina } from 'piscina';

import type { PoolResult, PoolTask } from './pool-worker.ts';

/** Options of {@link CryptoPool.open}. */
export interface CryptoPoolOptions {
  /**
   * Worker threads, started once by `open()` and kept for the pool's life. Default `max(1, cores − 1)`: one core
   * is left to the request thread, which parses HTTP and writes files (the MD5 of large bodies runs on the one
   * digest worker of `OffThreadHash`, beside these).
   */
  threads?: number;
  /**
   * Batches one stream may have in the pool at once. When the window is full the stream stops taking input, so a
   * slow disk or client slows the reader instead of filling memory. Default 4 (≈ 4 MiB per stream).
   */
  maxInFlightBatches?: number;
  /** Plaintext bytes per batch, rounded down to whole chunks (at least one). Default 1 MiB (16 chunks of 64 KiB). */
  batchBytes?: number;
  /**
   * A stream whose whole body turns out to be smaller than this is encrypted or decrypted inline, on the calling
   * thread: for small bodies the round trip to a worker costs more than it saves. Precisely: the first
   * `inlineBelow` bytes of every encrypt stream are encrypted inline, the rest in the pool; a decrypt stream whose
   * span is smaller is decrypted inline. Default 1 MiB (measured by benchmarks/src/crypto-micro.ts: inline beat the
   * pool for every body up to 2 MiB on the 2-core machine, see benchmarks/README.md).
   */
  inlineBelow?: number;
}

/** The defaults of {@link CryptoPoolOptions}. */
export const CRYPTO_POOL_DEFAULTS: Readonly<Required<Omit<CryptoPoolOptions, 'threads'>>> = Object.freeze({
  maxInFlightBatches: 4,
  batchBytes: 1024 * 1024,
  inlineBelow: 1024 * 1024,
});

/** The default thread count: `max(1, availableParallelism() − 1)`. */
export function defaultCryptoThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

const MAX_THREADS = 256;
const MAX_BATCH_BYTES = 64 * 1024 * 1024;

function intOption(value: unknown, def: number, name: string, min: number, max: number): number {
  const v = value === undefined ? def : value;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new TypeError(`options.${name} must be an integer`);
  if (v < min || v > max) throw new RangeError(`options.${name} must be between ${min} and ${max}`);
  return v;
}

/**
 * The worker's `execArgv`: the parent's when it already loads tsx (`node --import tsx`, the `tsx` command);
 * otherwise the parent's plus `--import <tsx loader>`, because the worker file is TypeScript.
 */
function workerExecArgv(): string[] {
  if (process.execArgv.some((a) => a.includes('tsx'))) return process.execArgv;
  let loader = 'tsx';
  try {
    loader = import.meta.resolve('tsx');
  } catch {
    // leave the bare specifier: resolved from the working directory
  }
  return [...process.execArgv, '--import', loader];
}

/** A job for the pool: the fields of a {@link PoolTask} but the buffer, which is moved. */
export type PoolJob = Omit<PoolTask, 'buffer' | 'length'>;

/**
 * A fixed set of worker threads (piscina) that encrypt and decrypt batches of chunks for
 * `createEncryptStream` / `createDecryptStream` (option `pool`). Buffers move to the workers and back with
 * `transferList` — never structured-cloned — and each stream bounds its own batches in flight.
 *
 * Open one per process with {@link CryptoPool.open}; share it between all requests; {@link CryptoPool.close} it
 * after the last stream using it has ended (streams still running fail).
 */
export class CryptoPool {
  /** Worker threads. */
  readonly threads: number;
  /** Batches one stream may have in flight. */
  readonly maxInFlightBatches: number;
  /** Plaintext bytes per batch (before rounding to whole chunks). */
  readonly batchBytes: number;
  /** Bodies smaller than this are processed inline. */
  readonly inlineBelow: number;
  readonly #piscina: Piscina;
  #inFlight = 0;
  #peak = 0;
  #closed = false;

  private constructor(piscina: Piscina, o: Required<CryptoPoolOptions>) {
    this.#piscina = piscina;
    this.threads = o.threads;
    this.maxInFlightBatches = o.maxInFlightBatches;
    this.batchBytes = o.batchBytes;
    this.inlineBelow = o.inlineBelow;
  }

  /** Starts `threads` workers and waits until each has loaded its code, so no request pays for a start. */
  static async open(options: CryptoPoolOptions = {}): Promise<CryptoPool> {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
    const o: Required<CryptoPoolOptions> = {
      threads: intOption(options.threads, defaultCryptoThreads(), 'threads', 1, MAX_THREADS),
      maxInFlightBatches: intOption(
        options.maxInFlightBatches,
        CRYPTO_POOL_DEFAULTS.maxInFlightBatches,
        'maxInFlightBatches',
        1,
        1024,
      ),
      batchBytes: intOption(options.batchBytes, CRYPTO_POOL_DEFAULTS.batchBytes, 'batchBytes', 1, MAX_BATCH_BYTES),
      inlineBelow: intOption(
        options.inlineBelow,
        CRYPTO_POOL_DEFAULTS.inlineBelow,
        'inlineBelow',
        0,
        Number.MAX_SAFE_INTEGER,
      ),
    };
    const piscina = new Piscina({
      filename: new URL('./pool-worker.ts', import.meta.url).href,
      minThreads: o.threads,
      maxThreads: o.threads,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      atomics: 'disabled', // measured: a shorter round trip than Atomics.wait, and an idle worker costs nothing
      execArgv: workerExecArgv(),
    });
    const pool = new CryptoPool(piscina, o);
    try {
      // One ping per worker, all at once: with one task per worker each lands on a different thread.
      const ping: PoolTask = {
        op: 'ping',
        key: new Uint8Array(0),
        firstIndex: 0,
        finalIndex: -1,
        plainSize: 0,
        chunkSize: 1,
        buffer: new ArrayBuffer(0),
        length: 0,
        lastPlainLength: 0,
      };
      await Promise.all(Array.from({ length: o.threads }, () => piscina.run({ ...ping })));
    } catch (err) {
      await piscina.destroy();
      throw err;
    }
    return pool;
  }

  /** Tasks submitted and not yet settled, over all streams (diagnostics and tests). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The highest {@link inFlight} seen since the pool opened or {@link resetPeak} was called. */
  get peakInFlight(): number {
    return this.#peak;
  }

  /** Resets {@link peakInFlight} to the current {@link inFlight}. */
  resetPeak(): void {
    this.#peak = this.#inFlight;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whole chunks per batch for a stream of `chunkSize`-byte chunks (at least one). */
  batchChunks(chunkSize: number): number {
    return Math.max(1, Math.floor(this.batchBytes / chunkSize));
  }

  /**
   * Runs one batch. `buffer` is moved to the worker (detached here) and comes back in the result. Used by the
   * streams; `job.key` is copied into the task, and the worker wipes its copy.
   */
  run(job: PoolJob, buffer: ArrayBuffer, length: number): Promise<PoolResult> {
    if (this.#closed) return Promise.reject(new Error('the crypto pool is closed'));
    const task: PoolTask = { ...job, key: Uint8Array.from(job.key), buffer, length };
    this.#inFlight++;
    if (this.#inFlight > this.#peak) this.#peak = this.#inFlight;
    const done = () => {
      this.#inFlight--;
    };
    const p = this.#piscina.run(task, { transferList: [buffer] }) as Promise<PoolResult>;
    p.then(done, done);
    return p;
  }

  /** Stops the workers after the tasks already submitted have finished. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#piscina.close();
  }
}
