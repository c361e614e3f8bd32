import type { MidairErrorCode, MidairErrorDetails } from '../core/errors.js';
import type { ColumnFamily, DialectName } from '../mapping/codecs.js';
import type { HashKind } from '../verify/canonical.js';
import type { SqlConnection, TransactionOptions } from './sql-driver.js';

/** A live column, as introspection sees it. */
export interface ColumnInfo {
  readonly name: string;
  /** The full type as the database prints it, lower case (`varchar(64)`, `timestamp(6) with time zone`). */
  readonly type: string;
  readonly family: ColumnFamily;
  readonly nullable: boolean;
  readonly hasDefault: boolean;
  /** Fractional-second digits of a timestamp column, when known. */
  readonly fractionalDigits?: number | undefined;
  /** The character set of a text column, where the database has one per column (MySQL/MariaDB: `utf8mb4`, `utf8mb3`, `latin1` …). */
  readonly charset?: string | undefined;
  /** The collation of a text column, when known (`utf8mb4_general_ci`, `C`, `NOCASE` …). */
  readonly collation?: string | undefined;
  /** Whether the collation compares text without regard to case (`_ci`, SQLite NOCASE, a nondeterministic PostgreSQL collation). */
  readonly caseInsensitive?: boolean | undefined;
}

/** A unique index or constraint (the primary key included), its columns in order, and for each the collation it compares with. */
export interface UniqueInfo {
  readonly name: string;
  readonly columns: readonly string[];
  /** Columns the index compares without regard to case (where it says, e.g. SQLite's COLLATE NOCASE in the index). */
  readonly caseInsensitive?: readonly string[] | undefined;
}

export interface TableInfo {
  readonly columns: ReadonlyMap<string, ColumnInfo>;
  readonly primaryKey: readonly string[];
  /** Unique indexes and constraints, the primary key's included, where introspection reads them. */
  readonly uniques?: readonly UniqueInfo[] | undefined;
}

/** A driver failure, classified. */
export interface ClassifiedError {
  readonly code: MidairErrorCode;
  readonly details: MidairErrorDetails;
}

/**
 * Everything that differs between SQL databases, behind one small class.
 * Defaults follow standard SQL; each dialect overrides what it must.
 */
export abstract class SqlDialect {
  abstract readonly name: DialectName;
  /** Bound parameters one statement may carry. */
  readonly maxParams: number = 32_000;
  /** How midair's write transactions run. */
  readonly writeTransaction: TransactionOptions = {};
  /** Appended to a SELECT that must lock the rows it reads. */
  readonly forUpdate: string = ' FOR UPDATE';
  /** Appended to a SELECT that must hold the rows it reads against writers, not against other readers (a write's fence check). */
  readonly forShare: string = ' FOR SHARE';
  /** A JS array binds as one array parameter (`col = ANY($1)`). */
  readonly arrayParams: boolean = false;

  abstract quoteId(name: string): string;
  /** The placeholder for the 1-based parameter `index`. */
  abstract placeholder(index: number): string;

  qualify(table: string, schema: string | undefined): string {
    return schema ? `${this.quoteId(schema)}.${this.quoteId(table)}` : this.quoteId(table);
  }

  /**
   * False where an upsert also swallows conflicts on other unique keys
   * (MySQL's ON DUPLICATE KEY UPDATE): the store then inserts absent rows and
   * updates present ones separately, so a duplicate secondary key still fails.
   */
  readonly upsertTargetsKeyOnly: boolean = true;

  /**
   * `(a, b) > (?, ?)` (or `<=`): rows after a key (or up to and including
   * it), in index order. `param(i)` binds key part `i` and returns a fresh
   * placeholder each call.
   */
  keyCompare(columns: readonly string[], op: '>' | '<=', param: (part: number) => string): string {
    if (columns.length === 1) return `${columns[0]} ${op} ${param(0)}`;
    return `(${columns.join(', ')}) ${op} (${columns.map((_, i) => param(i)).join(', ')})`;
  }

