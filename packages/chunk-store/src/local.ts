import { type FileHandle, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import { ChunkStoreError, fileError } from './errors.ts';
import { ChunkFileWriter } from './file-writer.ts';
import { checkChunkId, chunkPath, idOfPath } from './ids.ts';
import { type FileOps, intOption, LOCAL_DEFAULTS, type LocalChunkStoreOptions, NODE_FS } from './local-options.ts';
import { checkRange } from './range.ts';
import type { ChunkCallOptions, ChunkInfo, ChunkRange, ChunkReader, ChunkStore, SweepOptions } from './types.ts';

/** Bytes between background fdatasyncs of a durable blob write (see ChunkFileWriter). */
const SYNC_EVERY = 8 * 1024 * 1024;

/**
 * The chunk files of a data directory: `blobs/xx/yy/ID`, written as `tmp/ID`, then fsync'd, renamed and their
 * directory fsync'd (DESIGN.md, "Durability"). Data directories written before the chunk-store seam open unchanged:
 * same paths, same bytes.
 */
export class LocalChunkStore implements ChunkStore {
  /** The data directory. */
  readonly dir: string;
  readonly #blobs: string;
  readonly #tmp: string;
  readonly #fs: FileOps;
  readonly #opts: Required<Omit<LocalChunkStoreOptions, 'testing' | 'dir'>> & LocalChunkStoreOptions['testing'];
  /** Ids being written by this store: the sweep leaves their temp files alone. */
  readonly #writing = new Set<string>();
  #closed = false;

  private constructor(opts: LocalChunkStoreOptions) {
    this.dir = opts.dir;
    this.#blobs = path.join(opts.dir, 'blobs');
    this.#tmp = path.join(opts.dir, 'tmp');
    this.#fs = opts.testing?.fs ?? NODE_FS;
    this.#opts = {
      sync: opts.sync ?? LOCAL_DEFAULTS.sync,
      writeBufferSize: intOption('writeBufferSize', opts.writeBufferSize ?? LOCAL_DEFAULTS.writeBufferSize, 1, 2 ** 26),
      readBufferSize: intOption('readBufferSize', opts.readBufferSize ?? LOCAL_DEFAULTS.readBufferSize, 1, 2 ** 26),
      write: opts.testing?.write,
    };
  }

  /** Checks the options and creates `blobs/` and `tmp/` (mode 0700) if missing. */
  static async open(opts: LocalChunkStoreOptions): Promise<LocalChunkStore> {
    if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
    if (typeof opts.dir !== 'string' || opts.dir === '') throw new TypeError('options.dir must be a non-empty string');
    if (opts.sync !== undefined && typeof opts.sync !== 'boolean')
      throw new TypeError('options.sync must be a boolean');
    const store = new LocalChunkStore(opts);
    try {
      for (const d of [store.#blobs, store.#tmp]) await store.#fs.mkdir(d, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fileError('creating the blob directories', err);
    }
    return store;
  }

  /** Path of blob `id`'s file. */
  blobPath(id: string): string {
    return path.join(this.#blobs, chunkPath(checkChunkId(id)));
  }

  async write(id: string, source: AsyncIterable<Uint8Array>, opts: ChunkCallOptions = {}): Promise<{ size: number }> {
    this.#checkOpen();
    checkChunkId(id);
    if (this.#writing.has(id)) throw new TypeError('id is being written already');
    const fs = this.#fs;
    const tmp = path.join(this.#tmp, id);
    const final = this.blobPath(id);
    let fh: FileHandle | undefined;
    let renamed = false;
    this.#writing.add(id);
    try {
      opts.signal?.throwIfAborted();
      try {
        fh = await fs.open(tmp, 'wx', 0o600);
      } catch (err) {
        throw fileError('creating a temp file', err);
      }
      const sink = new ChunkFileWriter(fh, {
        bufferSize: this.#opts.writeBufferSize,
        write: this.#opts.write,
        syncEvery: this.#opts.sync ? SYNC_EVERY : 0,
      });
      await pipeline(source, sink, opts.signal ? { signal: opts.signal } : {});
      try {
        if (this.#opts.sync) await fh.sync();
        const h = fh;
        fh = undefined;
        await h.close();
        const dir = path.dirname(final);
        await this.#makeDir(dir);
        await fs.rename(tmp, final);
        renamed = true;
        if (this.#opts.sync) await this.#syncDir(dir);
      } catch (err) {
        throw fileError('storing the blob file', err);
      }
      return { size: sink.bytesWritten };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      if (renamed) await fs.rm(final, { force: true }).catch(() => undefined);
      throw err;
    } finally {
      this.#writing.delete(id);
    }
  }

  async read(id: string, range?: ChunkRange, opts: ChunkCallOptions = {}): Promise<ChunkReader> {
    this.#checkOpen();
    const file = this.blobPath(id);
    checkRange(range);
    opts.signal?.throwIfAborted();
    let fh: FileHandle | undefined;
    try {
      fh = await open(file, 'r');
      const { size } = await fh.stat();
      const start = Math.min(range?.start ?? 0, size);
      const end = Math.min(range?.end ?? size, size);
      return new FileReader(fh, size, start, end, this.#opts.readBufferSize, opts.signal);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      throw fileError('opening a blob file', err, true);
    }
  }

  async stat(id: string): Promise<ChunkInfo | undefined> {
    this.#checkOpen();
    const file = this.blobPath(id);
    try {
      const st = await stat(file);
      return { id, size: st.size, lastModified: st.mtime };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fileError('stat of a blob file', err);
    }
  }

  async delete(id: string): Promise<void> {
    this.#checkOpen();
    const file = this.blobPath(id);
    try {
      await this.#fs.rm(file, { force: true });
    } catch (err) {
      throw fileError('deleting a blob file', err);
    }
  }

  async *list(opts: ChunkCallOptions = {}): AsyncGenerator<ChunkInfo, void, undefined> {
    this.#checkOpen();
    for (const xx of await this.#readdir(this.#blobs)) {
      for (const yy of await this.#readdir(path.join(this.#blobs, xx))) {
        for (const name of await this.#readdir(path.join(this.#blobs, xx, yy))) {
          opts.signal?.throwIfAborted();
          const id = idOfPath(`${xx}/${yy}/${name}`);
          if (id === undefined) continue;
          const st = await stat(path.join(this.#blobs, xx, yy, id)).catch((err: NodeJS.ErrnoException) => {
            if (err.code === 'ENOENT') return undefined; // deleted since the directory was read
            throw fileError('stat of a blob file', err);
          });
          if (st?.isFile()) yield { id, size: st.size, lastModified: st.mtime };
        }
      }
    }
  }

  /** Removes temp files of writes that never finished (not this store's own in progress), older than `olderThan`. */
  async sweepIncomplete({ olderThan, beforeRemove }: SweepOptions = {}): Promise<number> {
    this.#checkOpen();
    let removed = 0;
    for (const name of await this.#readdir(this.#tmp)) {
      if (this.#writing.has(name)) continue;
      const file = path.join(this.#tmp, name);
      if (olderThan !== undefined) {
        const st = await stat(file).catch(() => undefined);
        if (st === undefined || st.mtimeMs >= olderThan.getTime()) continue;
      }
      beforeRemove?.();
      try {
        await this.#fs.rm(file, { recursive: true, force: true });
      } catch (err) {
        throw fileError('removing a temp file', err);
      }
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ChunkStoreError('CHUNKS_CLOSED', 'the chunk store is closed');
  }

  /** The names in `dir`; none if it does not exist (a directory removed, or never made). */
  async #readdir(dir: string): Promise<string[]> {
    try {
      return await this.#fs.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        return [];
      }
      throw fileError('reading a blob directory', err);
    }
  }

  /** fsync a directory, so that a rename or a new entry in it is durable. */
  async #syncDir(dir: string): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      fh = await this.#fs.open(dir, 'r');
      await fh.sync();
    } finally {
      await fh?.close();
    }
  }

  /** mkdir -p, then fsync the parents of whatever was created (when durable). */
  async #makeDir(dir: string): Promise<void> {
    const first = await this.#fs.mkdir(dir, { recursive: true });
    if (first === undefined || !this.#opts.sync) return;
    // `first` is the top-most directory created: its parent and every created directory above `dir` need an fsync.
    for (let d = path.dirname(dir); ; d = path.dirname(d)) {
      await this.#syncDir(d);
      if (d === path.dirname(first) || d === this.#blobs || d === path.dirname(d)) break;
    }
  }
}

/**
 * A read of [start, end) of an open blob file into two buffers used in turn (see {@link ChunkReader}): the next read
 * is issued when the consumer asks for the next buffer, while it may still be working on the last one.
 */
class FileReader implements ChunkReader {
  readonly #fh: FileHandle;
  readonly #start: number;
  readonly #end: number;
  readonly #bufferSize: number;
  readonly #signal: AbortSignal | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    fh: FileHandle,
    readonly size: number,
    start: number,
    end: number,
    bufferSize: number,
    signal: AbortSignal | undefined,
  ) {
    this.#fh = fh;
    this.#start = start;
    this.#end = end;
    this.#bufferSize = bufferSize;
    this.#signal = signal;
  }

  close(): Promise<void> {
    this.#closing ??= this.#fh.close().catch(() => undefined);
    return this.#closing;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    try {
      const n = Math.min(this.#bufferSize, Math.max(1, this.#end - this.#start));
      const bufs = [Buffer.allocUnsafeSlow(n), Buffer.allocUnsafeSlow(n)];
      for (let i = 0, pos = this.#start; pos < this.#end && this.#closing === undefined; i++) {
        this.#signal?.throwIfAborted();
        const buf = bufs[i & 1]!;
        let bytesRead: number;
        try {
          ({ bytesRead } = await this.#fh.read(buf, 0, Math.min(n, this.#end - pos), pos));
        } catch (err) {
          if (this.#closing !== undefined) return;
          throw fileError('reading a blob file', err);
        }
        if (bytesRead === 0) return; // the file shrank under us: the caller sees fewer bytes than `size` said
        pos += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      await this.close();
    }
  }
}
