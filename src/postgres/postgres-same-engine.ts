import { MidairError, throwIfAborted } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import { chunked } from '../core/collections.js';
import { wrapsReads, wrapsWrites } from '../mapping/codecs.js';
import type { MappedField, SqlMapping } from '../mapping/mapping.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import type { Prepared } from '../sql/sql-row-codec.js';
import type { CopyFetch, CopySide, SameEngineCopy } from '../sql/sql-same-engine.js';
import { keyIn } from '../sql/sql-statements.js';
import { binaryTuples } from './postgres-copy.js';

/** Codecs whose column types must be equal for a same-engine copy as text (their input rounds where the codec floors). */
const ROUNDING_CODECS: ReadonlySet<string> = new Set(['timestamptz', 'timestamp']);

/** Key column types a binary same-engine copy can write into its COPY statement. */
const INTEGER_KEY_TYPES: ReadonlySet<string> = new Set(['smallint', 'integer', 'bigint']);

/**
 * The fields of a same-engine copy as the database prints them: where two
 * stores share it, one can take the other's rows as they are, with no
 * decoding and encoding in between. Only one table, and built-in codecs
 * (each prints a value its own type reads back unchanged).
 */
function rowFormat(mapping: SqlMapping<object>): string | undefined {
  if (mapping.tables.length !== 1) return undefined;
  const fields = mapping.tables[0].fields;
  if (
    fields.some(
      (f) => f.codec.type.startsWith('custom:') || wrapsReads(f.codec, 'postgres') || wrapsWrites(f.codec, 'postgres'),
    )
  )
    return undefined;
  return fields
    .map((f) => `${f.field}:${f.codec.type}`)
    .sort()
    .join(',');
}

/**
 * What a same-engine copy must agree on, read from the catalog on every
 * call (so a changed column is never written with the old type's bytes):
 * `text` — the fields, their codecs, and the column types of those whose
 * input rounds (timestamps: text a finer column printed would be rounded,
 * where the codec floors); `binary` — every column type, with one integer
 * key column (the binary rows are read with the keys written into the
 * statement) and COPY on both ends.
 */
async function copyShape(side: CopySide<Key>): Promise<{ readonly text?: string; readonly binary?: string }> {
  if (rowFormat(side.mapping) === undefined) return {};
  const info = await side.introspectPrimary().catch(() => undefined);
  const typeOf = (f: MappedField): string | undefined => info?.columns.get(f.column)?.type;
  const { fields, keyColumns } = side.sql.primary;
  if (!info || fields.some((f) => typeOf(f) === undefined)) return {};
  const text = fields
    .map((f) => `${f.field}:${f.codec.type}${ROUNDING_CODECS.has(f.codec.type) ? `=${typeOf(f) ?? ''}` : ''}`)
    .sort()
    .join(',');
  const keyType = typeOf(keyColumns[0] as MappedField);
  const canBinary = keyColumns.length === 1 && keyType !== undefined && INTEGER_KEY_TYPES.has(keyType);
  if (!canBinary) return { text };
  return {
    text,
    binary: `${keyType};${fields
      .map((f) => `${f.field}:${typeOf(f) ?? ''}`)
      .sort()
      .join(',')}`,
  };
}

/** A key as the integer literal a COPY statement is written with (COPY takes no parameters): checked, never quoted text. */
function integerLiteral(side: CopySide<Key>, key: Key): string {
  const id = String(key);
  if (!/^-?\d{1,19}$/.test(id))
    throw new MidairError('INVALID_ARGUMENT', `syncManyFrom on ${side.name}: a key is not an integer`);
  return id;
}

/** What a binary read of a side's rows selects: its columns in the order of `fields`, the key column, and where the key sits. */
function tupleSelect(side: CopySide<Key>, fields: readonly string[]): { columns: string; key: string; keyAt: number } {
  const { sql } = side;
  const byField = new Map(sql.primary.fields.map((f) => [f.field, f]));
  const keyField = sql.primary.keyColumns[0] as MappedField;
  return {
    columns: fields.map((name) => `t0.${sql.compiler.quoteId((byField.get(name) as MappedField).column)}`).join(', '),
    key: `t0.${sql.compiler.quoteId(keyField.column)}`,
    keyAt: fields.indexOf(keyField.field),
  };
}

