export type { KvEngine, KvEntry, KvKey, KvRange, KvReader, KvStats, KvTransaction, TransactOptions } from './types.ts';
export { KvError, isKvError, type KvErrorCode } from './errors.ts';
export { LevelEngine, type LevelEngineOptions } from './leveldb.ts';
export { PgEngine, PG_SCHEMA_VERSION, type PgEngineOptions } from './postgres.ts';
export { openEngine } from './open.ts';
export { copyEngine, type CopyOptions, type CopyProgress, type CopyReport } from './copy.ts';
