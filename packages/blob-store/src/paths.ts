import path from 'node:path';

/**
 * The store's own place in the data directory: the LevelDB metadata. (The chunk files, `blobs/` and `tmp/`, are the
 * local chunk store's: `@coffer/chunk-store` `LocalChunkStore`.)
 */
export class DataLayout {
  /** LevelDB directory. */
  readonly meta: string;

  constructor(readonly dir: string) {
    this.meta = path.join(dir, 'meta');
  }
}