/** One binary COPY out of a side: its tuples by key, in the order read; `undefined` where the driver cannot COPY. */
async function copyTuples<K extends Key>(
  side: CopySide<K>,
  text: string,
  keyAt: number,
  conn?: SqlConnection,
): Promise<{ key: K; tuple: Buffer }[] | undefined> {
  const data = await (conn ?? side.runner.driver).copyOut?.(text);
  if (!data) return undefined;
  const keyField = side.sql.primary.keyColumns[0] as MappedField;
  return binaryTuples(data, keyAt).map(({ key, tuple }) => ({
    key: keyField.codec.decode(key, 'postgres'),
    tuple,
  }));
}

/** The rows of `keys` as binary COPY tuples, their fields in the order of `fields`, by key id; `undefined` where the driver cannot COPY. */
async function readTuples<K extends Key>(
  side: CopySide<K>,
  keys: readonly K[],
  fields: readonly string[],
  options?: CallOptions,
  conn?: SqlConnection,
): Promise<Map<string, Buffer> | undefined> {
  const { sql } = side;
  const { columns, key, keyAt } = tupleSelect(side, fields);
  const found = new Map<string, Buffer>();
  for (const batch of chunked(keys, sql.batchRows(1))) {
    throwIfAborted(options?.signal, 'syncManyFrom');
    const ids = batch.map((k) => integerLiteral(side, k));
    const text = `COPY (SELECT ${columns} FROM ${sql.table0} t0 WHERE ${key} = ANY('{${ids.join(',')}}'::bigint[])) TO STDOUT (FORMAT binary)`;
    const tuples = await copyTuples(side, text, keyAt, conn);
    if (!tuples) return undefined;
    for (const t of tuples) found.set(keyId(t.key), t.tuple);
  }
  return found;
}

/**
 * The next `size` rows of a side after `after` (up to `through`), in key
 * order, as binary COPY tuples, in one statement: a range walk, where a read
 * by key would look up each key again.
 */
async function readRangeTuples<K extends Key>(
  side: CopySide<K>,
  fields: readonly string[],
  range: { readonly after?: K | undefined; readonly through?: K | undefined; readonly size: number },
): Promise<{ key: K; tuple: Buffer }[] | undefined> {
  const { columns, key, keyAt } = tupleSelect(side, fields);
  const where = [
    ...(range.after === undefined ? [] : [`${key} > ${integerLiteral(side, range.after)}`]),
    ...(range.through === undefined ? [] : [`${key} <= ${integerLiteral(side, range.through)}`]),
  ];
  const text = `COPY (SELECT ${columns} FROM ${side.sql.table0} t0${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${key} LIMIT ${Math.max(1, Math.floor(range.size))}) TO STDOUT (FORMAT binary)`;
  return copyTuples(side, text, keyAt);
}

/** The rows of `keys` as the database prints them, their cells in the order of `fields`, by key id. */
async function readCells<K extends Key>(
  side: CopySide<K>,
  keys: readonly K[],
  fields: readonly string[],
  options?: CallOptions,
  conn?: SqlConnection,
): Promise<Map<string, unknown[]>> {
  const { sql } = side;
  const byField = new Map(sql.primary.fields.map((f) => [f.field, f]));
  const columns = fields.map((name) => `t0.${sql.compiler.quoteId((byField.get(name) as MappedField).column)}`);
  const keyAt = sql.primary.keyColumns.map((k) => fields.indexOf(k.field));
  const found = new Map<string, unknown[]>();
  for (const batch of chunked(keys, sql.batchRows(1))) {
    throwIfAborted(options?.signal, 'syncManyFrom');
    const params = sql.params();
    const where = keyIn(sql.keyCols0, sql.primary.keyColumns, batch, params);
    const text = `SELECT ${columns.join(', ')} FROM ${sql.table0} t0 WHERE ${where}`;
    const { rows } = conn
      ? await conn.query(text, params.values)
      : await side.runner.query('syncManyFrom', text, params.values);
    for (const row of rows) found.set(keyId(side.codec.decodeKey(keyAt.map((i) => row[i]))), row as unknown[]);
  }
  return found;
}

