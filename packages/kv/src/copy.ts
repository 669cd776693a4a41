/**
 * Copying every key of one engine into another, byte for byte, and verifying the copy: what moving a store from
 * LevelDB to PostgreSQL needs. Engine-generic: it knows nothing of the layout above the contract.
 *
 * Each run makes the target equal to the source by one merge of both in key order, writing only the keys that are
 * missing or different (and deleting the target's keys the source lacks), in transactions of bounded size. So a run
 * that was interrupted (Ctrl-C, kill -9) goes on where it stopped when run again: what was copied is compared, not
 * written again; and a run over a finished copy writes nothing. Comparing from the start, rather than trusting the
 * last copied key, also catches a source that changed between two runs.
 */
import { KvError } from './errors.ts';
import type { KvEngine, KvEntry, KvKey, KvRange, KvReader } from './types.ts';

/** Options of {@link copyEngine}. */
export interface CopyOptions {
  /**
   * A key that the layout above the engines never uses (never copied, never compared): the copy sets it in the target
   * before its first write and removes it once the copy is verified. A target holding it is a copy in progress of a
   * source, whose keys a run after an interruption may overwrite and delete.
   */
  progressKey: KvKey;
  /**
   * Ranges of keys that belong to the running source rather than to its data (e.g. job leases, whose holder is a
   * process of the source): never copied, compared, counted or deleted, on either side. Default none.
   */
  exclude?: readonly KvRange[];
  /** Most writes in one transaction of the target. Default 500. */
  batchSize?: number;
  /** Copy into a target that holds keys the source does not have (another namespace), deleting them. Default false. */
  force?: boolean;
  /** Keys read back one by one from both engines at the end, at random (all if fewer). Default 1000. */
  sampleSize?: number;
  /** Called as keys are compared: first by the copy, then by the verification. */
  onProgress?: (progress: CopyProgress) => void;
  /** Stops the copy between transactions with an `AbortError`; what was committed stays. */
  signal?: AbortSignal;
}

/** What {@link CopyOptions.onProgress} is told. */
export interface CopyProgress {
  phase: 'copy' | 'verify';
  /** Source keys compared so far in this phase. */
  done: number;
  /** Source keys in all (counted before the copy). */
  total: number;
  /** Keys written or deleted in the target so far (reported after each commit, too). */
  written: number;
}

/** The outcome of {@link copyEngine}. */
export interface CopyReport {
  /** Keys in the source. */
  keys: number;
  /** Keys set in the target (missing there, or with another value). */
  written: number;
  /** Keys removed from the target (the source does not have them). */
  deleted: number;
  /** The target held a copy in progress (an interrupted earlier run). */
  resumed: boolean;
  /** The verification: keys counted on each side, keys that differ, and the sample of point reads. */
  verify: {
    sourceKeys: number;
    targetKeys: number;
    /** Keys present on one side only or with different values, found by comparing both in key order. */
    differing: number;
    sampled: number;
    /** Sampled keys whose value read from the target is not byte-equal to the source's. */
    sampleDiffering: number;
  };
  /** True when both sides hold the same keys with the same bytes: the progress key was then removed. */
  verified: boolean;
}

const DEFAULTS = Object.freeze({ batchSize: 500, force: false, sampleSize: 1000 });

/** One key of the merge of two ordered scans, with its value on each side (undefined where absent). */
interface Pair {
  key: Buffer;
  a: Buffer | undefined;
  b: Buffer | undefined;
}

/** True when `key` lies in `range` (its bounds only; `limit` does not apply). */
function inRange(key: Buffer, r: KvRange): boolean {
  if (r.gt && Buffer.compare(key, r.gt) <= 0) return false;
  if (r.gte && Buffer.compare(key, r.gte) < 0) return false;
  if (r.lt && Buffer.compare(key, r.lt) >= 0) return false;
  if (r.lte && Buffer.compare(key, r.lte) > 0) return false;
  return true;
}

/** The keys a copy leaves alone: the progress key and the excluded ranges. */
type Skip = (key: Buffer) => boolean;

/** Every entry of `db`, in key order, without those `skip` names. */
async function* entries(db: KvReader, skip: Skip): AsyncGenerator<KvEntry> {
  for await (const e of db.scan({})) if (!skip(e.key)) yield e;
}

/** The merge of two scans in key order. */
async function* merge(a: AsyncIterable<KvEntry>, b: AsyncIterable<KvEntry>): AsyncGenerator<Pair> {
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  try {
    yield* mergeFrom(ia, ib);
  } finally {
    // an early end (a failed write, an abort) must close both scans: an open LevelDB iterator holds the database
    await Promise.all([ia.return?.(), ib.return?.()]);
  }
}

async function* mergeFrom(ia: AsyncIterator<KvEntry>, ib: AsyncIterator<KvEntry>): AsyncGenerator<Pair> {
  let x = await ia.next();
  let y = await ib.next();
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : Buffer.compare(x.value.key, y.value.key);
    if (c < 0) {
      yield { key: x.value!.key, a: x.value!.value, b: undefined };
      x = await ia.next();
    } else if (c > 0) {
      yield { key: y.value!.key, a: undefined, b: y.value!.value };
      y = await ib.next();
    } else {
      yield { key: x.value!.key, a: x.value!.value, b: y.value!.value };
      x = await ia.next();
      y = await ib.next();
    }
  }
}

