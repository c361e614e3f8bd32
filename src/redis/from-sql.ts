import type { ColumnSpec } from '../mapping/columns.js';
import type { SqlMapping } from '../mapping/mapping.js';
import { redisMapping, type RedisMapping } from './redis-mapping.js';

/**
 * The Redis mapping of an entity declared for SQL: every field, through the
 * same codec, in one hash under `prefix` (default: the primary table's name
 * and `:`), each under its column's name (its field name where two tables'
 * columns share one). One mapping declaration then serves both sides of a
 * migration between SQL and Redis, and the command line's config.
 */
export function redisMappingFromSql<E extends object>(mapping: SqlMapping<E>, prefix?: string): RedisMapping<E> {
  const fields: Record<string, ColumnSpec> = {};
  const names = new Set<string>();
  for (const f of mapping.selectFields) {
    const name = names.has(f.column) ? f.field : f.column;
    names.add(name);
    const spec: ColumnSpec = { column: name, codec: f.codec, in: () => spec };
    fields[f.field] = spec;
  }
  return redisMapping<E>({
    prefix: prefix ?? `${mapping.tables[0].table}:`,
    key: mapping.keyFields as never,
    ...(mapping.versionField ? { version: mapping.versionField as never } : {}),
    fields: fields as never,
  });
}
