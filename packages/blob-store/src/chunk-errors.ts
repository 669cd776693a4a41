import { isChunkStoreError } from '@coffer/chunk-store';

import { BlobStoreError } from './errors.ts';

/**
 * A chunk store's error as the store's: `CHUNKS_IO` is `BLOB_IO`, `CHUNKS_NO_SPACE` `BLOB_NO_SPACE`,
 * `CHUNKS_NOT_FOUND` (a blob a record refers to is gone) `BLOB_CORRUPT`, `CHUNKS_CLOSED` `BLOB_CLOSED`, each with the
 * original failure as `cause` (the file system's or the backend's error, as the chunk store had it).
 * `CHUNKS_UNAVAILABLE` (the backend is down: the server answers 503) and anything else pass.
 */
export function chunkError(err: unknown): unknown {
  if (!isChunkStoreError(err)) return err;
  const cause = err.cause ?? err;
  switch (err.code) {
    case 'CHUNKS_IO':
      return new BlobStoreError('BLOB_IO', err.message, { cause });
    case 'CHUNKS_NO_SPACE':
      return new BlobStoreError('BLOB_NO_SPACE', err.message, { cause });
    case 'CHUNKS_NOT_FOUND':
      return new BlobStoreError('BLOB_CORRUPT', 'a blob of the object is missing', { cause: err });
    case 'CHUNKS_CLOSED':
      return new BlobStoreError('BLOB_CLOSED', 'the blob store is closed', { cause: err });
    default:
      return err;
  }
}
