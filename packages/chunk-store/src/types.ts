/** One stored blob, as {@link ChunkStore.list} and {@link ChunkStore.stat} see it. */
export interface ChunkInfo {
  /** The blob id. */
  id: string;
  /** Bytes stored. */
  size: number;
  /** When the blob was written (for garbage collection: a blob younger than a write may still be uncommitted). */
  lastModified: Date;
}

/** A byte range of a blob: `start` inclusive, `end` exclusive, `0 <= start <= end`. */
export interface ChunkRange {
  start: number;
  end: number;
}

/** Options of {@link ChunkStore.sweepIncomplete}. */
export interface SweepOptions {
  /** Only leftovers of writes begun before this time (default: whenever). */
  olderThan?: Date;
  /** Called before each removal. */
  beforeRemove?: () => void;
}

/** Options of the operations that can wait. */
export interface ChunkCallOptions {
  /** Aborts the operation: its promise or iteration rejects with the signal's reason, resources are released. */
  signal?: AbortSignal;
}

/**
 * An open read of a blob. Iterate it once for the bytes of the range (cut at the blob's end); iterating to the end,
 * breaking out of the loop or calling {@link close} releases the file handle or connection.
 *
 * A yielded buffer is the consumer's until it asks for the next-but-one: the store may then reuse its memory (the
 * local store reads into two buffers in turn, so that a GET allocates none per MiB). Copy what must live longer.
 */
export interface ChunkReader extends AsyncIterable<Buffer> {
  /** The whole blob's size in bytes, known before the first byte. */
  readonly size: number;
  /** Releases the read without iterating it (or in the middle). Idempotent. */
  close(): Promise<void>;
}

/**
 * Where a Coffer node keeps its encrypted blobs (chunk files): a local directory or an S3-compatible cluster. Blobs
 * are immutable and named by ids never used twice (see `newChunkId`), so no operation ever overwrites live data, and
 * a reader can never see a blob change under it.
 */
export interface ChunkStore {
  /**
   * Stores `source` as the new blob `id`, consuming it with backpressure. Resolves with the bytes stored once the
   * blob is durable; on any failure (the source's error, an abort, the backend) rejects and leaves nothing under
   * `id` that {@link list} shows. The source's own errors and the abort reason pass through unchanged.
   */
  write(id: string, source: AsyncIterable<Uint8Array>, opts?: ChunkCallOptions): Promise<{ size: number }>;
  /**
   * Opens `range` (default: the whole blob) of blob `id`. Resolves once the blob is found (its size known);
   * `CHUNKS_NOT_FOUND` if it does not exist.
   */
  read(id: string, range?: ChunkRange, opts?: ChunkCallOptions): Promise<ChunkReader>;
  /** The blob's size and time, or `undefined` if it does not exist. */
  stat(id: string, opts?: ChunkCallOptions): Promise<ChunkInfo | undefined>;
  /** Deletes blob `id`; deleting a blob that does not exist is not an error. */
  delete(id: string): Promise<void>;
  /** Every stored blob, in no particular order (for garbage collection: compare against the metadata). */
  list(opts?: ChunkCallOptions): AsyncIterable<ChunkInfo>;
  /**
   * Removes what writes that never finished left behind (a crashed node's temp file or multipart upload) and that
   * was started before `opts.olderThan` (default: whenever); a write of this store still in progress is never
   * touched. `opts.beforeRemove` is called before each removal (progress; a crash test's stop point). Resolves with
   * how many leftovers were removed.
   */
  sweepIncomplete(opts?: SweepOptions): Promise<number>;
  /** Releases connections (the caller ends its reads and writes first); later calls fail with `CHUNKS_CLOSED`. */
  close(): Promise<void>;
}
