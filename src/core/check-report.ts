/** What a store's check() found: the findings and the unique constraints it read. */

export const CHECK_PROBLEM_CODES = [
  'MISSING_TABLE',
  'MISSING_COLUMN',
  'TYPE_MISMATCH',
  'MISSING_PRIMARY_KEY',
  'KEY_MISMATCH',
  'MISSING_VERSION',
  'MISSING_TOMBSTONE_TABLE',
  'PRECISION_LOSS',
  'CHARSET',
  'UNIQUE_MISMATCH',
  'FOREIGN_KEY',
  /** The store's persistence can lose acknowledged writes in a crash (Redis without `appendfsync always`). */
  'DURABILITY',
  /** Entities the store holds that its key index does not list (Redis: written without midair, before `setup()`). */
  'UNINDEXED',
] as const;
export type CheckProblemCode = (typeof CHECK_PROBLEM_CODES)[number];

/** One finding of {@link Store.check}, in plain words. */
export interface CheckProblem {
  readonly code: CheckProblemCode;
  /** `error` stops a migration; `warning` works with a stated limitation. */
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly table?: string;
  readonly column?: string;
  readonly field?: string;
}

/** A unique index or constraint over entity fields (the primary key's included), as a store's check() found it. */
export interface UniqueFields {
  readonly table: string;
  readonly constraint: string;
  /** The entity fields it covers, in index order. */
  readonly fields: readonly string[];
  /** Those of them it compares without regard to case (a `_ci` collation, NOCASE). */
  readonly caseInsensitive: readonly string[];
}

/** A foreign key in another table that references one of the mapped tables, as a store's check() found it. */
export interface ForeignKeyRef {
  /** The referencing table (schema-qualified where it is in another schema). */
  readonly table: string;
  readonly constraint: string;
  /** Its columns, in constraint order. */
  readonly columns: readonly string[];
  /** The mapped table it references. */
  readonly references: string;
}

export interface CheckReport {
  readonly store: string;
  /** True when there is no `error`-severity problem. */
  readonly ok: boolean;
  readonly problems: readonly CheckProblem[];
  /** Unique constraints over entity fields, where the store reads them (to compare both sides of a migration). */
  readonly uniques?: readonly UniqueFields[];
  /** Foreign keys of other tables that reference the mapped tables, where the store reads them. */
  readonly referencedBy?: readonly ForeignKeyRef[];
}
