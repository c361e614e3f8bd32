import type { Key } from '../core/keys.js';
import { MidairError } from '../core/errors.js';
import { matchesFields } from '../core/lookup.js';
import type { CallOptions, KeyRange, KeyReads, Lookups, ScanOptions, Tombstone } from '../core/store.js';
import { execAll } from './redis-client.js';
import type { RedisParts } from './redis-parts.js';

/** The Redis store's reads: entities by key, the index walked in key order, tombstones. */
export class RedisReads<K extends Key, E extends object> {
  readonly #p: RedisParts<K, E>;
  readonly keyReads: KeyReads<K>;
  /** Lookups by field values: Redis has no secondary index here, so each one scans every entity (docs/redis.md). */
  readonly lookups: Lookups<E>;

  constructor(parts: RedisParts<K, E>) {
    this.#p = parts;
    this.lookups = { findBy: async (where, options) => this.#findBy(where, options) };
    this.keyReads = {
      scanKeys: (options) =>
        this.#walk('scanKeys', options ?? {}, async (members) =>
          Promise.resolve(members.map((m) => parts.order.decode(m))),
        ),
      hasMany: async (keys, options) => this.#hasMany(keys, options),
      keyAt: async (range, offset, options) => (await this.#ranked('keyAt', range, offset, 1, 1, options))[0],
      keysEvery: async (range, step, limit, options) => this.#ranked('keysEvery', range, step, step, limit, options),
    };
  }

  /** The entities of `keys` (`undefined` where absent), from one pipeline. */
  async getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]> {
    const p = this.#p;
    if (keys.length === 0) {
      p.open('getMany', options);
      return [];
    }
    const rows = await p.call(
      'getMany',
      async () => {
        const pipeline = p.client.pipeline();
        for (const k of keys) pipeline.hmgetBuffer(p.entityKey(k), ...p.names);
        return (await execAll(pipeline)) as (Buffer | null)[][];
      },
      options,
    );
    return rows.map((cells) => (cells.every((c) => c === null) ? undefined : p.rows.decode(cells)));
  }

  async get(key: K, options?: CallOptions): Promise<E | undefined> {
    const p = this.#p;
    const cells = await p.call('get', async () => p.client.hmgetBuffer(p.entityKey(key), ...p.names), options);
    return cells.every((c) => c === null) ? undefined : p.rows.decode(cells);
  }

  async getTombstone(key: K, options?: CallOptions): Promise<Tombstone<K> | undefined> {
    const p = this.#p;
    const member = p.order.encode(key);
    const raw = await p.call('getTombstone', async () => p.client.hgetBuffer(p.mapping.keys.tombs, member), options);
    return p.tombstoneFrom(key, raw);
  }

  async count(options?: CallOptions): Promise<number> {
    const p = this.#p;
    return p.call('count', async () => p.client.zcard(p.mapping.keys.index), options);
  }

