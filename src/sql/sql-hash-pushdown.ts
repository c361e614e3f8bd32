import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { CallOptions, HashPushdown, KeyRange, RangeHash } from '../core/store.js';
import type { SqlMapping } from '../mapping/mapping.js';
import { cellText } from './sql-catalog.js';
import { driverRowHash, hashUnsupportedReason, rowHashExpr } from './sql-hash.js';
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

  constructor(parts: StoreParts<K, E>) {
    this.#p = parts;
    this.#mapping = parts.mapping as SqlMapping<object>;
  }

  hashUnsupported(ignore: ReadonlySet<string>): string | undefined {
    if (this.#p.runner.driver.defineHashAggregate) return undefined;
    return hashUnsupportedReason(this.#p.dialect.name, this.#p.dialect.hashSql, this.#mapping, ignore);
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
    const { name, sql: store, runner } = this.#p;
    this.#p.open('hashParts', options);
    const unsupported = this.hashUnsupported(ignore);
    if (unsupported)
      throw new MidairError('NOT_SUPPORTED', `hashParts on ${name}: ${unsupported}`, {
        details: { store: name, operation: 'hashParts' },
      });
    const params = store.params();
    // Parameters are added in the order they appear in the text (MySQL's are positional).
    const bucket =
      splits.length === 0
        ? '0'
        : `CASE ${splits.map((k, i) => `WHEN ${store.keyBound(params, '<=', k)} THEN ${i}`).join(' ')} ELSE ${splits.length} END`;
    const sql = this.#aggregate(ignore, bucket, params, range);
    const { rows } = await runner.query('hashParts', sql, params.values);
    const parts: RangeHash[] = Array.from({ length: splits.length + 1 }, () => ({ count: 0, sum: 0n }));
    for (const row of rows)
      parts[Number(cellText(row[0]) ?? 0)] = {
        count: Number(cellText(row[1]) ?? 0),
        sum: BigInt(cellText(row[2]) ?? '0'),
      };
    return parts;
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
