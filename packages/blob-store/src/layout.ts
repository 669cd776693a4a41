import { encryptedSize } from '@coffer/crypto';

import { BlobStoreError } from './errors.ts';
import type { ObjectRecord } from './types.ts';

/**
 * Checks that an object record agrees with itself about where the object ends, before a byte of it is read: the
 * object's size is the sum of its segments' plaintext sizes, each segment's stored size is what the chunk format
 * gives for its plaintext size (crypto format.ts, `encryptedSize`), and a multipart object's parts list the same
 * sizes as its segments. The chunk format authenticates the end of every segment (the final flag), but only when the
 * read reaches it; a size that lies in the record alone would otherwise be trusted (a GET trimmed to it would answer
 * 200 with the object cut short). Throws `BLOB_CORRUPT`.
 */
export function checkLayout(rec: Pick<ObjectRecord, 'size' | 'segments' | 'parts'>): void {
  const corrupt = (why: string) => new BlobStoreError('BLOB_CORRUPT', `the object record is inconsistent: ${why}`);
  if (!Array.isArray(rec.segments) || rec.segments.length === 0) throw corrupt('it has no segments');
  let total = 0;
  rec.segments.forEach((seg, i) => {
    let enc: number;
    try {
      enc = encryptedSize(seg.plainSize, seg.chunkSize);
    } catch {
      throw corrupt(`segment ${i} has an invalid size or chunk size`);
    }
    if (seg.encSize !== enc) throw corrupt(`segment ${i} stores ${seg.encSize} bytes, its size needs ${enc}`);
    total += seg.plainSize;
  });
  if (rec.size !== total) throw corrupt(`its size is ${rec.size}, its segments hold ${total} bytes`);
  if (rec.parts === undefined) return;
  if (rec.parts.length !== rec.segments.length) {
    throw corrupt(`it lists ${rec.parts.length} parts for ${rec.segments.length} segments`);
  }
  rec.parts.forEach((p, i) => {
    if (p.size !== rec.segments[i]!.plainSize) throw corrupt(`part ${p.partNumber} has not the size of its segment`);
  });
}