const same = (p: Pair) => p.a !== undefined && p.b !== undefined && p.a.equals(p.b);

/** Calls `onProgress` every this many keys (and at the end of a phase): a bar needs no more. */
const PROGRESS_EVERY = 100;

/**
 * Copies every key of `source` into `target` (see the module comment), then verifies: both scanned again in key
 * order (same keys, same bytes, same count) and a random sample of keys read back from each by `get`. Throws
 * `KV_TARGET_FOREIGN` before writing anything if the target holds keys the source lacks and is not a copy in
 * progress (unless `force`). Neither engine may be written by anyone else meanwhile.
 */
export async function copyEngine(source: KvEngine, target: KvEngine, options: CopyOptions): Promise<CopyReport> {
  const opts = {
    ...options,
    batchSize: options.batchSize ?? DEFAULTS.batchSize,
    force: options.force ?? DEFAULTS.force,
    sampleSize: options.sampleSize ?? DEFAULTS.sampleSize,
  };
  if (!(opts.progressKey instanceof Uint8Array) || opts.progressKey.byteLength === 0) {
    throw new TypeError('options.progressKey must be a non-empty Uint8Array');
  }
  for (const name of ['batchSize', 'sampleSize'] as const) {
    if (!Number.isInteger(opts[name]) || opts[name] < 1) {
      throw new RangeError(`options.${name} must be a positive whole number`);
    }
  }
  const progressKey = Buffer.from(opts.progressKey);
  const exclude = opts.exclude ?? [];
  const skip: Skip = (key) => key.equals(progressKey) || exclude.some((r) => inRange(key, r));
  let written = 0;
  let deleted = 0;
  const report = (phase: CopyProgress['phase'], done: number, total: number) =>
    opts.onProgress?.({ phase, done, total, written: written + deleted });

  const resumed = (await target.get(progressKey)) !== undefined;
  // Counting first gives the bar its total; the same pass finds a foreign namespace before anything is written.
  let total = 0;
  let foreign = 0;
  for await (const p of merge(entries(source, skip), entries(target, skip))) {
    if (p.a !== undefined) total++;
    else foreign++;
  }
  if (foreign > 0 && !resumed && !opts.force) {
    throw new KvError(
      'KV_TARGET_FOREIGN',
      `the target holds ${foreign} keys that the source does not have ` +
        '(another namespace, or written since an earlier copy)',
    );
  }
  if (!resumed) {
    const record = Buffer.from(JSON.stringify({ v: 1, started: new Date().toISOString() }));
    await target.transact((tx) => tx.set(progressKey, record));
  }

  let done = 0;
  let batch: Pair[] = [];
  const flush = async () => {
    opts.signal?.throwIfAborted();
    const ops = batch;
    batch = [];
    await target.transact(
      (tx) => {
        for (const p of ops)
          if (p.a === undefined) tx.delete(p.key);
          else tx.set(p.key, p.a);
      },
      { signal: opts.signal },
    );
    for (const p of ops)
      if (p.a === undefined) deleted++;
      else written++;
    report('copy', done, total);
  };
  report('copy', 0, total);
  for await (const p of merge(entries(source, skip), entries(target, skip))) {
    if (p.a !== undefined && ++done % PROGRESS_EVERY === 0) report('copy', done, total);
    if (same(p)) continue;
    batch.push(p);
    if (batch.length >= opts.batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  report('copy', done, total);

  const verify = await verifyCopy(source, target, skip, opts.sampleSize, (n) => report('verify', n, total));
  const verified = verify.sourceKeys === verify.targetKeys && verify.differing === 0 && verify.sampleDiffering === 0;
  if (verified) await target.transact((tx) => tx.delete(progressKey));
  return { keys: total, written, deleted, resumed, verify, verified };
}

/** Compares both engines in key order, then reads a reservoir sample of the source's keys back from each. */
async function verifyCopy(
  source: KvEngine,
  target: KvEngine,
  skip: Skip,
  sampleSize: number,
  onProgress: (done: number) => void,
): Promise<CopyReport['verify']> {
  let sourceKeys = 0;
  let targetKeys = 0;
  let differing = 0;
  const sample: Buffer[] = [];
  for await (const p of merge(entries(source, skip), entries(target, skip))) {
    if (p.b !== undefined) targetKeys++;
    if (!same(p)) differing++;
    if (p.a === undefined) continue;
    sourceKeys++;
    // reservoir sampling (Algorithm R): every key is kept with the same chance, in one pass of unknown length
    if (sample.length < sampleSize) sample.push(p.key);
    else {
      const j = Math.floor(Math.random() * sourceKeys);
      if (j < sampleSize) sample[j] = p.key;
    }
    if (sourceKeys % PROGRESS_EVERY === 0) onProgress(sourceKeys);
  }
  onProgress(sourceKeys);
  let sampleDiffering = 0;
  for (const key of sample) {
    const [a, b] = await Promise.all([source.get(key), target.get(key)]);
    if (a === undefined || b === undefined || !a.equals(b)) sampleDiffering++;
  }
  return { sourceKeys, targetKeys, differing, sampled: sample.length, sampleDiffering };
}
