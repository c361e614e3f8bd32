import { compareKeys, type Key } from '../core/keys.js';
import type { KeyRange } from '../core/store.js';

/** The memory store's keys in key order (the order every store scans in), with binary search over them. */
export class SortedKeys<K extends Key> {
  readonly #keys: K[] = [];

  get length(): number {
    return this.#keys.length;
  }

  at(index: number): K | undefined {
    return this.#keys[index];
  }

  slice(start: number, end: number): K[] {
    return this.#keys.slice(start, end);
  }

  /** Adds a key not yet held. */
  insert(key: K): void {
    this.#keys.splice(this.#position(key, true), 0, key);
  }

  /** Removes a key held. */
  remove(key: K): void {
    this.#keys.splice(this.#position(key, true), 1);
  }

  /** Positions `[start, end)` of the keys in `range` and every range it lies within (their intersection). */
  bounds(range: KeyRange<K>): { start: number; end: number } {
    let start = 0;
    let end = this.#keys.length;
    for (const r of [range, ...(range.within ?? [])]) {
      if (r.after !== undefined) start = Math.max(start, this.#position(r.after, false));
      if (r.through !== undefined) end = Math.min(end, this.#position(r.through, false));
    }
    return { start, end };
  }

  /** Index of the first key greater than `key` (or equal, when `inclusive`). */
  #position(key: K, inclusive: boolean): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(this.#keys[mid] as K, key);
      if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
