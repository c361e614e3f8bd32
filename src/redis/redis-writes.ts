import { decideWrite, deleteAllowed, maxVersion } from '../core/entity.js';
import { MidairError, PartialSyncError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import {
  emptyBulkResult,
  type BulkWriteResult,
  type CallOptions,
  type DeleteOptions,
  type KeyState,
  type PutOptions,
  type SyncManyResult,
  type SyncResult,
  type UpdateResult,
} from '../core/store.js';
import type { Version } from '../core/versions.js';
import { RedisCas, type Op, type Plan, type RawState } from './redis-cas.js';
import type { RedisParts } from './redis-parts.js';
import type { Cell } from './redis-rows.js';

/** Keys per syncMany round: each round reads the source once for its keys. */
const SYNC_BATCH = 1000;

/** Every write of the Redis store, each a compare-and-set of the keys' revisions (see {@link RedisCas}). */
export class RedisWrites<K extends Key, E extends object> {
  readonly #p: RedisParts<K, E>;
  readonly #cas: RedisCas<K, E>;

  constructor(parts: RedisParts<K, E>) {
    this.#p = parts;
    this.#cas = new RedisCas(parts);
  }

  get cas(): RedisCas<K, E> {
    return this.#cas;
  }

  /** A put of an entity's cells, with their row hash. */
  #putOp(key: K, cells: readonly Cell[], keepTombstone: boolean): Op<K> {
    return { key, kind: keepTombstone ? 'k' : 'p', cells, extra: this.#p.rows.rowHash(cells) };
  }

  /** A delete of a key whose state is `s`, leaving a tombstone at the greatest version known (or none). */
  #deleteOp(key: K, s: RawState, tombstone: boolean, version?: Version): Op<K> {
    if (!tombstone) return { key, kind: 'x' };
    const previous = this.#p.tombstoneFrom(key, s.tomb)?.version;
    return { key, kind: 'd', extra: this.#p.tombstoneText(maxVersion(maxVersion(previous, s.version), version)) };
  }

  #sameKey(operation: string, key: K, value: E): void {
    if (keyId(this.#p.keyOf(value)) !== keyId(key))
      throw new MidairError(
        'INVALID_ARGUMENT',
        `${operation} on ${this.#p.name}: the source returned an entity of another key`,
      );
  }

  async put(entity: E, options?: PutOptions): Promise<void> {
    const p = this.#p;
    p.openWrite('put', options);
    const key = p.keyOf(entity);
    if (p.versionAt !== undefined) p.versionOf(entity);
    const op = this.#putOp(key, p.rows.encode(entity), options?.keepTombstone === true || options?.direct === true);
    await this.#cas.apply('put', [op], ['*'], options);
  }

  async delete(key: K, options?: DeleteOptions): Promise<boolean> {
    const p = this.#p;
    p.openWrite('delete', options);
    if (options?.version !== undefined && p.versionAt === undefined)
      throw new MidairError(
        'INVALID_ARGUMENT',
        `delete on ${p.name}: a version was given but the store has no version field`,
      );
    p.order.encode(key);
    const tombstone = !options?.direct && (options?.tombstone ?? true);
    const [deleted] = await this.#cas.loop(
      'delete',
      [key],
      'version',
      async (_, [s]) => {
        const state = s as RawState;
        if (state.exists && !deleteAllowed(options?.version, state.version))
          return Promise.resolve([{ result: false }]);
        return Promise.resolve([{ op: this.#deleteOp(key, state, tombstone, options?.version), result: state.exists }]);
      },
      options,
    );
    return deleted === true;
  }

  async writeIfNewer(entities: readonly E[], options?: CallOptions): Promise<BulkWriteResult> {
    const p = this.#p;
    p.openWrite('writeIfNewer', options);
    // Everything validated and grouped by key before anything is read or written: a bad entity writes nothing.
    const byKey = new Map<string, { key: K; entities: { version: Version | undefined; cells: Cell[] }[] }>();
    for (const entity of entities) {
      const key = p.keyOf(entity);
      const written = { version: p.versionOf(entity), cells: p.rows.encode(entity) };
      p.order.encode(key);
      const id = keyId(key);
      const group = byKey.get(id);
      if (group) group.entities.push(written);
      else byKey.set(id, { key, entities: [written] });
    }
    const groups = [...byKey.values()];
    const results = await this.#cas.loop(
      'writeIfNewer',
      groups.map((g) => g.key),
      'version',
      async (keys, states) =>
        Promise.resolve(
          keys.map((key, i): Plan<K, BulkWriteResult> => {
            const s = states[i] as RawState;
            const group = byKey.get(keyId(key)) as { entities: { version: Version | undefined; cells: Cell[] }[] };
            const counts = emptyBulkResult();
            let current = s.exists ? { version: s.version } : undefined;
            let tomb = this.#p.tombstoneFrom(key, s.tomb);
            let write: Cell[] | undefined;
            // In order, as writing them one by one would: a later entity of the key meets the earlier one's outcome.
            for (const { version, cells } of group.entities) {
              const decision = decideWrite(version, current, tomb);
              if (decision === 'insert' || decision === 'update') {
                write = cells;
                current = { version };
                tomb = undefined;
                counts[decision === 'insert' ? 'inserted' : 'updated']++;
              } else counts[decision]++;
            }
            return write ? { op: this.#putOp(key, write, false), result: counts } : { result: counts };
          }),
        ),
      options,
    );
    const total = emptyBulkResult();
    for (const r of results) {
      total.inserted += r.inserted;
      total.updated += r.updated;
      total.skippedExisting += r.skippedExisting;
      total.skippedTombstoned += r.skippedTombstoned;
    }
    return total;
  }

  async syncKey(key: K, read: () => Promise<E | undefined>, options?: CallOptions): Promise<SyncResult> {
    return this.#decideKey('syncKey', key, 'version', async () => read(), options) as Promise<SyncResult>;
  }

  async updateKey(
    key: K,
    next: (current: KeyState<K, E>) => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult> {
    return this.#decideKey(
      'updateKey',
      key,
      'all',
      async (s) => {
        if (s.exists) return next({ entity: this.#p.rows.decode(s.cells) });
        const tombstone = this.#p.tombstoneFrom(key, s.tomb);
        return next(tombstone ? { tombstone } : {});
      },
      options,
    );
  }

  /** One key written as `decide` says on its latest state: put, delete (leaving a tombstone) or, for `null`, nothing. */
  async #decideKey(
    operation: string,
    key: K,
    fields: 'all' | 'version',
    decide: (state: RawState) => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult> {
    const p = this.#p;
    p.openWrite(operation, options);
    p.order.encode(key);
    const [result] = await this.#cas.loop(
      operation,
      [key],
      fields,
      async (_, [s]) => {
        const state = s as RawState;
        const value = await decide(state);
        if (value === null) return [{ result: 'unchanged' as const }];
        if (value === undefined) {
          return [
            {
              op: this.#deleteOp(key, state, true),
              result: state.exists ? ('deleted' as const) : ('absent' as const),
            },
          ];
        }
        this.#sameKey(operation, key, value);
        return [{ op: this.#putOp(key, p.rows.encode(value), false), result: 'put' as const }];
      },
      options,
    );
    return result as UpdateResult;
  }

  async syncMany(
    keys: readonly K[],
    read: (keys: readonly K[], held?: ReadonlySet<string>) => Promise<readonly (E | undefined | null)[]>,
    options?: CallOptions,
  ): Promise<SyncManyResult> {
    const p = this.#p;
    p.openWrite('syncMany', options);
    const unique = [...new Map(keys.map((k) => [keyId(k), k])).values()];
    for (const k of unique) p.order.encode(k);
    const done = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
    for (let from = 0; from < unique.length; from += SYNC_BATCH) {
      const batch = unique.slice(from, from + SYNC_BATCH);
      try {
        const results = await this.#cas.loop(
          'syncMany',
          batch,
          'version',
          async (list, states) => {
            const held = new Set(list.filter((_, i) => states[i]?.exists || states[i]?.tomb).map((k) => keyId(k)));
            const values = await read(list, held);
            return list.map((key, i): Plan<K, keyof SyncManyResult> => {
              const value = values[i];
              const s = states[i] as RawState;
              if (value === null) return { result: 'unchanged' };
              if (value === undefined)
                return { op: this.#deleteOp(key, s, true), result: s.exists ? 'deleted' : 'unchanged' };
              this.#sameKey('syncMany', key, value);
              return { op: this.#putOp(key, p.rows.encode(value), false), result: s.exists ? 'updated' : 'inserted' };
            });
          },
          options,
        );
        for (const r of results) done[r]++;
      } catch (error) {
        if (from === 0 || !(error instanceof MidairError)) throw error;
        throw new PartialSyncError(
          error,
          { ...done },
          unique.slice(from).map((k) => keyId(k)),
        );
      }
    }
    return done;
  }
}
