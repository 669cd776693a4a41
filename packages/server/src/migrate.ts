/**
 * `coffer meta migrate`: moves a single-node Coffer's metadata (LevelDB in `DATA/meta`) into PostgreSQL, so that
 * nodes started with `--meta URL --data DATA` serve the same namespace. The key layout is the same on both engines,
 * so this is a byte-for-byte copy of every key (`copyEngine` of @coffer/kv); the chunk files stay in DATA.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';

import { MIGRATION_EXCLUDE, MIGRATION_PROGRESS_KEY } from '@coffer/blob-store';
import { LevelEngine, PgEngine, copyEngine, isKvError, type CopyProgress, type CopyReport } from '@coffer/kv';

/** Options of {@link migrateMeta}. */
export interface MigrateOptions {
  /** The data directory whose `meta/` is copied; no server may be running on it. */
  dataDir: string;
  /** The PostgreSQL database to copy into (`postgres://…`). */
  url: string;
  /** Copy into a database that holds keys the data directory does not have, deleting them. */
  force?: boolean;
  /** Keys per transaction (default: copyEngine's, 500). */
  batchSize?: number;
  /** Progress of the copy and then of the verification. */
  onProgress?: (progress: CopyProgress) => void;
}

/** True when `err` (or the error it wraps, or that one's) is LevelDB's refusal of a database another process holds. */
function isLocked(err: unknown): boolean {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 3; depth++, e = e.cause as typeof e) if (e.code === 'LEVEL_LOCKED') return true;
  return false;
}

/**
 * Copies the metadata of `dataDir` into the database at `url` and verifies the copy (see `copyEngine`): resumable,
 * and a no-op over a finished copy. Throws with a message for the operator when the data directory has no metadata
 * or is in use, and `KV_TARGET_FOREIGN` when the database holds another namespace (unless `force`).
 */
export async function migrateMeta(opts: MigrateOptions): Promise<CopyReport> {
  const metaDir = join(opts.dataDir, 'meta');
  // LevelDB would create an empty database where there is none, and a copy of nothing would "verify".
  try {
    await access(join(metaDir, 'CURRENT'));
  } catch {
    throw new Error(`${opts.dataDir} holds no Coffer metadata (no ${metaDir}/CURRENT): is it a data directory?`);
  }
  let source: LevelEngine;
  try {
    source = await LevelEngine.open(metaDir);
  } catch (err) {
    if (isLocked(err)) {
      throw new Error(`the data directory ${opts.dataDir} is in use by a running Coffer server: stop it first`);
    }
    throw err;
  }
  try {
    const target = await PgEngine.open(opts.url);
    try {
      return await copyEngine(source, target, {
        progressKey: MIGRATION_PROGRESS_KEY,
        exclude: MIGRATION_EXCLUDE,
        force: opts.force,
        batchSize: opts.batchSize,
        onProgress: opts.onProgress,
      });
    } catch (err) {
      if (isKvError(err, 'KV_TARGET_FOREIGN')) {
        const hint = `--force makes the database an exact copy of ${metaDir}, deleting them`;
        throw new Error(`${err.message}; ${hint}`, { cause: err });
      }
      throw err;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** `url` without its password, for output: secrets never reach a log or a terminal. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the database';
  }
}
