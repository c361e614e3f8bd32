import { MidairError } from '../core/errors.js';
import { validateFence, validateMigrationName } from '../core/fence-rules.js';
import type { Key } from '../core/keys.js';
import type { CheckReport } from '../core/check-report.js';
import type {
  BulkWriteResult,
  CallOptions,
  CommitProbe,
  DeleteOptions,
  Fencing,
  HashPushdown,
  KeyReads,
  KeyState,
  Lookups,
  PutOptions,
  ScanOptions,
  Store,
  SyncManyResult,
  SyncResult,
  Tombstone,
  UpdateResult,
} from '../core/store.js';
import type { Version } from '../core/versions.js';
import type { RedisClient } from './redis-client.js';
import { checkRedis } from './redis-check.js';
import { RedisHashing } from './redis-hash.js';
import type { RedisMapping } from './redis-mapping.js';
import { RedisParts, SCRIPTS } from './redis-parts.js';
import { RedisReads } from './redis-reads.js';
import { indexExisting } from './redis-setup.js';
import { RedisWrites } from './redis-writes.js';

export interface RedisStoreOptions {
  /** The store's name in messages and metrics; default `redis:<prefix>`. */
  readonly name?: string;
  /** Close the client with the store (a client the store's opener made for it); default false: the client is yours. */
  readonly ownsClient?: boolean;
}

/**
 * A {@link Store} over Redis: each entity a hash under the mapping's prefix,
 * beside midair's own keys (an ordered index, revisions and row hashes,
 * tombstones, fences). Writes are compare-and-set scripts; see
 * docs/decisions/0025 and docs/redis.md. The client stays the caller's.
 */
export class RedisStore<K extends Key, E extends object> implements Store<K, E> {
  readonly name: string;
  readonly versioned: boolean;
  readonly keyFields: readonly string[];
  readonly keyOf: (entity: E) => K;
  readonly versionOf: (entity: E) => Version | undefined;
  readonly keyReads: KeyReads<K>;
  readonly lookups: Lookups<E>;
  readonly hashing: HashPushdown<K>;
  readonly fencing: Fencing;
  readonly commitProbe: CommitProbe;
  readonly #p: RedisParts<K, E>;
  readonly #reads: RedisReads<K, E>;
  readonly #writes: RedisWrites<K, E>;
  readonly #ownsClient: boolean;

  constructor(client: RedisClient, mapping: RedisMapping<E>, options: RedisStoreOptions = {}) {
    this.name = options.name ?? `redis:${mapping.prefix}`;
    this.#ownsClient = options.ownsClient === true;
    const p = new RedisParts<K, E>(client, mapping, this.name);
    this.#p = p;
    this.versioned = mapping.versionField !== undefined;
    this.keyFields = mapping.keyFields;
    this.keyOf = p.keyOf;
    this.versionOf = p.versionOf;
    this.#reads = new RedisReads(p);
    this.#writes = new RedisWrites(p);
    this.keyReads = this.#reads.keyReads;
    this.lookups = this.#reads.lookups;
    this.hashing = new RedisHashing(p, this.#reads);
    this.fencing = {
      raiseFence: async (fence, opts) => {
        p.open('raiseFence', opts);
        validateFence(fence, `raiseFence on ${this.name}`);
        // Every fenced write checks the fence in the script that writes: none that passed the old one is in flight.
        await p.run('raiseFence', SCRIPTS.raiseFence, [mapping.keys.fences], [fence.migration, fence.epoch], opts);
      },
      fenceOf: async (migration, opts) => {
        validateMigrationName(migration, `fenceOf on ${this.name}`);
        const at = await p.call('fenceOf', async () => client.hget(mapping.keys.fences, migration), opts);
        return at === null ? 0 : Number(at);
      },
    };
    this.commitProbe = {
      commit: async (opts) => {
        await p.call('commitProbe', async () => client.incr(mapping.keys.probe), opts);
      },
    };
  }

  get(key: K, options?: CallOptions): Promise<E | undefined> {
    return this.#reads.get(key, options);
  }

  getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]> {
    return this.#reads.getMany(keys, options);
  }

