import type { KvEngine } from './types.ts';
import { LevelEngine } from './leveldb.ts';
import { PgEngine } from './postgres.ts';

/**
 * Opens the engine a location names: a `postgres://` (or `postgresql://`) URL opens {@link PgEngine}; anything else
 * is a directory for the embedded {@link LevelEngine}. Drivers by name, as lakeFS's `kv.Open` does.
 */
export function openEngine(location: string, opts: { sync?: boolean } = {}): Promise<KvEngine> {
  if (typeof location !== 'string' || location === '') throw new TypeError('location must be a non-empty string');
  return /^postgres(ql)?:\/\//.test(location) ? PgEngine.open(location) : LevelEngine.open(location, opts);
}
