/**
 * The state the store's modules share (reads, segments, maintenance): plain data handed to functions, so that each
 * concept is a module of functions over it rather than a layer of classes.
 */
import type { ChunkStore } from '@coffer/chunk-store';
import type { KvEngine } from '@coffer/kv';

import type { BlobLeases } from './leases.ts';
import type { ResolvedOptions } from './options.ts';
import { K, decode } from './schema.ts';
import type { ObjectRecord } from './types.ts';

/** One open store's options, chunk store, metadata engine and the blobs it has in flight. */
export interface StoreContext {
  readonly opts: ResolvedOptions;
  /** Where the blobs are: chunk files in the data directory, or an S3-compatible backend. */
  readonly chunks: ChunkStore;
  /** The metadata engine: the only truth about buckets, objects and references. */
  readonly kv: KvEngine;
  /** Blobs written but not (yet) referenced by a committed record; the sweeper leaves them alone. */
  readonly uncommitted: Set<string>;
  /** Ciphertext of uncommitted inline blobs: written under `!d!` by the commit that first references them. */
  readonly inlinePending: Map<string, Buffer>;
  /** Open readers per blob file. */
  readonly leases: BlobLeases;
}

/** A committed object record, or undefined. */
export async function committedObject(kv: KvEngine, bucket: string, key: string): Promise<ObjectRecord | undefined> {
  return decode<ObjectRecord>(await kv.get(K.object(bucket, key)));
}
