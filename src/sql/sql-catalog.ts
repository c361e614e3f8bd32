import type { ColumnFamily } from '../mapping/codecs.js';

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

/** A catalog cell as text (drivers may hand back strings, numbers, bigints or buffers); NULL stays null. */
export function cellText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return value.toString();
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return JSON.stringify(value);
}
