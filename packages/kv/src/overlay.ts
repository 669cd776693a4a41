import { inRange, keyBuf, keyStr, valueBuf, type KeyStr, type StrRange } from './keys.ts';
import type { KvEntry, KvKey } from './types.ts';

/** Writes not yet in the database: a value, or null for a delete. */
export type WriteMap = Map<KeyStr, Buffer | null>;

/**
 * The writes of one member of a group commit (both engines): `set` and `delete` buffer them and never wait; when the
 * member ends they join the group's writes, or are dropped if its callback threw.
 */
export class MemberWrites {
  readonly own: WriteMap = new Map();
  #done = false;
  constructor(readonly into: WriteMap) {}

  set(key: KvKey, value: Uint8Array): void {
    this.#live();
    this.own.set(keyStr(key), valueBuf(value));
  }

  delete(key: KvKey): void {
    this.#live();
    this.own.set(keyStr(key), null);
  }

  #live(): void {
    if (this.#done) throw new TypeError('the transaction has ended');
  }

  /** Ends the member; its writes join the group's (if `keep`). */
  end(keep: boolean): void {
    this.#done = true;
    if (keep) for (const [k, v] of this.own) this.into.set(k, v);
  }
}

/** The value of `k` in the first layer that has it (null = deleted there), or undefined when none has it. */
export function layerGet(layers: readonly (WriteMap | undefined)[], k: KeyStr): Buffer | null | undefined {
  for (const m of layers) if (m?.has(k)) return m.get(k)!;
  return undefined;
}

/**
 * A scan of `base` (the database, in key order) seen through `layers` of writes (first layer wins): keys the layers
 * set are yielded with their value at their place in the order, keys they delete are skipped. The layers are read
 * when the scan starts; `range.limit` counts what is yielded.
 */
export async function* mergeScan(
  layers: readonly (WriteMap | undefined)[],
  range: StrRange,
  base: (range: StrRange) => AsyncIterable<KvEntry>,
): AsyncGenerator<KvEntry> {
  if (range.limit === 0) return;
  const seen = new Set<KeyStr>();
  const over: [KeyStr, Buffer | null][] = [];
  for (const m of layers) {
    if (!m) continue;
    for (const [k, v] of m) {
      if (seen.has(k) || !inRange(k, range)) continue;
      seen.add(k);
      over.push([k, v]);
    }
  }
  over.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let i = 0;
  let left = range.limit;
  // The base may hold keys the layers delete, so it is read without a limit and stopped once enough is yielded.
  for await (const e of base({ ...range, limit: Infinity })) {
    const k = e.key.toString('latin1');
    for (; i < over.length && over[i]![0] < k; i++) {
      const v = over[i]![1];
      if (v === null) continue;
      yield { key: keyBuf(over[i]![0]), value: v };
      if (--left === 0) return;
    }
    if (i < over.length && over[i]![0] === k) {
      const v = over[i++]![1];
      if (v === null) continue;
      yield { key: e.key, value: v };
    } else {
      yield e;
    }
    if (--left === 0) return;
  }
  for (; i < over.length; i++) {
    const v = over[i]![1];
    if (v === null) continue;
    yield { key: keyBuf(over[i]![0]), value: v };
    if (--left === 0) return;
  }
}
