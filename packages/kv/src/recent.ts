/** A bounded map that forgets the least recently set key: the engines' cache of committed values. */
export class RecentMap<V> {
  readonly #m = new Map<string, V>();
  /** Holds at most `max` keys (0: none). */
  constructor(readonly max: number) {}
  /** The value of `k`, or undefined. */
  get(k: string): V | undefined {
    return this.#m.get(k);
  }
  /** Sets `k`, forgetting the key set longest ago if there are then more than `max`. */
  set(k: string, v: V): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.max) this.#m.delete(this.#m.keys().next().value!);
  }
  /** Forgets `k`. */
  delete(k: string): void {
    this.#m.delete(k);
  }
  /** Forgets every key. */
  clear(): void {
    this.#m.clear();
  }
}