  scan(options: ScanOptions<K> = {}): AsyncIterable<E[]> {
    return this.#walk('scan', options, async (members) => {
      const found = await this.getMany(
        members.map((m) => this.#p.order.decode(m)),
        options,
      );
      // A key deleted between the index read and the row read is not in the chunk.
      return found.filter((e): e is E => e !== undefined);
    });
  }

  /** The index in key order, one chunk of members at a time, each turned into what the caller reads. */
  async *#walk<T>(
    operation: string,
    options: ScanOptions<K>,
    each: (members: Buffer[]) => Promise<T[]>,
  ): AsyncIterable<T[]> {
    const p = this.#p;
    const size = options.chunkSize ?? 1000;
    const range = p.lex(options);
    if (range.empty) return;
    let min = range.min;
    for (;;) {
      const members = await p.call(
        operation,
        async () => p.client.zrangebylexBuffer(p.mapping.keys.index, min, range.max, 'LIMIT', 0, size),
        options,
      );
      if (members.length === 0) return;
      const chunk = await each(members);
      if (chunk.length > 0) yield chunk;
      if (members.length < size) return;
      min = Buffer.concat([Buffer.from('('), members[members.length - 1] as Buffer]);
    }
  }

  async #hasMany(keys: readonly K[], options?: CallOptions): Promise<boolean[]> {
    const p = this.#p;
    if (keys.length === 0) return [];
    const flags = await p.call(
      'hasMany',
      async () => {
        const pipeline = p.client.pipeline();
        for (const k of keys) pipeline.exists(p.entityKey(k));
        return (await execAll(pipeline)) as number[];
      },
      options,
    );
    return flags.map((n) => n === 1);
  }

  /**
   * The keys at 1-based positions `first`, `first + step`, … within `range`
   * (at most `limit`), by rank: all members share one score, so rank order is
   * key order, and each lookup is logarithmic.
   */
  async #ranked(
    operation: string,
    range: KeyRange<K>,
    first: number,
    step: number,
    limit: number,
    options?: CallOptions,
  ): Promise<K[]> {
    const p = this.#p;
    const lex = p.lex(range);
    if (lex.empty || first < 1 || limit < 1) return [];
    const index = p.mapping.keys.index;
    const after = lex.after;
    const [below, upTo] = await p.call(
      operation,
      async () => {
        const pipeline = p.client.pipeline();
        // Members up to the lower bound (excluded from the range), and up to the upper one.
        pipeline.zlexcount(index, '-', after === undefined ? '-' : Buffer.concat([Buffer.from('['), after]));
        pipeline.zlexcount(index, '-', lex.max);
        return (await execAll(pipeline)) as number[];
      },
      options,
    );
    const start = after === undefined ? 0 : (below ?? 0);
    const end = upTo ?? 0; // ranks below `end` are in the range
    const ranks: number[] = [];
    for (let r = start + first - 1; r < end && ranks.length < limit; r += step) ranks.push(r);
    if (ranks.length === 0) return [];
    const members = await p.call(
      operation,
      async () => {
        const pipeline = p.client.pipeline();
        for (const r of ranks) pipeline.zrangeBuffer(index, r, r);
        return (await execAll(pipeline)) as Buffer[][];
      },
      options,
    );
    return members.flatMap((m) => (m[0] ? [p.order.decode(m[0])] : []));
  }

  async #findBy(where: Readonly<Partial<E>>, options?: CallOptions): Promise<E[]> {
    const p = this.#p;
    p.open('findBy', options);
    const fields = p.mapping.fields;
    const wanted: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(where)) {
      if (!fields.some((f) => f.field === field))
        throw new MidairError(
          'INVALID_ARGUMENT',
          `lookup on ${p.name}: "${field}" is not a mapped field; look up by one of ${fields.map((f) => `"${f.field}"`).join(', ')}`,
        );
      wanted[field] = value;
    }
    if (Object.keys(wanted).length === 0)
      throw new MidairError('INVALID_ARGUMENT', `lookup on ${p.name}: name at least one field to look up by`);
    // The values as the store would hold them (a uuid's case, a decimal's zeros), so equal values match.
    const probe = p.rows.decode(
      p.rows.encode(wanted as E).map((c) => (c === null ? null : Buffer.isBuffer(c) ? c : Buffer.from(c))),
    );
    const normal = Object.fromEntries(
      Object.keys(wanted).map((f) => [f, (probe as Record<string, unknown>)[f]]),
    ) as Partial<E>;
    const found: E[] = [];
    for await (const chunk of this.scan({ ...(options?.signal ? { signal: options.signal } : {}) }))
      for (const e of chunk) if (matchesFields(e, normal)) found.push(e);
    return found;
  }

  /** Up to `count` keys picked at random, in key order. */
  async sampleKeys(count: number, options?: CallOptions): Promise<K[]> {
    const p = this.#p;
    if (count <= 0) return [];
    const members = await p.call(
      'sampleKeys',
      async () => p.client.zrandmemberBuffer(p.mapping.keys.index, count),
      options,
    );
    return [...members].sort((a, b) => Buffer.compare(a, b)).map((m) => p.order.decode(m));
  }
}
