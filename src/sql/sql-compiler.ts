import type { DialectName } from '../mapping/codecs.js';

/**
 * One engine's spelling of SQL: pure functions from names and placeholders
 * to statement text, and the facts about its language the statements depend
 * on. No I/O: every statement midair runs is built from these.
 */
export interface SqlCompiler {
  readonly name: DialectName;
  /** Bound parameters one statement may carry. */
  readonly maxParams: number;
  /** Appended to a SELECT that must lock the rows it reads. */
  readonly forUpdate: string;
  /** Appended to a SELECT that must hold the rows it reads against writers, not against other readers (a write's fence check). */
  readonly forShare: string;
  /**
   * A statement that makes a fence raise wait its turn behind the fenced
   * writes in flight while the writes that come after wait behind it, where
   * the row's exclusive lock alone would not (PostgreSQL grants new share
   * locks of a row past a waiting exclusive one); `undefined` where a row
   * lock queues fairly already.
   */
  readonly fenceRaiseLock?: (table: string) => string;
  /** A JS array binds as one array parameter (`col = ANY($1)`). */
  readonly arrayParams: boolean;
  /**
   * False where an upsert also swallows conflicts on other unique keys
   * (MySQL's ON DUPLICATE KEY UPDATE): the store then inserts absent rows and
   * updates present ones separately, so a duplicate secondary key still fails.
   */
  readonly upsertTargetsKeyOnly: boolean;
  /** `UPDATE … RETURNING …` hands back the rows it changed (PostgreSQL, SQLite; not MySQL/MariaDB). */
  readonly updateReturning: boolean;
  /** An expression that orders rows randomly (for sampling keys). */
  readonly randomOrder: string;
  quoteId(name: string): string;
  /** The placeholder for the 1-based parameter `index`. */
  placeholder(index: number): string;
  qualify(table: string, schema: string | undefined): string;
  /**
   * `(a, b) > (?, ?)` (or `<=`): rows after a key (or up to and including
   * it), in index order. `param(i)` binds key part `i` and returns a fresh
   * placeholder each call.
   */
  keyCompare(columns: readonly string[], op: '>' | '<=', param: (part: number) => string): string;
  /** `INSERT … ON CONFLICT … DO UPDATE` or its dialect's spelling. */
  upsert(
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    rows: readonly (readonly string[])[],
  ): string;
  /** `INSERT … <source> ON CONFLICT … DO UPDATE`: an upsert of one row a `SELECT … WHERE` yields, where `upsertTargetsKeyOnly`. */
  upsertFrom(table: string, columns: readonly string[], keyColumns: readonly string[], source: string): string;
  /** The column type for the tombstone table's deletion time, with its default. */
  deletedAtColumn(): string;
}

/** What an engine must spell itself; everything else defaults to standard SQL. */
export type CompilerSpec = Pick<SqlCompiler, 'name' | 'quoteId' | 'placeholder' | 'upsert' | 'deletedAtColumn'> &
  Partial<SqlCompiler>;

/** For an engine whose upsert swallows conflicts on other keys: it never upserts from a select (see `upsertTargetsKeyOnly`). */
function noUpsertFrom(): string {
  throw new Error('this engine does not upsert from a select; update and insert separately');
}

/** `(a, b) > (?, ?)`: a row-value comparison (one column: a plain one). */
export function rowValueCompare(columns: readonly string[], op: '>' | '<=', param: (part: number) => string): string {
  if (columns.length === 1) return `${columns[0]} ${op} ${param(0)}`;
  return `(${columns.join(', ')}) ${op} (${columns.map((_, i) => param(i)).join(', ')})`;
}

/** A compiler from an engine's spelling, with standard SQL for what it leaves out. */
export function sqlCompiler(spec: CompilerSpec): SqlCompiler {
  return Object.freeze({
    maxParams: 32_000,
    forUpdate: ' FOR UPDATE',
    forShare: ' FOR SHARE',
    arrayParams: false,
    upsertTargetsKeyOnly: true,
    updateReturning: false,
    randomOrder: 'random()',
    qualify: (table: string, schema: string | undefined) =>
      schema ? `${spec.quoteId(schema)}.${spec.quoteId(table)}` : spec.quoteId(table),
    keyCompare: rowValueCompare,
    upsertFrom: noUpsertFrom,
    ...spec,
  });
}

/** The rows of a `VALUES` list: `(?, ?), (?, ?)`. */
export function valuesList(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => `(${r.join(', ')})`).join(', ');
}

/** A standard SQL identifier: in double quotes, inner quotes doubled (PostgreSQL, SQLite). */
export function doubleQuoted(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `INSERT … ON CONFLICT (key) DO UPDATE SET c = excluded.c` (PostgreSQL, SQLite): the upsert both spell alike. */
export function onConflictUpsert(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  return onConflictUpsertFrom(table, columns, keyColumns, `VALUES ${valuesList(rows)}`);
}

/**
 * The same upsert of what `source` yields: `VALUES …`, or a `SELECT … WHERE …`
 * (SQLite needs the WHERE to read ON CONFLICT as the upsert's, not a join's).
 */
export function onConflictUpsertFrom(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  source: string,
): string {
  const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = excluded.${c}`);
  const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
  return `INSERT INTO ${table} (${columns.join(', ')}) ${source} ON CONFLICT (${keyColumns.join(', ')}) ${action}`;
}
