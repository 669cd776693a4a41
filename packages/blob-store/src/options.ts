import { type ChunkStore, type FileOps, type FileWriteFn, NODE_FS } from '@coffer/chunk-store';
import { CHUNK_SIZE, type CryptoPool, type MasterKeyRing } from '@coffer/crypto';

export type { FileOps, FileWriteFn };

/**
 * Writes one metadata batch. Test-only seam: a hook receives the real write and may fail before calling it (the
 * batch is not applied) or after (applied, but reported failed), or stop the process at either side.
 */
export type BatchHook = (write: () => Promise<void>) => Promise<void>;

/**
 * Named points of the commit protocol where a crash test may stop the process: `blob-stored` (a blob file is
 * fsync'd, renamed into `blobs/` and its directory fsync'd; no record refers to it yet) and `sweep-unlink` (the
 * sweep found a file to remove and is about to unlink it). The metadata batch is covered by {@link BatchHook}.
 */
export type CommitPoint = 'blob-stored' | 'sweep-unlink';

/** Options of {@link BlobStore.open}. */
export interface BlobStoreOptions {
  /** The data directory. `meta/` (LevelDB), `blobs/` and `tmp/` are created inside it. */
  dir: string;
  /**
   * A `postgres://` URL: the metadata lives in that PostgreSQL database (several Coffer nodes may share it) instead
   * of LevelDB in `dir/meta/`. Blob files stay in `dir`, which the nodes must then share.
   */
  meta?: string;
  /**
   * Where the blobs (the encrypted data of objects and parts) go: a `@coffer/chunk-store` ChunkStore, such as an
   * `S3ChunkStore` on a Ceph or S3 backend. Default: a `LocalChunkStore` in `dir` (`blobs/xx/yy/ID`, `tmp/`), built
   * from `sync`, `writeBufferSize`, `readBufferSize` and `testing`. The store owns it: `close()` closes it, and so does
   * an `open()` that fails.
   */
  chunks?: ChunkStore;
  /** Master key ring: SSE-S3 data keys are wrapped under `keyRing.key(keyRing.activeId)`. */
  keyRing: Pick<MasterKeyRing, 'activeId' | 'key'>;
  /** Plaintext chunk size for new objects (default 65536). Stored per object, so it may change between runs. */
  chunkSize?: number;
  /**
   * Durable writes (default true): every LevelDB batch is written with `sync: true`, and blob files and their
   * directories are fsync'd before the commit. `false` is for tests and benchmarks only: a crash may then lose
   * acknowledged writes.
   */
  sync?: boolean;
  /** Blob writes are coalesced into writes of at least this many bytes (default 1 MiB). */
  writeBufferSize?: number;
  /** highWaterMark of blob file read streams (default 1 MiB). */
  readBufferSize?: number;
  /**
   * Objects of at most this many plaintext bytes (default 65536) are encrypted in memory, in the same chunk format
   * and under the same keys, and their ciphertext is committed into LevelDB (sublevel `d`) by the same synced batch
   * as their record, instead of a blob file (temp file, fsync, rename, directory fsync). `0` keeps every object in
   * files. Multipart parts are always files.
   */
  inlineMax?: number;
  /** Worker pool for chunk encryption and decryption; without it, chunks are processed on the calling thread. */
  cryptoPool?: CryptoPool;
  /**
   * How long a commit waits for its LevelDB batch to be written, in ms (default 30 000; 0: no bound). A batch still
   * being written then fails its commits with `BLOB_UNAVAILABLE`, and the store takes no commit until the write
   * settles (and, if it failed, the database is reopened), so a stuck disk cannot hold requests forever.
   */
  commitTimeoutMs?: number;
  /**
   * With shared metadata (`meta`), the sweeps leave an unreferenced blob (or temp file) younger than this many ms:
   * it may be another node's write in progress, not yet committed. Longer than any upload takes from its first byte to
   * its commit (default 15 minutes; at least 1 s). The store's sweep at open, the server's periodic sweep and `gc()`
   * by default use it. On LevelDB the store is alone and knows its own writes: the grace is 0 there.
   */
  sweepGraceMs?: number;
  /**
   * How long a blob file released by a commit (its object or version overwritten or deleted, an upload's unused part)
   * stays before it may be deleted, in ms: the commit puts it on the garbage list with this not-before time, and the
   * garbage sweep ({@link BlobStore.collectGarbage}) deletes it once due. It must be longer than the longest read,
   * so that a node still streaming the old data keeps it. Default 15 minutes with `meta` (several nodes);
   * 0 without, where a freed file goes at once after its commit (this process's own readers keep it until they end).
   */
  garbageDelayMs?: number;
  /** Sweep `tmp/` and unreferenced blob files at open (default true); `coffer gc --dry-run` opens without it. */
  sweepAtOpen?: boolean;
  /**
   * TEST ONLY: fault injection. Never set it in production. `write` replaces `FileHandle.write` in the blob writer,
   * so that tests can simulate a short write on a full disk; `fs` replaces the file-system calls of the write paths
   * ({@link FileOps}, default `node:fs/promises`), so that a test can fail the N-th one; `batch` wraps every metadata
   * batch write ({@link BatchHook}); `point` is called at the named points of the commit protocol
   * ({@link CommitPoint}), for crash tests.
   */
  testing?: { write?: FileWriteFn; fs?: FileOps; batch?: BatchHook; point?: (name: CommitPoint) => void };
}

