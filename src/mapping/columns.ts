import { MidairError } from '../core/errors.js';
import { codecs, type Codec, type CustomCodecSpec, type TimestampOptions } from './codecs.js';

/**
 * One entity field stored in one column. `T` is what the codec takes: a
 * mapping accepts it for a field whose values are all of that type, so
 * `col.integer` on a string field does not compile. (`ColumnSpec<never>`:
 * any column.)
 */
export interface ColumnSpec<T = never> {
  readonly column: string;
  readonly codec: Codec<never>;
  /** The table holding it, in a mapping's `columns` form; default: the primary table. */
  readonly table?: string;
  /** The same column, held by another table of the entity (a mapping's `columns` form). */
  in(table: string): ColumnSpec<T>;
  /** Type only, never set: the values the codec takes. */
  readonly takes?: (value: T) => void;
}

function spec<T>(column: string, codec: Codec<never>, table?: string): ColumnSpec<T> {
  if (typeof column !== 'string' || column.length === 0) {
    throw new MidairError('INVALID_ARGUMENT', 'a column mapping needs a non-empty column name');
  }
  if (table !== undefined && (typeof table !== 'string' || table.length === 0)) {
    throw new MidairError('INVALID_ARGUMENT', `column ${column}: .in() needs a non-empty table name`);
  }
  return Object.freeze({
    column,
    codec,
    ...(table === undefined ? {} : { table }),
    in: (other: string) => spec<T>(column, codec, other),
  });
}

function timestamptz(column: string, options: TimestampOptions & { readonly as: 'string' }): ColumnSpec<string>;
function timestamptz(column: string, options?: TimestampOptions & { readonly as?: 'date' }): ColumnSpec<Date>;
function timestamptz(column: string, options?: TimestampOptions): ColumnSpec<Date> | ColumnSpec<string> {
  return spec<Date | string>(column, codecs.timestamptz(options) as Codec<never>);
}

/**
 * Column factories for mappings: `col.bigint('id')` maps a field to column
 * `id` through the bigint codec.
 *
 * @example
 * ```ts
 * columns: { id: col.bigint('id'), createdAt: col.timestamptz('created_at', { as: 'string' }) }
 * ```
 */
export const col = Object.freeze({
  integer: (column: string) => spec<number>(column, codecs.integer as Codec<never>),
  bigint: (column: string) => spec<bigint>(column, codecs.bigint as Codec<never>),
  /** Exact decimals, as their text (`'12.50'`). */
  numeric: (column: string) => spec<string>(column, codecs.numeric as Codec<never>),
  text: (column: string) => spec<string>(column, codecs.text as Codec<never>),
  boolean: (column: string) => spec<boolean>(column, codecs.boolean as Codec<never>),
  /** A `Date`, or with `{ as: 'string' }` canonical ISO text with microseconds. */
  timestamptz,
  /** A timestamp without time zone, as its ISO text. */
  timestamp: (column: string) => spec<string>(column, codecs.timestamp as Codec<never>),
  /** A calendar date, as `YYYY-MM-DD`. */
  date: (column: string) => spec<string>(column, codecs.date as Codec<never>),
  json: (column: string) => spec<unknown>(column, codecs.json as Codec<never>),
  bytes: (column: string) => spec<Uint8Array>(column, codecs.bytes as Codec<never>),
  uuid: (column: string) => spec<string>(column, codecs.uuid as Codec<never>),
  custom: <T>(column: string, codec: Codec<T> | CustomCodecSpec<T>) =>
    spec<T>(
      column,
      ('accepts' in codec && typeof codec.accepts === 'function'
        ? codec
        : codecs.custom(codec as CustomCodecSpec<T>)) as Codec<never>,
    ),
});

/** A table of the entity and the columns it holds, as the `tables` form of a mapping lists them. */
export interface TableColumns {
  readonly table: string;
  readonly schema?: string | undefined;
  readonly columns: { readonly [field: string]: ColumnSpec | undefined };
}

/** The `columns` form of a mapping, as {@link tablesOf} reads it. */
export interface FieldColumns {
  readonly table: string;
  readonly schema?: string;
  readonly columns: { readonly [field: string]: ColumnSpec };
  readonly joined?: {
    readonly [table: string]: {
      readonly key?: string | { readonly [field: string]: string | undefined };
      readonly schema?: string;
    };
  };
}

/**
 * The `columns` form as tables: the primary table first, then each other
 * table in the order its first field appears, each holding the key (under
 * the columns `joined` names, by default the primary table's).
 */
export function tablesOf(
  spec: FieldColumns,
  keyFields: readonly string[],
  invalid: (what: string) => MidairError,
): TableColumns[] {
  if (!spec.table) throw invalid('`table` names no primary table');
  const primary: Record<string, ColumnSpec> = {};
  const others = new Map<string, Record<string, ColumnSpec>>();
  for (const [field, c] of Object.entries(spec.columns)) {
    if (c.table === undefined || c.table === spec.table) primary[field] = c;
    else {
      if (keyFields.includes(field))
        throw invalid(`key field "${field}" is placed .in('${c.table}'); key fields are in the primary table`);
      const columns = others.get(c.table) ?? {};
      columns[field] = c;
      others.set(c.table, columns);
    }
  }
  for (const table of Object.keys(spec.joined ?? {}))
    if (!others.has(table)) throw invalid(`joined names table ${table}, but no field is placed .in('${table}')`);
  const tables: TableColumns[] = [{ table: spec.table, schema: spec.schema, columns: primary }];
  for (const [table, columns] of others) {
    const join = spec.joined?.[table];
    const keyColumns: Record<string, ColumnSpec> = {};
    for (const k of keyFields) {
      const main = primary[k];
      if (!main) continue; // reported by the table checks: every table maps the key
      const named = typeof join?.key === 'string' ? (keyFields.length === 1 ? join.key : undefined) : join?.key?.[k];
      if (typeof join?.key === 'string' && keyFields.length > 1)
        throw invalid(
          `joined.${table}.key is one column, but the key has ${keyFields.length} fields; name one per field`,
        );
      keyColumns[k] = named === undefined ? main : { ...main, column: named };
    }
    tables.push({ table, schema: join?.schema ?? spec.schema, columns: { ...keyColumns, ...columns } });
  }
  return tables;
}
