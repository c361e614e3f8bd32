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

export interface CheckReport {
  readonly store: string;
  /** True when there is no `error`-severity problem. */
  readonly ok: boolean;
  readonly problems: readonly CheckProblem[];
  /** Unique constraints over entity fields, where the store reads them (to compare both sides of a migration). */
  readonly uniques?: readonly UniqueFields[];
}
