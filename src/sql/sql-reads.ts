import { MidairError, throwIfAborted } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { CallOptions, KeyRange, ScanOptions, Tombstone } from '../core/store.js';
import { chunked } from '../core/collections.js';
import type { Statement } from './sql-statements.js';
import type { StoreParts } from './sql-store-parts.js';

/** The plain reads of one store: single statements outside any transaction. */
export class SqlReads<K extends Key, E extends object> {
  readonly #p: StoreParts<K, E>;

  constructor(parts: StoreParts<K, E>) {
    this.#p = parts;
  }

  async #run(operation: string, statement: Statement): Promise<readonly (readonly unknown[])[]> {
    return (await this.#p.runner.query(operation, statement.sql, statement.params)).rows;
  }

  async get(key: K, options?: CallOptions): Promise<E | undefined> {
    this.#p.open('get', options);
    const [row] = await this.#run('get', this.#p.sql.byKey(key));
    return row === undefined ? undefined : this.#p.codec.decode(row);
  }

  async getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]> {
    this.#p.open('getMany', options);
    const found = new Map<string, E>();
    for (const batch of chunked(keys, this.#p.sql.batchRows(1))) {
      throwIfAborted(options?.signal, 'getMany');
      for (const row of await this.#run('getMany', this.#p.sql.byKeys(batch))) {
        const entity = this.#p.codec.decode(row);
        found.set(keyId(this.#p.keyOf(entity)), entity);
      }
    }
    return keys.map((k) => found.get(keyId(k)));
  }

  async hasMany(keys: readonly K[], options?: CallOptions): Promise<boolean[]> {
    this.#p.open('hasMany', options);
    const found = new Set<string>();
    for (const batch of chunked(keys, this.#p.sql.batchRows(1))) {
      throwIfAborted(options?.signal, 'hasMany');
      for (const row of await this.#run('hasMany', this.#p.sql.keysIn(batch)))
        found.add(keyId(this.#p.codec.decodeKey(row)));
    }
    return keys.map((k) => found.has(keyId(k)));
  }

  /** One statement: `SELECT <entity> … WHERE <field> = ? AND …` (`IS NULL` for null), in key order. */
  async findBy(where: Readonly<Partial<E>>, options?: CallOptions): Promise<E[]> {
    this.#p.open('findBy', options);
    const { sql, mapping, codec, name } = this.#p;
    const params = sql.params();
    const q = (c: string): string => sql.compiler.quoteId(c);
    const conditions = Object.entries(where).map(([field, value]) => {
      const f = mapping.selectFields.find((s) => s.field === field);
      if (!f)
        throw new MidairError(
          'INVALID_ARGUMENT',
          `lookup on ${name}: "${field}" is not a mapped field; look up by one of ${mapping.selectFields.map((s) => `"${s.field}"`).join(', ')}`,
        );
      const column = `t${f.tableIndex}.${q(f.column)}`;
      return value === null || value === undefined ? `${column} IS NULL` : `${column} = ${params.field(f, value)}`;
    });
    if (conditions.length === 0)
      throw new MidairError('INVALID_ARGUMENT', `lookup on ${name}: name at least one field to look up by`);
    const text = `${sql.select} WHERE ${conditions.join(' AND ')} ORDER BY ${sql.keyCols0.join(', ')}`;
    return (await this.#run('findBy', { sql: text, params: params.values })).map((r) => codec.decode(r));
  }

  async count(options?: CallOptions): Promise<number> {
    this.#p.open('count', options);
    const [row] = await this.#run('count', { sql: this.#p.sql.count(), params: [] });
    return Number(row?.[0] ?? 0);
  }

  scan(options: ScanOptions<K> = {}): AsyncIterable<E[]> {
    return this.#keyset(
      'scan',
      options,
      this.#p.sql.select,
      (r) => this.#p.codec.decode(r),
      (e) => this.#p.keyOf(e),
    );
  }

  scanKeys(options: ScanOptions<K> = {}): AsyncIterable<K[]> {
    return this.#keyset(
      'scanKeys',
      options,
      this.#p.sql.selectKeys,
      (r) => this.#p.codec.decodeKey(r),
      (k) => k,
    );
  }

  /** A keyset walk of `select` in key order, in chunks of decoded rows. */
  async *#keyset<T>(
    operation: string,
    options: ScanOptions<K>,
    select: string,
    decode: (row: readonly unknown[]) => T,
    keyOf: (item: T) => K,
  ): AsyncIterable<T[]> {
    const size = options.chunkSize ?? 1000;
    if (!Number.isSafeInteger(size) || size < 1)
      throw new MidairError('INVALID_ARGUMENT', `${operation}: chunkSize must be a positive integer`);
    let after = options.after;
    for (;;) {
      this.#p.open(operation, options);
      const rows = await this.#run(
        operation,
        this.#p.sql.page(select, { after, through: options.through, within: options.within }, size),
      );
      if (rows.length === 0) return;
      const chunk = rows.map(decode);
      // Taken before yielding: the consumer owns the chunk and may empty it.
      const last = keyOf(chunk[chunk.length - 1] as T);
      yield chunk;
      if (rows.length < size) return;
      after = last;
    }
  }

  async keyAt(range: KeyRange<K>, offset: number, options?: CallOptions): Promise<K | undefined> {
    this.#p.open('keyAt', options);
    if (!Number.isSafeInteger(offset) || offset < 1)
      throw new MidairError('INVALID_ARGUMENT', 'keyAt: offset must be a positive integer');
    const [row] = await this.#run('keyAt', this.#p.sql.keyAt(range, offset));
    return row === undefined ? undefined : this.#p.codec.decodeKey(row);
  }

  async keysEvery(range: KeyRange<K>, step: number, limit: number, options?: CallOptions): Promise<K[]> {
    this.#p.open('keysEvery', options);
    if (!Number.isSafeInteger(step) || step < 1 || !Number.isSafeInteger(limit) || limit < 0)
      throw new MidairError('INVALID_ARGUMENT', 'keysEvery: step and limit must be positive integers');
    if (limit === 0) return [];
    const rows = await this.#run('keysEvery', this.#p.sql.keysEvery(range, step, limit));
    return rows.map((r) => this.#p.codec.decodeKey(r));
  }

  async sampleKeys(count: number, options?: CallOptions): Promise<K[]> {
    this.#p.open('sampleKeys', options);
    if (!Number.isSafeInteger(count) || count < 1) return [];
    const rows = await this.#run('sampleKeys', { sql: this.#p.sql.sampleKeys(count), params: [] });
    return rows.map((r) => this.#p.codec.decodeKey(r));
  }

  async getTombstone(key: K, options?: CallOptions): Promise<Tombstone<K> | undefined> {
    this.#p.open('getTombstone', options);
    const [row] = await this.#run('getTombstone', this.#p.sql.tombstoneOf(key));
    if (!row) return undefined;
    return {
      key,
      version: this.#p.codec.decodeVersion(this.#p.sql.tombVersion, row[0]),
      deletedAt: this.#p.codec.decodeDeletedAt(row[1]),
    };
  }
}