/** Rows read as the database prints them, as prepared writes for the batch's keys (`undefined`: the source has none). */
function asPrepared<K extends Key>(
  batch: readonly K[],
  found: ReadonlyMap<string, unknown[]>,
): (Prepared<K> | undefined)[] {
  return batch.map((key) => {
    const cells = found.get(keyId(key));
    return cells === undefined ? undefined : { key, id: keyId(key), version: undefined, cells: [cells] };
  });
}

/** Whether two sides draw on one pool: old is then read on the batch's own connection, so a batch never waits for a second one. */
function sharePool(target: CopySide<Key>, source: CopySide<Key>): boolean {
  const [to, from] = [target.runner.driver, source.runner.driver];
  return to === from || (to.pool !== undefined && to.pool === from.pool);
}

/** PostgreSQL's same-engine copy: rows cross as text cells, or as binary COPY tuples where the column types agree too. */
export const postgresSameEngineCopy: SameEngineCopy = {
  rowFormat,
  async plan<K extends Key>(
    target: CopySide<K>,
    source: CopySide<K>,
    options?: CallOptions,
  ): Promise<CopyFetch<K> | undefined> {
    const [mine, theirs] = await Promise.all([copyShape(target), copyShape(source)]);
    if (mine.text === undefined || mine.text !== theirs.text) return undefined;
    // The same column types too: rows cross as binary COPY tuples, parsed by neither side.
    const binary = mine.binary !== undefined && mine.binary === theirs.binary;
    // One pool for both: old is read on the batch's own connection, so a batch never waits for a second one.
    const shared = sharePool(target, source);
    const fields = target.sql.primary.fields.map((f) => f.field);
    return async (batch, conn) => {
      const via = shared ? conn : undefined;
      const found = binary ? await readTuples(source, batch, fields, options, via) : undefined;
      if (!found) return asPrepared(batch, await readCells(source, batch, fields, options, via)); // as text (also where COPY is not installed)
      return asTuples(batch, (id) => found.get(id));
    };
  },

  async planRange<K extends Key>(
    target: CopySide<K>,
    source: CopySide<K>,
    range: { readonly after?: K | undefined; readonly through?: K | undefined; readonly size: number },
    options?: CallOptions,
  ): Promise<{ readonly keys: readonly K[]; readonly fetch: CopyFetch<K> } | undefined> {
    const [mine, theirs] = await Promise.all([copyShape(target), copyShape(source)]);
    // Only rows that cross as binary tuples, keyed by one integer column, are read by range.
    if (mine.binary === undefined || mine.binary !== theirs.binary) return undefined;
    const fields = target.sql.primary.fields.map((f) => f.field);
    const read = await readRangeTuples(source, fields, range);
    if (!read) return undefined;
    const early = new Map(read.map((t) => [keyId(t.key), t.tuple]));
    const shared = sharePool(target, source);
    return {
      keys: read.map((t) => t.key),
      // A key new holds no row and no tombstone of, under its lock, takes the row read before the lock (decision 0017);
      // any other key is read again, under the lock.
      fetch: async (batch, conn, held) => {
        const via = shared ? conn : undefined;
        const again = held ? batch.filter((k) => held.has(keyId(k))) : batch;
        const found =
          again.length > 0 ? await readTuples(source, again, fields, options, via) : new Map<string, Buffer>();
        if (!found) return asPrepared(batch, await readCells(source, batch, fields, options, via));
        return asTuples(batch, (id) => (held && !held.has(id) ? early.get(id) : found.get(id)));
      },
    };
  },
};

/** Tuples read for a batch's keys, as prepared writes (`undefined`: the source has none). */
function asTuples<K extends Key>(
  batch: readonly K[],
  tupleOf: (id: string) => Buffer | undefined,
): (Prepared<K> | undefined)[] {
  return batch.map((key) => {
    const tuple = tupleOf(keyId(key));
    return tuple === undefined ? undefined : { key, id: keyId(key), version: undefined, cells: [], tuple };
  });
}
