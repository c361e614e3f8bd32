import type { Key, KeyPart } from '../core/keys.js';
import { wrapsWrites, type DialectName } from '../mapping/codecs.js';
import type { MappedField } from '../mapping/mapping.js';
import type { SqlCompiler } from './sql-compiler.js';

/**
 * Collects bound parameters for one statement and hands back their
 * placeholders, wrapped by the field's codec where it asks (`FROM_UNIXTIME(?)`).
 * Values always travel as parameters: no SQL is ever built from data.
 */
export class Params {
  readonly values: unknown[] = [];
  readonly #dialect: SqlCompiler;

  constructor(dialect: SqlCompiler) {
    this.#dialect = dialect;
  }

  get dialect(): SqlCompiler {
    return this.#dialect;
  }

  /** A raw placeholder for an already-encoded value. */
  add(value: unknown): string {
    this.values.push(value);
    return this.#dialect.placeholder(this.values.length);
  }

  /** An already-encoded value of the field (NULL for null) and its placeholder, wrapped as the codec writes it. */
  encoded(field: MappedField, cell: unknown): string {
    if (cell === null || cell === undefined) return this.add(null);
    const ph = this.add(cell);
    return field.codec.writeExpr?.(ph, this.#dialect.name) ?? ph;
  }

  /** Encodes `value` with the field's codec (NULL for null/undefined) and returns its placeholder. */
  field(field: MappedField, value: unknown): string {
    if (value === null || value === undefined) return this.add(null);
    const name: DialectName = this.#dialect.name;
    const ph = this.add(field.codec.encode(value as never, name));
    return field.codec.writeExpr?.(ph, name) ?? ph;
  }
}

/** The key's parts as an array, whatever its arity. */
export function keyParts(key: Key, arity: number): readonly KeyPart[] {
  return arity === 1 ? [key as KeyPart] : (key as readonly KeyPart[]);
}

/** `a = ? AND b = ?` for one key. */
export function keyEquals(
  columns: readonly string[],
  fields: readonly MappedField[],
  key: Key,
  params: Params,
): string {
  const parts = keyParts(key, fields.length);
  return columns.map((c, i) => `${c} = ${params.field(fields[i] as MappedField, parts[i])}`).join(' AND ');
}

/** `a IN (?, ?)` or `(a, b) IN ((?, ?), (?, ?))` for several keys. */
export function keyIn(
  columns: readonly string[],
  fields: readonly MappedField[],
  keys: readonly Key[],
  params: Params,
): string {
  if (columns.length === 1) {
    const field = fields[0] as MappedField;
    const d = params.dialect;
    if (d.arrayParams && !wrapsWrites(field.codec, d.name)) {
      // One array parameter instead of thousands: far less to parse and plan.
      return `${columns[0]} = ANY(${params.add(keys.map((k) => field.codec.encode(k as never, d.name)))})`;
    }
    return `${columns[0]} IN (${keys.map((k) => params.field(field, k)).join(', ')})`;
  }
  const tuples = keys.map((k) => {
    const parts = keyParts(k, fields.length);
    return `(${fields.map((f, i) => params.field(f, parts[i])).join(', ')})`;
  });
  return `(${columns.join(', ')}) IN (${tuples.join(', ')})`;
}

/** The SELECT expression for a column, wrapped by its codec where it asks. */
export function readExpr(dialect: SqlCompiler, field: MappedField, qualifiedColumn: string): string {
  return field.codec.readExpr?.(qualifiedColumn, dialect.name) ?? qualifiedColumn;
}

/** One statement and its bound parameters. */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}
