import type { MappedField, SqlMapping } from '../mapping/mapping.js';
import { entityHash, framed, hashFieldOrder } from '../verify/canonical.js';
import type { SqlDialect } from './sql-dialect.js';
import type { Params } from './sql-statements.js';

type SelectField = MappedField & { readonly tableIndex: number };

const NOTHING_IGNORED: ReadonlySet<string> = new Set();

/** The entity fields a row hash covers, in canonical order. */
export function hashedFields(mapping: SqlMapping<object>, ignore: ReadonlySet<string>): SelectField[] {
  const byName = new Map(mapping.selectFields.filter((f) => !ignore.has(f.field)).map((f) => [f.field, f]));
  return hashFieldOrder(byName.keys()).map((name) => byName.get(name) as SelectField);
}

/** Why `dialect` cannot hash these fields in SQL, or `undefined` when it can. */
export function hashUnsupportedReason(dialect: SqlDialect, mapping: SqlMapping<object>, ignore: ReadonlySet<string>): string | undefined {
  for (const f of hashedFields(mapping, ignore)) {
    const kind = f.codec.hashAs;
    if (!kind) return `field "${f.field}" uses codec ${f.codec.type}, which has no canonical SQL form`;
    if (dialect.canonicalExpr(kind, 'c') === undefined) return `field "${f.field}" (${kind}) cannot be put in canonical form by ${dialect.name} SQL`;
  }
  if (!dialect.rowHash) return `${dialect.name} SQL has no row hash`;
  return undefined;
}

/**
 * The SQL expression hashing one row (an unsigned 60-bit integer), built from
 * the dialect's canonical expression for each field. Field names travel as
 * parameters. Call only where {@link hashUnsupportedReason} found nothing.
 */
export function rowHashExpr(dialect: SqlDialect, mapping: SqlMapping<object>, ignore: ReadonlySet<string>, params: Params): string {
  const parts = hashedFields(mapping, ignore).map((f) => ({
    name: params.add(framed(f.field)),
    value: dialect.canonicalExpr(f.codec.hashAs ?? 'text', `t${f.tableIndex}.${dialect.quoteId(f.column)}`) ?? 'NULL',
  }));
  return dialect.rowHash?.(parts) ?? 'NULL';
}

/**
 * For a driver that hashes through a function of its own (SQLite calls back
 * into JS): the raw columns to pass, and the row hash over their decoded
 * values — the same canonical form as every other engine, by construction.
 */
export function driverRowHash(dialect: SqlDialect, mapping: SqlMapping<object>, ignore: ReadonlySet<string>): { columns: string[]; hashRow: (raw: readonly unknown[]) => bigint } {
  const fields = hashedFields(mapping, ignore);
  return {
    columns: fields.map((f) => `t${f.tableIndex}.${dialect.quoteId(f.column)}`),
    hashRow: (raw) => {
      const entity: Record<string, unknown> = {};
      fields.forEach((f, i) => {
        const value = raw[i];
        entity[f.field] = value === null || value === undefined ? null : f.codec.decode(value, dialect.name);
      });
      return entityHash(entity, NOTHING_IGNORED); // the fields left out were never passed in
    },
  };
}
