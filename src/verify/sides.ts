import type { Key } from '../core/keys.js';
import type { CallOptions, KeyRange, RangeHash, Store } from '../core/store.js';
import { entityHash } from '../core/canonical.js';

/**
 * One side of a verification: how its ranges are hashed (inside its
 * database, or in JS over streamed entities), split and read.
 */
export interface VerifySide<K extends Key, E extends object> {
  readonly label: 'old' | 'new';
  readonly store: Store<K, E>;
  readonly hashing: 'database' | 'js';
  readonly reason?: string;
  /** `pair`: both sides hash with their engine's pair hash (see pair-hash.ts); `canonical` otherwise. */
  readonly rowHash: 'canonical' | 'pair';
  hash(range: KeyRange<K>, options?: CallOptions): Promise<RangeHash>;
  /** Hashes of the parts of `range` cut at `splits` (see {@link partRange}), in one pass where the database can. */
  hashParts(range: KeyRange<K>, splits: readonly K[], options?: CallOptions): Promise<RangeHash[]>;
  /** The key at 1-based `offset` within `range`. */
  keyAt(range: KeyRange<K>, offset: number, options?: CallOptions): Promise<K | undefined>;
  /** The keys at `step`, `2 × step`, … within `range`, at most `limit` (one read where the store can). */
  keysEvery(range: KeyRange<K>, step: number, limit: number, options?: CallOptions): Promise<K[]>;
  /** Every entity in `range` (old's after the transform), in the store's order. */
  entities(range: KeyRange<K>, options?: CallOptions): Promise<E[]>;
  /** Entities by key (old's after the transform). */
  getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]>;
}

export interface SideOptions<E> {
  readonly ignore: ReadonlySet<string>;
  readonly pushdown: boolean;
  readonly transform?: ((entity: E) => E | Promise<E>) | undefined;
}

const SCAN_CHUNK = 2000;

/**
 * Part `i` of `range` cut at `splits`: `(after, s1]`, `(s1, s2]`, …,
 * `(sN, through]`. Each part also lies within its parent: where the engines
 * order keys differently, a part cut at one side's keys must not reach
 * outside its parent on the other side (else bisection need not converge).
 */
export function partRange<K extends Key>(range: KeyRange<K>, splits: readonly K[], i: number): KeyRange<K> {
  return {
    after: i === 0 ? range.after : splits[i - 1],
    through: i === splits.length ? range.through : splits[i],
    within: [...(range.within ?? []), { after: range.after, through: range.through }],
  };
}

export function verifySide<K extends Key, E extends object>(
  label: 'old' | 'new',
  store: Store<K, E>,
  o: SideOptions<E>,
): VerifySide<K, E> {
  const transform = o.transform;
  const apply = async (e: E): Promise<E> => (transform ? transform(e) : e);
  let reason: string | undefined;
  if (transform) reason = 'old is compared after the transform, which only JS can apply';
  else if (!o.pushdown) reason = 'hashing in the database was turned off';
  else if (!store.hashing) reason = `${store.name} has no hashing of its own`;
  else reason = store.hashing.hashUnsupported(o.ignore);
  const pushed = reason === undefined ? store.hashing : undefined;
  // Hashed in the database with some fields put in canonical form in JS (MariaDB's JSON): the report says which.
  if (pushed) reason = pushed.hashedInJs?.(o.ignore);

  const scan = (range: KeyRange<K>, options: CallOptions | undefined, chunkSize = SCAN_CHUNK): AsyncIterable<E[]> =>
    store.scan({
      after: range.after,
      through: range.through,
      within: range.within,
      chunkSize,
      signal: options?.signal,
    });
  /** The range's entities one by one, old's after the transform. */
  async function* each(range: KeyRange<K>, options?: CallOptions): AsyncIterable<E> {
    for await (const chunk of scan(range, options)) for (const e of chunk) yield apply(e);
  }

  async function hash(range: KeyRange<K>, options?: CallOptions): Promise<RangeHash> {
    if (pushed) return pushed.hashRange(range, o.ignore, options);
    let count = 0;
    let sum = 0n;
    for await (const e of each(range, options)) {
      count++;
      sum += entityHash(e, o.ignore);
    }
    return { count, sum };
  }

  async function keyAt(range: KeyRange<K>, offset: number, options?: CallOptions): Promise<K | undefined> {
    if (store.keyReads) return store.keyReads.keyAt(range, offset, options);
    let seen = 0;
    for await (const chunk of scan(range, options, Math.min(offset, SCAN_CHUNK))) {
      if (seen + chunk.length >= offset) return store.keyOf(chunk[offset - seen - 1] as E);
      seen += chunk.length;
    }
    return undefined;
  }

  return {
    label,
    store,
    hashing: pushed ? 'database' : 'js',
    rowHash: 'canonical',
    ...(reason === undefined ? {} : { reason }),
    hash,
    async hashParts(range, splits, options) {
      if (pushed) return pushed.hashParts(range, splits, o.ignore, options);
      const parts: RangeHash[] = [];
      for (let i = 0; i <= splits.length; i++) parts.push(await hash(partRange(range, splits, i), options));
      return parts;
    },
    keyAt,
    async keysEvery(range, step, limit, options) {
      if (store.keyReads?.keysEvery) return store.keyReads.keysEvery(range, step, limit, options);
      const keys: K[] = [];
      for (let lo = range.after; keys.length < limit;) {
        const hi = await keyAt({ after: lo, through: range.through, within: range.within }, step, options);
        if (hi === undefined) break;
        keys.push(hi);
        lo = hi;
      }
      return keys;
    },
    async entities(range, options) {
      const out: E[] = [];
      for await (const e of each(range, options)) out.push(e);
      return out;
    },
    async getMany(keys, options) {
      const found = await store.getMany(keys, options);
      return Promise.all(found.map(async (e) => (e === undefined ? undefined : apply(e))));
    },
  };
}
