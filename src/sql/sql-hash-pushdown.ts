import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { CallOptions, HashPushdown, KeyRange, PairHash, RangeHash } from '../core/store.js';
import type { MappedField, SqlMapping } from '../mapping/mapping.js';
import { splitFields, splitHashParts } from './sql-split-hash.js';
import { cellText } from './sql-catalog.js';
import { driverRowHash, hashedFields, hashUnsupportedReason, rowHashExpr, type PairHashSql } from './sql-hash.js';
import type { StoreParts } from './sql-store-parts.js';
import type { Params } from './sql-statements.js';

/** Names hash aggregates uniquely per process (several stores may share one SQLite handle). */
let hashAggregateCount = 0;

/**
 * Verification's pushdown: the count and hash sum of a key range's rows,
 * computed where they are stored — in the engine's SQL, or through a hash
 * aggregate the driver registers (SQLite calls back into JS).
 */
export class SqlHashPushdown<K extends Key, E extends object> implements HashPushdown<K> {
  readonly #p: StoreParts<K, E>;
  readonly #mapping: SqlMapping<object>;
  /** Hash aggregates this store registered with its driver, by the fields they leave out. */
  readonly #aggregates = new Map<string, { name: string; columns: string[] }>();
  readonly pairHash?: PairHash<K>;

  constructor(parts: StoreParts<K, E>) {
    this.#p = parts;
    this.#mapping = parts.mapping as SqlMapping<object>;
    const pair = parts.dialect.hashSql?.pair;
    if (pair && !parts.runner.driver.defineHashAggregate) this.pairHash = this.#pairHash(pair);
  }

  hashUnsupported(ignore: ReadonlySet<string>): string | undefined {
    if (this.#p.runner.driver.defineHashAggregate || this.#split(ignore)) return undefined;
    return hashUnsupportedReason(this.#p.dialect.name, this.#p.dialect.hashSql, this.#mapping, ignore);
  }

  hashedInJs(ignore: ReadonlySet<string>): string | undefined {
    const js = this.#split(ignore);
    if (!js) return undefined;
    const names = js.map((f) => `"${f.field}" (${f.codec.hashAs ?? f.codec.type})`).join(', ');
    return `${js.length > 1 ? 'fields' : 'field'} ${names} put in canonical form in JS, which ${this.#p.dialect.name} SQL cannot do; the rest in SQL`;
  }

  /** The fields left to JS where the engine's SQL frames the rest (see sql-split-hash.ts). */
  #split(ignore: ReadonlySet<string>): MappedField[] | undefined {
    if (this.#p.runner.driver.defineHashAggregate) return undefined;
    return splitFields(this.#p.dialect.hashSql, this.#mapping, ignore);
  }

  async hashRange(range: KeyRange<K>, ignore: ReadonlySet<string>, options?: CallOptions): Promise<RangeHash> {
    return (await this.hashParts(range, [], ignore, options))[0] as RangeHash;
  }

  async hashParts(
    range: KeyRange<K>,
    splits: readonly K[],
    ignore: ReadonlySet<string>,
    options?: CallOptions,
  ): Promise<RangeHash[]> {
    const { name } = this.#p;
    this.#p.open('hashParts', options);
    const unsupported = this.hashUnsupported(ignore);
    if (unsupported)
      throw new MidairError('NOT_SUPPORTED', `hashParts on ${name}: ${unsupported}`, {
        details: { store: name, operation: 'hashParts' },
      });
    const hashSql = this.#p.dialect.hashSql;
    if (hashSql && this.#split(ignore)) return splitHashParts(this.#p, hashSql, range, splits, ignore);
    return this.#sumParts(range, splits, (bucket, params) => this.#aggregate(ignore, bucket, params, range));
  }

  /** Runs the statement `aggregate` builds (bucket, count, sum per row) and reads its sums per part. */
  async #sumParts(
    range: KeyRange<K>,
    splits: readonly K[],
    aggregate: (bucket: string, params: Params) => string,
  ): Promise<RangeHash[]> {
    const { sql: store, runner } = this.#p;
    const params = store.params();
    // Parameters are added in the order they appear in the text (MySQL's are positional).
    const bucket =
      splits.length === 0
        ? '0'
        : `CASE ${splits.map((k, i) => `WHEN ${store.keyBound(params, '<=', k)} THEN ${i}`).join(' ')} ELSE ${splits.length} END`;
    const { rows } = await runner.query('hashParts', aggregate(bucket, params), params.values);
    const parts: RangeHash[] = Array.from({ length: splits.length + 1 }, () => ({ count: 0, sum: 0n }));
    for (const row of rows)
      parts[Number(cellText(row[0]) ?? 0)] = {
        count: Number(cellText(row[1]) ?? 0),
        sum: BigInt(cellText(row[2]) ?? '0'),
      };
    return parts;
  }

  /** The engine's pair hash over this store's columns (docs/decisions/0018). */
  #pairHash(pair: PairHashSql): PairHash<K> {
    const { sql: store, runner } = this.#p;
    const columnsOf = (ignore: ReadonlySet<string>) =>
      hashedFields(this.#mapping, ignore).map((f) => ({
        field: f.field,
        codec: f.codec,
        table: store.tables[f.tableIndex] ?? '',
        column: f.column,
        expr: `t${f.tableIndex}.${store.compiler.quoteId(f.column)}`,
      }));
    return {
      shape: async (ignore, options) => {
        this.#p.open('hashShape', options);
        return pair.shape(
          async (text, values) => (await runner.query('hashShape', text, values)).rows,
          columnsOf(ignore),
        );
      },
      hashParts: async (range, splits, ignore, seed, options) => {
        this.#p.open('hashParts', options);
        const columns = columnsOf(ignore).map((c) => c.expr);
        return this.#sumParts(range, splits, (bucket, params) => {
          const h = pair.rowHash(columns, params.add(BigInt.asIntN(64, seed).toString()));
          const where = store.rangeWhere(params, range);
          return `SELECT ${bucket} AS b, COUNT(*), COALESCE(SUM(${h}), 0) ${store.from}${where} GROUP BY 1`;
        });
      },
    };
  }

  /** The statement summing the row hashes per bucket. */
  #aggregate(ignore: ReadonlySet<string>, bucket: string, params: Params, range: KeyRange<K>): string {
    const { sql: store, runner, dialect } = this.#p;
    const define = runner.driver.defineHashAggregate?.bind(runner.driver);
    if (define) {
      const cacheKey = [...ignore].sort().join('\u0000');
      let aggregate = this.#aggregates.get(cacheKey);
      if (!aggregate) {
        const { columns, hashRow } = driverRowHash(dialect.compiler, this.#mapping, ignore);
        aggregate = { name: `midair_hash_${++hashAggregateCount}`, columns };
        define(aggregate.name, hashRow);
        this.#aggregates.set(cacheKey, aggregate);
      }
      const where = store.rangeWhere(params, range);
      return `SELECT ${bucket} AS b, COUNT(*), ${aggregate.name}(${aggregate.columns.join(', ')}) ${store.from}${where} GROUP BY 1`;
    }
    const expr = rowHashExpr(
      dialect.compiler,
      dialect.hashSql as NonNullable<typeof dialect.hashSql>,
      this.#mapping,
      ignore,
      params,
    );
    const where = store.rangeWhere(params, range);
    return `SELECT b, COUNT(*), COALESCE(SUM(h), 0) FROM (SELECT ${bucket} AS b, ${expr} AS h ${store.from}${where}) s GROUP BY b`;
  }
}
