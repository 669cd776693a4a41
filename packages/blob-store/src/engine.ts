/**
 * Opening a store's metadata engine: the embedded LevelDB in `DATA/meta/`, or the PostgreSQL database `meta` names
 * (shared by several nodes). (The chunk store makes its own directories.)
 */
import { LevelEngine, PgEngine, isKvError, type KvEngine } from '@coffer/kv';

import { BlobStoreError, ioError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';
import type { DataLayout } from './paths.ts';

/**
 * Creates `DATA/meta/` if needed and opens the metadata engine. `BLOB_LOCKED` if another process
 * (or another store in this one) has the LevelDB open; `BLOB_IO`/`BLOB_NO_SPACE` if either fails.
 */
export async function openEngine(opts: ResolvedOptions, layout: DataLayout): Promise<KvEngine> {
  try {
    await opts.fs.mkdir(layout.meta, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError('creating the data directory', err);
  }
  try {
    return opts.meta !== undefined
      ? await PgEngine.open(opts.meta)
      : await LevelEngine.open(layout.meta, {
          sync: opts.sync,
          commitTimeoutMs: opts.commitTimeoutMs,
          batchHook: opts.batch,
        });
  } catch (err) {
    const e = (err as { cause?: { code?: string; cause?: { code?: string } } }).cause;
    if (e?.code === 'LEVEL_LOCKED' || e?.cause?.code === 'LEVEL_LOCKED') {
      throw new BlobStoreError(
        'BLOB_LOCKED',
        `the data directory ${opts.dir} is in use by another process (LevelDB lock held)`,
        { cause: err },
      );
    }
    if (isKvError(err)) throw ioError('opening the metadata database', err);
    throw err;
  }
}
