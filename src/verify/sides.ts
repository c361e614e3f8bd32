import type { Key } from '../keys.js';
import type { CallOptions, KeyRange, RangeHash, Store } from '../store.js';
import { entityHash } from './canonical.js';

/**
 * One side of a verification: how its ranges are hashed (inside its
 * database, or in JS over streamed entities), split and read.
 */
export interface VerifySide<K extends Key, E extends object> {
  readonly label: 'old' | 'new';
  readonly store: Store<K, E>;
  readonly hashing: 'database' | 'js';
  readonly reason?: string;
  hash(range: KeyRange<K>, options?: CallOptions): Promise<RangeHash>;
  /** The key at 1-based `offset` within `range`. */
  keyAt(range: KeyRange<K>, offset: number, options?: CallOptions): Promise<K | undefined>;
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

export function verifySide<K extends Key, E extends object>(label: 'old' | 'new', store: Store<K, E>, o: SideOptions<E>): VerifySide<K, E> {
  const transform = o.transform;
  const apply = async (e: E): Promise<E> => (transform ? transform(e) : e);
  let reason: string | undefined;
  if (transform) reason = 'old is compared after the transform, which only JS can apply';
  else if (!o.pushdown) reason = 'hashing in the database was turned off';
  else if (!store.hashRange || !store.hashUnsupported) reason = `${store.name} has no hashing of its own`;
  else reason = store.hashUnsupported(o.ignore);
  const pushed = reason === undefined ? store.hashRange?.bind(store) : undefined;

  const scan = (range: KeyRange<K>, options: CallOptions | undefined, chunkSize = SCAN_CHUNK): AsyncIterable<E[]> =>
    store.scan({ after: range.after, through: range.through, within: range.within, chunkSize, signal: options?.signal });
  /** The range's entities one by one, old's after the transform. */
  async function* each(range: KeyRange<K>, options?: CallOptions): AsyncIterable<E> {
    for await (const chunk of scan(range, options)) for (const e of chunk) yield apply(e);
  }

  return {
    label,
    store,
    hashing: pushed ? 'database' : 'js',
    ...(reason === undefined ? {} : { reason }),
    async hash(range, options) {
      if (pushed) return pushed(range, o.ignore, options);
      let count = 0;
      let sum = 0n;
      for await (const e of each(range, options)) {
        count++;
        sum += entityHash(e, o.ignore);
      }
      return { count, sum };
    },
    async keyAt(range, offset, options) {
      if (store.keyAt) return store.keyAt(range, offset, options);
      let seen = 0;
      for await (const chunk of scan(range, options, Math.min(offset, SCAN_CHUNK))) {
        if (seen + chunk.length >= offset) return store.keyOf(chunk[offset - seen - 1] as E);
        seen += chunk.length;
      }
      return undefined;
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
