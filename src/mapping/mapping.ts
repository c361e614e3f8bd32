import { MidairError } from '../core/errors.js';
import type { Codec, DialectName } from './codecs.js';

import { tablesOf, type ColumnSpec, type TableColumns } from './columns.js';

export { col, type ColumnSpec } from './columns.js';

type FieldOf<E> = keyof E & string;

/** One table holding some of the entity's fields; every table holds the key. */
export interface TableMapping<E> {
  readonly table: string;
  /** Schema (PostgreSQL) or database (MySQL); default: the connection's current one. */
  readonly schema?: string;
  /** Each field it holds (the key fields in every table), through a codec that takes the field's values. */
  readonly columns: { readonly [F in FieldOf<E>]?: ColumnSpec<NonNullable<E[F]>> };
}

interface MappingBase<E> {
  readonly key: FieldOf<E> | readonly FieldOf<E>[];
  /** The field that only grows with every write; enables newer-wins writes. */
  readonly version?: FieldOf<E>;
  /** Table for tombstones; default `<primary table>_midair_tombstones`. */
  readonly tombstoneTable?: string;
}

/**
 * An entity over one or more tables that share its key, table by table. The
 * first table is the primary one: an entity exists when its primary row
 * exists. (The {@link ColumnsMappingSpec} form also proves at compile time
 * that every field is mapped.)
 */
export interface TablesMappingSpec<E> extends MappingBase<E> {
  readonly tables: readonly [TableMapping<E>, ...TableMapping<E>[]];
}

/**
 * An entity field by field: every field of `E` is named once, with a codec
 * that takes its values — a field left out, or `col.integer` on a string
 * field, does not compile. A field stored in another table of the entity says
 * so with `.in('table')`; `joined` names how each such table holds the key.
 */
export interface ColumnsMappingSpec<E> extends MappingBase<E> {
  /** The primary table: an entity exists when its row there exists. */
  readonly table: string;
  /** Schema (PostgreSQL) or database (MySQL) of the primary table; default: the connection's current one. */
  readonly schema?: string;
  readonly columns: { readonly [F in FieldOf<E>]-?: ColumnSpec<NonNullable<E[F]>> };
  /**
   * The other tables: the column holding the key (one name, or one per key
   * field) and the schema. Default: the primary table's key columns and schema.
   */
  readonly joined?: {
    readonly [table: string]: {
      readonly key?: string | { readonly [F in FieldOf<E>]?: string };
      readonly schema?: string;
    };
  };
}

export type SqlMappingSpec<E> = TablesMappingSpec<E> | ColumnsMappingSpec<E>;

export interface MappedField {
  readonly field: string;
  readonly column: string;
  readonly codec: Codec<never>;
  readonly isKey: boolean;
}

export interface MappedTable {
  readonly table: string;
  readonly schema: string | undefined;
  readonly fields: readonly MappedField[];
  readonly keyColumns: readonly MappedField[];
  readonly valueColumns: readonly MappedField[];
}

/** A validated mapping, ready for statement building. */
export interface SqlMapping<E> {
  readonly spec: SqlMappingSpec<E>;
  readonly keyFields: readonly string[];
  readonly versionField: string | undefined;
  readonly tables: readonly [MappedTable, ...MappedTable[]];
  readonly tombstone: { readonly table: string; readonly schema: string | undefined };
  /** Every field of the entity, in SELECT order: primary table first, then the others' value columns. */
  readonly selectFields: readonly (MappedField & { readonly tableIndex: number })[];
}

/**
 * Declares and validates an entity ↔ tables mapping.
 *
 * @example
 * ```ts
 * interface User { id: bigint; email: string; bio: string | null; version: number }
 * const users = sqlMapping<User>({
 *   key: 'id',
 *   version: 'version',
 *   tables: [
 *     { table: 'users', columns: { id: col.bigint('id'), email: col.text('email'), version: col.integer('version') } },
 *     { table: 'user_profiles', columns: { id: col.bigint('user_id'), bio: col.text('bio') } },
 *   ],
 * });
 * ```
 */