/** Defaults of the optional {@link BlobStoreOptions} fields. */
export const DEFAULT_OPTIONS = Object.freeze({
  chunkSize: CHUNK_SIZE,
  sync: true,
  writeBufferSize: 1024 * 1024,
  readBufferSize: 1024 * 1024,
  inlineMax: 64 * 1024,
  // Far above a synced batch's usual milliseconds, even on a loaded disk; short enough for a client to retry.
  commitTimeoutMs: 30_000,
  // Far above the time from a blob file's first write to its commit.
  sweepGraceMs: 15 * 60_000,
  // Far above a GET's usual duration (a 5 GiB object at 10 MB/s takes ~9 minutes).
  sharedGarbageDelayMs: 15 * 60_000,
});

/** The longest garbage delay or sweep grace accepted: a week. */
const MAX_DELAY_MS = 7 * 24 * 3_600_000;

/** The options after defaults and checks. */
export interface ResolvedOptions {
  dir: string;
  meta: string | undefined;
  /** The chunk store given in the options; `undefined`: the store opens a LocalChunkStore in `dir`. */
  chunks: ChunkStore | undefined;
  keyRing: Pick<MasterKeyRing, 'activeId' | 'key'>;
  chunkSize: number;
  sync: boolean;
  writeBufferSize: number;
  readBufferSize: number;
  inlineMax: number;
  cryptoPool: CryptoPool | undefined;
  commitTimeoutMs: number;
  /** The sweeps' grace: `sweepGraceMs` with `meta`, else 0. */
  sweepGraceMs: number;
  garbageDelayMs: number;
  sweepAtOpen: boolean;
  write: FileWriteFn | undefined;
  /** The file-system calls of the write paths (`testing.fs`, else {@link NODE_FS}). */
  fs: FileOps;
  batch: BatchHook | undefined;
  point: ((name: CommitPoint) => void) | undefined;
}

function positiveInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`options.${name} must be an integer`);
  if (value < min || value > max) throw new RangeError(`options.${name} must be between ${min} and ${max}`);
  return value;
}