  getTombstone(key: K, options?: CallOptions): Promise<Tombstone<K> | undefined> {
    return this.#reads.getTombstone(key, options);
  }

  async readKey(key: K, options?: CallOptions): Promise<KeyState<K, E>> {
    this.#p.order.encode(key);
    const [s] = await this.#writes.cas.state('readKey', [key], 'all', options);
    if (!s) return {};
    if (s.exists) return { entity: this.#p.rows.decode(s.cells) };
    const tombstone = this.#p.tombstoneFrom(key, s.tomb);
    return tombstone ? { tombstone } : {};
  }

  count(options?: CallOptions): Promise<number> {
    return this.#reads.count(options);
  }

  scan(options?: ScanOptions<K>): AsyncIterable<E[]> {
    return this.#reads.scan(options);
  }

  sampleKeys(count: number, options?: CallOptions): Promise<K[]> {
    return this.#reads.sampleKeys(count, options);
  }

  put(entity: E, options?: PutOptions): Promise<void> {
    return this.#writes.put(entity, options);
  }

  delete(key: K, options?: DeleteOptions): Promise<boolean> {
    return this.#writes.delete(key, options);
  }

  writeIfNewer(entities: readonly E[], options?: CallOptions): Promise<BulkWriteResult> {
    return this.#writes.writeIfNewer(entities, options);
  }

  syncKey(key: K, read: () => Promise<E | undefined>, options?: CallOptions): Promise<SyncResult> {
    return this.#writes.syncKey(key, read, options);
  }

  syncMany(
    keys: readonly K[],
    read: (keys: readonly K[], held?: ReadonlySet<string>) => Promise<readonly (E | undefined | null)[]>,
    options?: CallOptions,
  ): Promise<SyncManyResult> {
    return this.#writes.syncMany(keys, read, options);
  }

  updateKey(
    key: K,
    next: (current: KeyState<K, E>) => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult> {
    return this.#writes.updateKey(key, next, options);
  }

  async purgeTombstones(options?: CallOptions): Promise<number> {
    const p = this.#p;
    const tombs = p.mapping.keys.tombs;
    const [[, n]] = (await p.call(
      'purgeTombstones',
      async () => p.client.multi().hlen(tombs).del(tombs).exec(),
      options,
    )) as [[unknown, number]];
    return n;
  }

  async setup(options?: CallOptions): Promise<void> {
    const p = this.#p;
    p.open('setup', options);
    await p.call('setup', async () => Promise.all(Object.values(SCRIPTS).map((s) => s.load(p.client))), options);
    await indexExisting(p, options);
  }

  check(options?: CallOptions): Promise<CheckReport> {
    return checkRedis(this.#p, options);
  }

  async close(): Promise<void> {
    if (this.#p.closed) return;
    this.#p.closed = true;
    if (this.#ownsClient) await this.#p.client.quit().catch(() => this.#p.client.disconnect());
  }
}

/**
 * A {@link Store} over the Redis your ioredis client reaches.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { col } from 'midair';
 * import { redisMapping, redisStore } from 'midair/redis';
 *
 * const users = redisStore<bigint, User>(new Redis(process.env.REDIS_URL), redisMapping<User>({
 *   prefix: 'user:', key: 'id', version: 'version',
 *   fields: { id: col.bigint('id'), email: col.text('email'), version: col.integer('version') },
 * }));
 * ```
 */
export function redisStore<K extends Key, E extends object>(
  client: RedisClient,
  mapping: RedisMapping<E>,
  options?: RedisStoreOptions,
): Store<K, E> {
  if (typeof (client as { callBuffer?: unknown }).callBuffer !== 'function')
    throw new MidairError('INVALID_ARGUMENT', 'redisStore: pass an ioredis client (new Redis(url))');
  return new RedisStore<K, E>(client, mapping, options);
}
