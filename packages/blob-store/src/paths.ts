import path from 'node:path';

import { secureRandom } from '@coffer/crypto';

/** Blob ids are 32 lowercase hex characters (128 random bits). */
const BLOB_ID = /^[0-9a-f]{32}$/;

/** A new random blob id. Never derived from a bucket or object name, so no name can reach a path. */
export function newBlobId(): string {
  return secureRandom(16).toString('hex');
}

/** True if `id` has the blob id shape. */
export function isBlobId(id: string): boolean {
  return BLOB_ID.test(id);
}

/** The directory layout under the data directory. */
export class DataLayout {
  /** LevelDB directory. */
  readonly meta: string;
  /** Blob files: `blobs/xx/yy/ID`. */
  readonly blobs: string;
  /** In-progress writes; emptied at open. */
  readonly tmp: string;

  constructor(readonly dir: string) {
    this.meta = path.join(dir, 'meta');
    this.blobs = path.join(dir, 'blobs');
    this.tmp = path.join(dir, 'tmp');
  }

  /** Directory of a blob: `blobs/<id[0..2]>/<id[2..4]>`. */
  blobDir(id: string): string {
    if (!isBlobId(id)) throw new Error('invalid blob id');
    return path.join(this.blobs, id.slice(0, 2), id.slice(2, 4));
  }

  /** Path of a blob file. */
  blobPath(id: string): string {
    return path.join(this.blobDir(id), id);
  }

  /** Path of a blob's temp file while it is written. */
  tmpPath(id: string): string {
    if (!isBlobId(id)) throw new Error('invalid blob id');
    return path.join(this.tmp, id);
  }
}
