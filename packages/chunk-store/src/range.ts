import type { ChunkRange } from './types.ts';

/** Throws a TypeError/RangeError unless `range` is absent or `0 <= start <= end`, both safe integers. */
export function checkRange(range: ChunkRange | undefined): void {
  if (range === undefined) return;
  if (range === null || typeof range !== 'object') throw new TypeError('range must be an object');
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError('range must satisfy 0 <= start <= end');
  }
}
