import type { Key } from './keys.js';
import type { CheckReport } from './check-report.js';
import type { Version } from './versions.js';
import type {
  BulkWriteResult,
  CallOptions,
  DeleteOptions,
  Fence,
  KeyRange,
  KeyState,
  PutOptions,
  RangeHash,
  ScanOptions,
  SyncManyResult,
  SyncResult,
  Tombstone,
  UpdateResult,
} from './store-types.js';

export type * from './store-types.js';

/** Options of {@link Store.syncMany}. */
export interface SyncManyOptions<K extends Key, E extends object> extends CallOptions {
  /**
   * The store `read` reads. Where it shares no connection with this store
   * (another database's pool), this store may sync several batches at once:
   * a batch's `read` can never wait for a connection another batch holds.
   */
  readonly readFrom?: Store<K, E>;
}

/**
 * A keyed collection of entities in one datastore. Each adapter maps the
 * application's entity to its own storage; midair only ever speaks entities.
 *
 * The members below are what every store in a migration needs: either side
 * may become the authority, be synced by key and be backfilled. What a
 * store can do beyond that is an optional capability object
 * ({@link KeyReads}, {@link HashPushdown}, {@link BulkCopy}, {@link Fencing}):
 * present when the store has it, absent when not — callers fall back to the
 * plain members (docs/decisions/0013).
 *
 * @example
 * ```ts
 * const store: Store<bigint, User> = postgresStore(pool, usersMapping);
 * await store.put({ id: 1n, email: 'a@example.com', version: 1 });
 * for await (const chunk of store.scan({ chunkSize: 500 })) { … }
 * ```
 */
export interface Store<K extends Key, E extends object> {
  readonly name: string;
  /** Entities carry a version ({@link versionOf}); conditional writes compare it. */
  readonly versioned: boolean;
  /** The entity fields that make up the key, where the adapter knows them (verification never leaves them out). */
  readonly keyFields?: readonly string[];
  /** The entity's key (a scalar for one key field, a tuple for several). */
  keyOf(entity: E): K;
  /** The entity's version, if the store is versioned. */
  versionOf(entity: E): Version | undefined;

  // ── reads ──
  get(key: K, options?: CallOptions): Promise<E | undefined>;
  /** One result per key, in the order given; `undefined` where absent. */
  getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]>;
  getTombstone(key: K, options?: CallOptions): Promise<Tombstone<K> | undefined>;
  /**
   * The key's row and tombstone read at one instant (one statement or one
   * snapshot), so a concurrent delete or re-create cannot fall between the
   * two reads. The merge phases decide "deleted here, or not migrated yet"
   * from it.
   */
  readKey(key: K, options?: CallOptions): Promise<KeyState<K, E>>;
  count(options?: CallOptions): Promise<number>;
  /** Keyset scan in the store's key order, in chunks; resumes after `options.after`, stops after `options.through`. */
  scan(options?: ScanOptions<K>): AsyncIterable<E[]>;
  /** Up to `count` real keys picked at random, in the store's key order (to split the key space into ranges). */
  sampleKeys(count: number, options?: CallOptions): Promise<K[]>;

  // ── writes ──
  /** Unconditional upsert of the full entity; clears the key's tombstone. */
  put(entity: E, options?: PutOptions): Promise<void>;
  /** Deletes the key (and by default leaves a tombstone). Resolves true if a row was deleted. */
  delete(key: K, options?: DeleteOptions): Promise<boolean>;
  /**
   * The conditional bulk write: insert where absent, overwrite only where the
   * incoming version is newer, never over a tombstone at least as new. Safe
   * beside concurrent writers of the same keys.
   */
  writeIfNewer(entities: readonly E[], options?: CallOptions): Promise<BulkWriteResult>;
  /**
   * Sync by key: under a per-key lock in this store, calls `read` (the
   * authoritative store's current value) and writes what it returns — a put
   * that clears the tombstone, or, for `undefined`, a delete that leaves one.
   * Syncs of one key are serialised and each reads the latest state, so the
   * last one to run leaves this store equal to the source, whatever order the
   * writes arrived in (docs/decisions/0003).
   */
  syncKey(key: K, read: () => Promise<E | undefined>, options?: CallOptions): Promise<SyncResult>;
  /**
   * {@link syncKey} for many keys at once (a backfill's chunk): takes all
   * their locks (in one order), then calls `read` with the keys and writes
   * what it returns — an entity (put), `undefined` (delete, leaving a
   * tombstone), or `null` (leave that key alone). A store that can passes
   * `held` too: the ids of those keys it holds a row or a tombstone of, read
   * under their locks (a caller may answer the others with values it read
   * before the locks: decision 0017).
   */
  syncMany(
    keys: readonly K[],
    read: (keys: readonly K[], held?: ReadonlySet<string>) => Promise<readonly (E | undefined | null)[]>,
    options?: SyncManyOptions<K, E>,
  ): Promise<SyncManyResult>;
  /**
   * Read-modify-write of one key under its lock in this store: `next` gets the
   * key's row and tombstone (read at one instant, under the lock every writer
   * of the key takes) and returns the entity to write (a put that clears the
   * tombstone), `undefined` to delete it (leaving a tombstone), or `null` to
   * leave it as it is. No write of the key can fall between the read and the
   * write. `next` may run more than once (a transaction retried after a
   * deadlock runs it again).
   */
  updateKey(
    key: K,
    next: (current: KeyState<K, E>) => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult>;
  /** Removes all tombstones (after a migration completes). Resolves how many. */
  purgeTombstones(options?: CallOptions): Promise<number>;

  // ── schema and lifetime ──
  /** Creates what midair itself needs beside the user's tables (the tombstone table). Idempotent. */
  setup(options?: CallOptions): Promise<void>;
  /** Compares the mapping with the live schema and reports problems in plain words. */
  check(options?: CallOptions): Promise<CheckReport>;
  /** Releases what the store opened itself; a pool passed in by the user stays open. */
  close(): Promise<void>;

  // ── optional capabilities ──
  /** Key-only reads; without them, callers read whole entities and take their keys. */
  readonly keyReads?: KeyReads<K>;
  /** Hashing inside the database; without it, verification hashes scanned entities in JS. */
  readonly hashing?: HashPushdown<K>;
  /** A copy from a store of the same engine and shape; without it, a backfill uses {@link syncMany}. */
  readonly bulkCopy?: BulkCopy<K, E>;
  /** Fences against stale writers; without them the store is unfenced (the migration says so at start). */
  readonly fencing?: Fencing;
  /** Entities by the values of some fields, in one statement; without it, a declared lookup cannot run on the store. */
  readonly lookups?: Lookups<E>;
  /** A patch in one statement, for direct writes; without it, a patch is an {@link updateKey}. */
  readonly patching?: DirectPatch<K, E>;
  /** A tiny write that commits, which a job's pacing times; without it, the pacing times a point read. */
  readonly commitProbe?: CommitProbe;
}

