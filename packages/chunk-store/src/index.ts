export { ChunkStoreError, type ChunkErrorCode, isChunkStoreError } from './errors.ts';
export { checkChunkId, isChunkId, newChunkId } from './ids.ts';
export { LocalChunkStore } from './local.ts';
export {
  type FileOps,
  type FileWriteFn,
  LOCAL_DEFAULTS,
  type LocalChunkStoreOptions,
  NODE_FS,
} from './local-options.ts';
export { S3ChunkStore } from './s3.ts';
export { parseChunksUrl, S3_DEFAULTS, type S3ChunkStoreOptions } from './s3-options.ts';
export type { ChunkCallOptions, ChunkInfo, ChunkRange, ChunkReader, ChunkStore, SweepOptions } from './types.ts';