/** Applies defaults and validates; throws TypeError/RangeError naming the option. */
export function resolveOptions(opts: BlobStoreOptions): ResolvedOptions {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  if (typeof opts.dir !== 'string' || opts.dir === '') throw new TypeError('options.dir must be a non-empty string');
  const ring = opts.keyRing as unknown;
  if (
    ring === null ||
    typeof ring !== 'object' ||
    typeof (ring as { key?: unknown }).key !== 'function' ||
    typeof (ring as { activeId?: unknown }).activeId !== 'string'
  ) {
    throw new TypeError('options.keyRing must be a MasterKeyRing');
  }
  if (opts.sync !== undefined && typeof opts.sync !== 'boolean') throw new TypeError('options.sync must be a boolean');
  if (opts.meta !== undefined && (typeof opts.meta !== 'string' || !/^postgres(ql)?:\/\//.test(opts.meta))) {
    throw new TypeError('options.meta must be a postgres:// URL');
  }
  const chunks = opts.chunks as unknown;
  if (
    chunks !== undefined &&
    (chunks === null || typeof chunks !== 'object' || typeof (chunks as { write?: unknown }).write !== 'function')
  ) {
    throw new TypeError('options.chunks must be a ChunkStore');
  }
  if (opts.sweepAtOpen !== undefined && typeof opts.sweepAtOpen !== 'boolean')
    throw new TypeError('options.sweepAtOpen must be a boolean');
  const shared = opts.meta !== undefined;
  // Checked on either engine, used with `meta` only.
  const sweepGraceMs = positiveInt(
    'sweepGraceMs',
    opts.sweepGraceMs ?? DEFAULT_OPTIONS.sweepGraceMs,
    1000,
    MAX_DELAY_MS,
  );
  const write = opts.testing?.write;
  if (write !== undefined && typeof write !== 'function')
    throw new TypeError('options.testing.write must be a function');
  const fs = opts.testing?.fs;
  if (
    fs !== undefined &&
    (fs === null ||
      typeof fs !== 'object' ||
      Object.keys(NODE_FS).some((k) => typeof (fs as unknown as Record<string, unknown>)[k] !== 'function'))
  ) {
    throw new TypeError('options.testing.fs must be an object of file-system functions');
  }
  for (const hook of ['batch', 'point'] as const) {
    const f = opts.testing?.[hook];
    if (f !== undefined && typeof f !== 'function') throw new TypeError(`options.testing.${hook} must be a function`);
  }
  return {
    dir: opts.dir,
    meta: opts.meta,
    chunks: opts.chunks,
    keyRing: opts.keyRing,
    // The chunk size only needs to fit the chunk format (u64 indexes); keep it to sane sizes.
    chunkSize: positiveInt('chunkSize', opts.chunkSize ?? DEFAULT_OPTIONS.chunkSize, 16, 16 * 1024 * 1024),
    sync: opts.sync ?? DEFAULT_OPTIONS.sync,
    writeBufferSize: positiveInt(
      'writeBufferSize',
      opts.writeBufferSize ?? DEFAULT_OPTIONS.writeBufferSize,
      1,
      64 * 1024 * 1024,
    ),
    readBufferSize: positiveInt(
      'readBufferSize',
      opts.readBufferSize ?? DEFAULT_OPTIONS.readBufferSize,
      1,
      64 * 1024 * 1024,
    ),
    inlineMax: positiveInt('inlineMax', opts.inlineMax ?? DEFAULT_OPTIONS.inlineMax, 0, 1024 * 1024),
    cryptoPool: opts.cryptoPool,
    commitTimeoutMs: positiveInt(
      'commitTimeoutMs',
      opts.commitTimeoutMs ?? DEFAULT_OPTIONS.commitTimeoutMs,
      0,
      3_600_000,
    ),
    sweepGraceMs: shared ? sweepGraceMs : 0,
    garbageDelayMs: positiveInt(
      'garbageDelayMs',
      opts.garbageDelayMs ?? (shared ? DEFAULT_OPTIONS.sharedGarbageDelayMs : 0),
      0,
      MAX_DELAY_MS,
    ),
    sweepAtOpen: opts.sweepAtOpen ?? true,
    write,
    fs: fs ?? NODE_FS,
    batch: opts.testing?.batch,
    point: opts.testing?.point,
  };
}