/**
 * A write as small as a write can be, for pacing a job by what the store's
 * writers wait for: a point read never waits for the log to reach the disk,
 * and every commit does. Only timing rests on it, never safety.
 */
export interface CommitProbe {
  /**
   * Commits one tiny write to midair's own probe table beside the store's
   * tables — never a row of the user's tables, and never a fence or a
   * tombstone — in a transaction of its own, so its commit writes and flushes
   * the log as the application's writes do (and, on SQLite, takes the write
   * lock they take). Resolves once it committed. Fails with SCHEMA_MISMATCH
   * where the probe table is missing (`setup()` creates it).
   */
  commit(options?: CallOptions): Promise<void>;
}

/** A store's lookups by field values (what `lookup('email')` in a migration's `queries` runs). */
export interface Lookups<E extends object> {
  /**
   * The entities whose fields equal every value of `where` (`null`: the field
   * has no value), in key order, in one statement where the store can. A
   * field the store does not map is refused with INVALID_ARGUMENT, before
   * anything is read.
   */
  findBy(where: Readonly<Partial<E>>, options?: CallOptions): Promise<E[]>;
}

/** Patching a key in place, as the application's own `UPDATE … SET <these columns>` would (see {@link DirectWrite}). */
export interface DirectPatch<K extends Key, E extends object> {
  /**
   * Sets only the given fields of an existing key — no key lock, the fence
   * checked in the statement — and resolves the entity after. Resolves
   * `undefined` where that decided nothing (the key is absent, the fence is
   * above `options.fence`, or its row is missing): nothing was written, and
   * the caller takes {@link Store.updateKey}, which answers each case.
   */
  patch(key: K, fields: Partial<E>, options?: CallOptions): Promise<E | undefined>;
}

/** A store's key-only reads (an index-only walk where the database can). */
export interface KeyReads<K extends Key> {
  /** {@link Store.scan} that reads only the keys. */
  scanKeys(options?: ScanOptions<K>): AsyncIterable<K[]>;
  /** One flag per key, in the order given: whether the store holds it. */
  hasMany(keys: readonly K[], options?: CallOptions): Promise<boolean[]>;
  /** The key at 1-based position `offset` within `range`, in the store's order; `undefined` when the range holds fewer. */
  keyAt(range: KeyRange<K>, offset: number, options?: CallOptions): Promise<K | undefined>;
  /**
   * The keys at positions `step`, `2 × step`, … within `range` (at most
   * `limit` of them), in one read; absent where the store has no faster way
   * than {@link keyAt} once per key.
   */
  keysEvery?(range: KeyRange<K>, step: number, limit: number, options?: CallOptions): Promise<K[]>;
}

