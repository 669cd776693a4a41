import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/**
 * The file write function the blob writer calls (same shape as `FileHandle.prototype.write`).
 * Test-only seam: see {@link LocalChunkStoreOptions.testing}.
 */
export type FileWriteFn = (
  fh: FileHandle,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
) => Promise<{ bytesWritten: number }>;

/**
 * The file-system calls of the local store's write paths: blob writes (through the handles `open` returns: `write`,
 * `writev`, `datasync`, `sync`, `close`), directory fsyncs, `mkdir`, `rename`, deletes, and the walks of `tmp/` and
 * `blobs/`. Test-only seam (see {@link LocalChunkStoreOptions.testing}); reads do not go through it.
 */
export type FileOps = Pick<typeof fsp, 'open' | 'mkdir' | 'rename' | 'rm' | 'readdir'>;

/** The real file system: {@link FileOps} of `node:fs/promises`. */
export const NODE_FS: FileOps = Object.freeze({
  open: fsp.open,
  mkdir: fsp.mkdir,
  rename: fsp.rename,
  rm: fsp.rm,
  readdir: fsp.readdir,
});

/** Options of {@link LocalChunkStore.open}. */
export interface LocalChunkStoreOptions {
  /** The data directory: blobs go to `blobs/xx/yy/ID`, writes in progress to `tmp/ID` (both created if missing). */
  dir: string;
  /**
   * Durable writes (default true): a blob file and its directory are fsync'd before `write()` resolves. `false` is
   * for tests and benchmarks only: a crash may then lose blobs that were reported written.
   */
  sync?: boolean;
  /** Writes are coalesced into writes of at least this many bytes (default 1 MiB). */
  writeBufferSize?: number;
  /** Bytes a read asks the file for at a time (default 1 MiB). */
  readBufferSize?: number;
  /**
   * TEST ONLY: fault injection; never set it in production. `write` replaces `FileHandle.write` in the blob writer
   * (a short write on a full disk); `fs` replaces the file-system calls of the write paths ({@link FileOps}).
   */
  testing?: { write?: FileWriteFn; fs?: FileOps };
}

/** Defaults of the optional {@link LocalChunkStoreOptions} fields. */
export const LOCAL_DEFAULTS = Object.freeze({
  sync: true,
  writeBufferSize: 1024 * 1024,
  readBufferSize: 1024 * 1024,
});

/** An integer option in [min, max], or TypeError/RangeError naming it. */
export function intOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`options.${name} must be an integer`);
  if (value < min || value > max) throw new RangeError(`options.${name} must be between ${min} and ${max}`);
  return value;
}
