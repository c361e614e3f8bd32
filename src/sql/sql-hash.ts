import type { MappedField, SqlMapping } from '../mapping/mapping.js';
import { entityHash, framed, hashFieldOrder, type HashKind } from '../core/canonical.js';
import type { SqlCompiler } from './sql-compiler.js';
import type { Params } from './sql-statements.js';

/** One engine's SQL for hashing rows where they are stored (verification pushdown). */
export interface HashSql {
  /**
   * SQL producing a column's canonical text (src/verify/canonical.ts: a type
   * tag, then the value), NULL for NULL; `undefined` where this engine
   * cannot (verification then hashes that store's entities in JS).
   */
  canonicalExpr(kind: HashKind, column: string): string | undefined;
  /**
   * SQL hashing one row to an unsigned 60-bit integer: the MD5 of every part's
   * `name` (a placeholder for the framed field name), then its value framed
   * as `<bytes>:<text>` — nothing for a NULL value.
   */
  rowHash(parts: readonly { readonly name: string; readonly value: string }[]): string;
  /**
   * SQL for the framed text {@link rowHash} hashes, unhashed (`''` for no
   * parts), where the engine leaves some fields to JS (src/sql/sql-split-hash.ts).
   */
  rowText?(parts: readonly { readonly name: string; readonly value: string }[]): string;
  /** The engine's pair hash (docs/decisions/0018), where it has one. */
  readonly pair?: PairHashSql | undefined;
}

/** A hashed field as the pair hash sees it: its codec, and where its column lives. */
export interface PairField {
  readonly field: string;
  readonly codec: MappedField['codec'];
  /** The qualified table holding the column, and the column's bare name. */
  readonly table: string;
  readonly column: string;
}

/** One engine's pair hash: a row hash two stores of this engine and shape compute alike, with no canonical text. */
export interface PairHashSql {
  /**
   * What two stores must agree on, read from the catalog with `query`
   * (the engine and each field's codec and column type), or `undefined`
   * where these fields cannot be pair-hashed.
   */
  shape(
    query: (sql: string, params: readonly unknown[]) => Promise<readonly (readonly unknown[])[]>,
    fields: readonly PairField[],
  ): Promise<string | undefined>;
  /** SQL hashing one row of these columns (in this order) to a signed 64-bit integer, seeded with the `seed` placeholder. */
  rowHash(columns: readonly string[], seed: string): string;
}

export type SelectField = MappedField & { readonly tableIndex: number };

const NOTHING_IGNORED: ReadonlySet<string> = new Set();

/** The entity fields a row hash covers, in canonical order. */
export function hashedFields(mapping: SqlMapping<object>, ignore: ReadonlySet<string>): SelectField[] {
  const byName = new Map(mapping.selectFields.filter((f) => !ignore.has(f.field)).map((f) => [f.field, f]));
  return hashFieldOrder(byName.keys()).map((name) => byName.get(name) as SelectField);
}

/** Why `name`'s SQL (`hash`) cannot hash these fields, or `undefined` when it can. */
export function hashUnsupportedReason(
  name: string,
  hash: HashSql | undefined,
  mapping: SqlMapping<object>,
  ignore: ReadonlySet<string>,
): string | undefined {
  for (const f of hashedFields(mapping, ignore)) {
    const kind = f.codec.hashAs;
    if (!kind) return `field "${f.field}" uses codec ${f.codec.type}, which has no canonical SQL form`;
    if (hash?.canonicalExpr(kind, 'c') === undefined)
      return `field "${f.field}" (${kind}) cannot be put in canonical form by ${name} SQL`;
  }
  if (!hash) return `${name} SQL has no row hash`;
  return undefined;
}

/**
 * The SQL expression hashing one row (an unsigned 60-bit integer), built from
 * the engine's canonical expression for each field. Field names travel as
 * parameters. Call only where {@link hashUnsupportedReason} found nothing.
 */
export function rowHashExpr(
  compiler: SqlCompiler,
  hash: HashSql,
  mapping: SqlMapping<object>,
  ignore: ReadonlySet<string>,
  params: Params,
): string {
  const parts = hashedFields(mapping, ignore).map((f) => ({
    name: params.add(framed(f.field)),
    value: hash.canonicalExpr(f.codec.hashAs ?? 'text', `t${f.tableIndex}.${compiler.quoteId(f.column)}`) ?? 'NULL',
  }));
  return hash.rowHash(parts);
}

/**
 * For a driver that hashes through a function of its own (SQLite calls back
 * into JS): the raw columns to pass, and the row hash over their decoded
 * values — the same canonical form as every other engine, by construction.
 */
export function driverRowHash(
  compiler: SqlCompiler,
  mapping: SqlMapping<object>,
  ignore: ReadonlySet<string>,
): { columns: string[]; hashRow: (raw: readonly unknown[]) => bigint } {
  const fields = hashedFields(mapping, ignore);
  return {
    columns: fields.map((f) => `t${f.tableIndex}.${compiler.quoteId(f.column)}`),
    hashRow: (raw) => {
      const entity: Record<string, unknown> = {};
      fields.forEach((f, i) => {
        const value = raw[i];
        entity[f.field] = value === null || value === undefined ? null : f.codec.decode(value, compiler.name);
      });
      return entityHash(entity, NOTHING_IGNORED); // the fields left out were never passed in
    },
  };
}