/** Verification's hashes computed inside the database, over the canonical form of the entities (src/core/canonical.ts). */
export interface HashPushdown<K extends Key> {
  /**
   * Why this store cannot hash its entities inside the database (leaving out
   * `ignore`), or `undefined` when it can — a custom codec, or a column type
   * its SQL cannot put in canonical form.
   */
  hashUnsupported(ignore: ReadonlySet<string>): string | undefined;
  /**
   * Which fields this store's hashes put in canonical form in JS, beside
   * the database's share (MariaDB's JSON fields), and why; `undefined`: none.
   */
  hashedInJs?(ignore: ReadonlySet<string>): string | undefined;
  /** Count and hash sum of the entities in `range`. */
  hashRange(range: KeyRange<K>, ignore: ReadonlySet<string>, options?: CallOptions): Promise<RangeHash>;
  /**
   * {@link hashRange} of the parts of `range` cut at `splits` (ascending keys
   * within it): `(after, s1], (s1, s2], …, (sN, through]`, in one pass.
   */
  hashParts(
    range: KeyRange<K>,
    splits: readonly K[],
    ignore: ReadonlySet<string>,
    options?: CallOptions,
  ): Promise<RangeHash[]>;
  /**
   * A cheaper row hash than the canonical form, valid only between two stores
   * whose {@link PairHash.shape} is the same (one engine, the same fields,
   * codecs and column types); absent where the store has none.
   */
  readonly pairHash?: PairHash<K>;
}

/**
 * A row hash two stores of one engine and shape compute alike from the
 * values as the database holds them, with no canonical text (see
 * docs/decisions/0018). Verification uses it only when both sides report
 * the same shape, and seeds it per run.
 */
export interface PairHash<K extends Key> {
  /**
   * What another store must match for the two to compare pair hashes, read
   * from the catalog now (the engine, and each hashed field's codec and
   * column type); `undefined` where these fields cannot be pair-hashed.
   */
  shape(ignore: ReadonlySet<string>, options?: CallOptions): Promise<string | undefined>;
  /** {@link HashPushdown.hashParts} with the pair hash, seeded with `seed` (a signed 64-bit integer). */
  hashParts(
    range: KeyRange<K>,
    splits: readonly K[],
    ignore: ReadonlySet<string>,
    seed: bigint,
    options?: CallOptions,
  ): Promise<RangeHash[]>;
}

/** A backfill chunk copied from a store of the same engine and shape, rows going across as the database prints them. */
export interface BulkCopy<K extends Key, E extends object> {
  /**
   * {@link Store.syncMany} reading `source` itself. Resolves `undefined`,
   * having done nothing, when the two cannot copy this way (another engine,
   * another shape): the caller then uses {@link Store.syncMany}.
   */
  syncManyFrom(keys: readonly K[], source: Store<K, E>, options?: CallOptions): Promise<SyncManyResult | undefined>;
  /**
   * The source's next keys after `range.after` (up to `range.through`), at
   * most `range.size`, read with their rows in one range read, and the sync
   * of those keys ({@link syncManyFrom}, where a key the target holds no row
   * and no tombstone of under its lock takes the row read by the range
   * instead of reading it again). `undefined`, having done nothing, when the
   * two cannot copy this way.
   */
  rangeFrom?(
    source: Store<K, E>,
    range: { readonly after?: K | undefined; readonly through?: K | undefined; readonly size: number },
    options?: CallOptions,
  ): Promise<{ readonly keys: readonly K[]; sync(): Promise<SyncManyResult> } | undefined>;
}

/** A store's fences (see {@link Fence}). */
export interface Fencing {
  /**
   * Raises this store's fence for `fence.migration` to `fence.epoch` (never
   * lowers it). Resolves once every write that passed the previous fence has
   * committed or aborted; from then on a write carrying a lower epoch is
   * refused with `FENCED` and writes nothing.
   */
  raiseFence(fence: Fence, options?: CallOptions): Promise<void>;
  /** The fence for `migration` (0 when none was raised). */
  fenceOf(migration: string, options?: CallOptions): Promise<number>;
}

/** The keys of a store's scan, read key-only where the store can. */
export async function* scanKeysOf<K extends Key, E extends object>(
  store: Store<K, E>,
  options: ScanOptions<K> = {},
): AsyncIterable<K[]> {
  if (store.keyReads) {
    yield* store.keyReads.scanKeys(options);
    return;
  }
  for await (const chunk of store.scan(options)) yield chunk.map((e) => store.keyOf(e));
}

/** Whether the store holds each key, read key-only where the store can. */
export async function hasManyOf<K extends Key, E extends object>(
  store: Store<K, E>,
  keys: readonly K[],
  options?: CallOptions,
): Promise<boolean[]> {
  if (store.keyReads) return store.keyReads.hasMany(keys, options);
  return (await store.getMany(keys, options)).map((e) => e !== undefined);
}

export function emptyBulkResult(): {
  inserted: number;
  updated: number;
  skippedExisting: number;
  skippedTombstoned: number;
} {
  return { inserted: 0, updated: 0, skippedExisting: 0, skippedTombstoned: 0 };
}