  /** An expression that orders rows randomly (for sampling keys). */
  readonly randomOrder: string = 'random()';

  /** `INSERT … ON CONFLICT … DO UPDATE` or its dialect's spelling. */
  abstract upsert(table: string, columns: readonly string[], keyColumns: readonly string[], rows: readonly (readonly string[])[]): string;

  /**
   * A faster upsert of many rows, where the dialect has one (PostgreSQL: COPY
   * into a staging table, then one merge). `rows` hold encoded values (no
   * placeholders). Resolves false when it cannot run here (the caller then
   * uses plain multi-row upserts). `fresh`: the caller holds the keys' locks
   * and read that none of them exists, so the rows may go straight in.
   */
  bulkUpsert?(conn: SqlConnection, table: string, columns: readonly string[], keyColumns: readonly string[], rows: readonly (readonly unknown[])[], fresh?: boolean): Promise<boolean>;

  /**
   * {@link bulkUpsert} of rows as another table of the same column types
   * printed them with a binary COPY (PostgreSQL). Resolves false when it
   * cannot run here.
   */
  /** The tuples of a binary COPY, each with the text of its (integer) field `keyField`. */
  binaryTuples?(data: Buffer, keyField: number): readonly { readonly key: string; readonly tuple: Buffer }[];
  bulkUpsertBinary?(conn: SqlConnection, table: string, columns: readonly string[], keyColumns: readonly string[], tuples: readonly Buffer[], fresh: boolean): Promise<boolean>;

  /** Serialises writers of the same keys for the rest of the transaction (beyond what row locks give). */
  abstract lockKeys(conn: SqlConnection, namespace: string, keyIds: readonly string[]): Promise<void>;

  /** The column type for the tombstone table's deletion time, with its default. */
  abstract deletedAtColumn(): string;

  abstract introspect(conn: SqlConnection, table: string, schema: string | undefined): Promise<TableInfo | undefined>;

  abstract classifyError(err: unknown): ClassifiedError;

  /**
   * SQL producing a column's canonical text (src/verify/canonical.ts: a type
   * tag, then the value), NULL for NULL; `undefined` where this dialect
   * cannot (verification then hashes that store's entities in JS).
   */
  canonicalExpr(_kind: HashKind, _column: string): string | undefined {
    return undefined;
  }

  /**
   * SQL hashing one row to an unsigned 60-bit integer: the MD5 of every part's
   * `name` (a placeholder for the framed field name), then its value framed
   * as `<bytes>:<text>` — nothing for a NULL value.
   */
  rowHash?(parts: readonly { readonly name: string; readonly value: string }[]): string;
}

/** Reads the driver error fields every dialect looks at. */
export function errorFields(err: unknown): { code?: string; errno?: number; message: string; constraint?: string; table?: string; column?: string } {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
  return {
    code: str(e.code) ?? (typeof e.code === 'number' ? String(e.code) : undefined),
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    message: typeof e.message === 'string' ? e.message : '',
    constraint: str(e.constraint),
    table: str(e.table),
    column: str(e.column),
  };
}

/**
 * The table a "no such table" message names — an identifier, never a value.
 * PostgreSQL: `relation "x" does not exist`; MySQL: `Table 'db.x' doesn't exist`; SQLite: `no such table: x`.
 */
export function missingTableName(message: string): string | undefined {
  const m = /relation "([^"]+)" does not exist|Table '([^']+)' doesn't exist|no such table: (\S+)/.exec(message);
  const name = m?.[1] ?? m?.[2] ?? m?.[3];
  return name?.split('.').pop();
}

/** Network-level failures that every driver reports through Node's socket errors. */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
]);

/** A catalog cell as text (drivers may hand back strings, numbers, bigints or buffers); NULL stays null. */
export function cellText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return JSON.stringify(value);
}