export function sqlMapping<E extends object>(spec: SqlMappingSpec<E>): SqlMapping<E> {
  const keyFields: string[] = typeof spec.key === 'string' ? [spec.key] : [...(spec.key as readonly string[])];
  const invalid = (what: string): MidairError => new MidairError('INVALID_ARGUMENT', `invalid mapping: ${what}`);
  if (keyFields.length === 0)
    throw invalid('`key` names no field; give the key field name, or an array for a composite key');
  const specTables: readonly TableColumns[] = 'columns' in spec ? tablesOf(spec, keyFields, invalid) : spec.tables;
  const listed: unknown = specTables; // a JS caller may pass anything
  if (!Array.isArray(listed) || specTables.length === 0)
    throw invalid('`tables` is empty; list at least the primary table');

  const seen = new Map<string, string>();
  const tables = specTables.map((t, index): MappedTable => {
    if (!t.table) throw invalid(`table #${index + 1} has no name`);
    const fields = Object.entries(t.columns)
      .filter((e): e is [string, ColumnSpec] => e[1] !== undefined)
      .map(([field, c]) => ({ field, column: c.column, codec: c.codec, isKey: keyFields.includes(field) }));
    for (const k of keyFields) {
      if (!fields.some((f) => f.field === k)) {
        throw invalid(`table ${t.table} does not map key field "${k}"; every table of an entity holds the key`);
      }
    }
    const columns = new Set<string>();
    for (const f of fields) {
      if (columns.has(f.column)) throw invalid(`table ${t.table} maps column ${f.column} twice`);
      columns.add(f.column);
      if (f.isKey) continue;
      const other = seen.get(f.field);
      if (other) throw invalid(`field "${f.field}" is mapped in both ${other} and ${t.table}; map it in one table`);
      seen.set(f.field, t.table);
    }
    // Key columns in the order of the key fields, so composite keys line up across tables.
    const keyColumns = keyFields.map((k) => fields.find((f) => f.field === k) as MappedField);
    return Object.freeze({
      table: t.table,
      schema: t.schema,
      fields,
      keyColumns,
      valueColumns: fields.filter((f) => !f.isKey),
    });
  }) as unknown as [MappedTable, ...MappedTable[]];

  const primary = tables[0];
  if (spec.version !== undefined) {
    if (keyFields.includes(spec.version)) throw invalid('the version field cannot be a key field');
    if (!primary.fields.some((f) => f.field === spec.version)) {
      throw invalid(`version field "${spec.version}" must be mapped in the primary table ${primary.table}`);
    }
  }

  const selectFields = tables.flatMap((t, tableIndex) =>
    (tableIndex === 0 ? t.fields : t.valueColumns).map((f) => ({ ...f, tableIndex })),
  );
  return Object.freeze({
    spec,
    keyFields,
    versionField: spec.version,
    tables,
    tombstone: { table: spec.tombstoneTable ?? `${primary.table}_midair_tombstones`, schema: primary.schema },
    selectFields,
  });
}

/** A key field the two mappings encode differently: its name, each side's codec, and why they differ. */
export interface KeyCodecMismatch {
  readonly field: string;
  readonly old: string;
  readonly new: string;
  readonly why: string;
}

/** A codec as messages name it: its type and, where it tells one form from another, its canonical form. */
export function describeCodec(codec: Pick<MappedField['codec'], 'type' | 'hashAs'>): string {
  return codec.hashAs === undefined || codec.hashAs === codec.type ? codec.type : `${codec.type} (${codec.hashAs})`;
}

/**
 * Whether two mappings spell every key the same way: the same key field
 * names in the same order, each through a codec of the same type and
 * canonical form. A key old and new spell differently (`text` against the
 * lower-casing `uuid`) is a different key in each store: copying it leaves
 * new with rows old seems to lack.
 */
export function compareKeyCodecs(
  oldMapping: Pick<SqlMapping<never>, 'keyFields' | 'tables'>,
  newMapping: Pick<SqlMapping<never>, 'keyFields' | 'tables'>,
): KeyCodecMismatch[] {
  const names = (m: typeof oldMapping): string => `(${m.keyFields.join(', ')})`;
  if (
    oldMapping.keyFields.length !== newMapping.keyFields.length ||
    oldMapping.keyFields.some((f, i) => newMapping.keyFields[i] !== f)
  ) {
    return [
      {
        field: oldMapping.keyFields.join(', '),
        old: names(oldMapping),
        new: names(newMapping),
        why: `the key fields differ: old ${names(oldMapping)}, new ${names(newMapping)}`,
      },
    ];
  }
  const codecOf = (m: typeof oldMapping, field: string): MappedField['codec'] =>
    (m.tables[0].keyColumns.find((f) => f.field === field) as MappedField).codec;
  const out: KeyCodecMismatch[] = [];
  for (const field of oldMapping.keyFields) {
    const a = codecOf(oldMapping, field);
    const b = codecOf(newMapping, field);
    if (a.type !== b.type || a.hashAs !== b.hashAs) {
      out.push({
        field,
        old: describeCodec(a),
        new: describeCodec(b),
        why: `key field "${field}" is mapped as ${describeCodec(a)} in old and ${describeCodec(b)} in new`,
      });
    }
  }
  return out;
}

/** A key read through the mapping's key codecs on `dialect` — encoded as it would be written, then decoded as it would be read back. */
export function roundTripKey(
  key: unknown,
  mapping: Pick<SqlMapping<never>, 'keyFields' | 'tables'>,
  dialect: DialectName,
): unknown {
  const fields = mapping.tables[0].keyColumns;
  const one = (f: MappedField, v: unknown): unknown =>
    (f.codec as Codec<unknown>).decode(f.codec.encode(v as never, dialect), dialect);
  if (fields.length === 1) return one(fields[0] as MappedField, key);
  if (!Array.isArray(key))
    throw new MidairError('INVALID_ARGUMENT', `a composite key of (${mapping.keyFields.join(', ')}) must be a tuple`);
  return fields.map((f, i) => one(f, key[i] as unknown));
}
