import type { DialectName } from '../mapping/codecs.js';
import type { MappedField, MappedTable, SqlMapping } from '../mapping/mapping.js';
import type { CheckProblem, CheckReport, UniqueFields } from '../core/check-report.js';
import type { TableInfo } from './sql-catalog.js';

const FAMILY_WORDS: Record<string, string> = {
  int32: 'a 32-bit integer',
  int64: 'a 64-bit integer',
  numeric: 'an exact decimal',
  float: 'a floating-point number',
  text: 'text',
  boolean: 'a boolean',
  timestamptz: 'a timestamp with time zone',
  timestamp: 'a timestamp without time zone',
  date: 'a date',
  json: 'JSON',
  bytes: 'binary',
  uuid: 'a uuid',
  other: 'an unrecognised type',
};

/**
 * Compares a mapping with the live schema: every table, column, type, the
 * primary key, the version column and midair's tombstone and fence tables. Messages say
 * what is wrong and how to fix it, naming tables, columns and fields only.
 */
export function checkSchema<E>(
  mapping: SqlMapping<E>,
  dialect: DialectName,
  tables: readonly (TableInfo | undefined)[],
  tombstone: TableInfo | undefined,
  fence?: { readonly table: string; readonly info: TableInfo | undefined },
): CheckProblem[] {
  const problems: CheckProblem[] = [];
  mapping.tables.forEach((table, index) => problems.push(...tableProblems(table, tables[index], dialect)));

  if (mapping.versionField === undefined) {
    problems.push({
      code: 'MISSING_VERSION',
      severity: 'warning',
      message:
        'the mapping has no version field: conditional writes (backfill) are insert-only and never overwrite an existing row; ' +
        "verification's repair closes the gap. Add an integer or timestamp column bumped by every write and name it as `version` for newer-wins writes",
    });
  }
  const fenceMissing = fence !== undefined && fence.info === undefined;
  if (!tombstone) {
    const also = fenceMissing ? ` (nor its fence table ${fence.table}: fenced writes need it)` : '';
    problems.push({
      code: 'MISSING_TOMBSTONE_TABLE',
      severity: 'error',
      table: mapping.tombstone.table,
      message: `midair's tombstone table ${mapping.tombstone.table} does not exist${also}; run store.setup() to create it (deletes and conditional writes need it)`,
    });
  } else if (fenceMissing) {
    // No code of its own in the contract: reported beside the tombstone table, which setup() creates with it.
    problems.push({
      code: 'MISSING_TOMBSTONE_TABLE',
      severity: 'error',
      table: fence.table,
      message: `midair's fence table ${fence.table} does not exist; run store.setup() to create it (fenced writes and raiseFence need it)`,
    });
  }
  return problems;
}

/** What is wrong with one mapped table: missing, its columns, its primary key. */
function tableProblems(table: MappedTable, info: TableInfo | undefined, dialect: DialectName): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const where = table.schema ? `${table.schema}.${table.table}` : table.table;
  if (!info) {
    problems.push({
      code: 'MISSING_TABLE',
      severity: 'error',
      table: table.table,
      message: `table ${where} does not exist; create it, or fix the table name in the mapping`,
    });
    return problems;
  }
  for (const f of table.fields) fieldProblem(problems, table, where, f, info, dialect);
  const mappedColumns = new Set(table.fields.map((f) => f.column));
  for (const column of info.columns.values()) {
    if (!mappedColumns.has(column.name) && !column.nullable && !column.hasDefault) {
      problems.push({
        code: 'MISSING_COLUMN',
        severity: 'error',
        table: table.table,
        column: column.name,
        message: `column ${where}.${column.name} is NOT NULL without a default but no field maps to it, so inserts would fail; map a field to it or give it a default`,
      });
    }
  }
  const keyColumns = table.keyColumns.map((f) => f.column);
  if (info.primaryKey.length === 0) {
    problems.push({
      code: 'MISSING_PRIMARY_KEY',
      severity: 'error',
      table: table.table,
      message: `table ${where} has no primary key; midair needs one on (${keyColumns.join(', ')}) to find, lock and upsert entities`,
    });
  } else if (info.primaryKey.length !== keyColumns.length || !keyColumns.every((c) => info.primaryKey.includes(c))) {
    problems.push({
      code: 'KEY_MISMATCH',
      severity: 'error',
      table: table.table,
      message: `the primary key of ${where} is (${info.primaryKey.join(', ')}) but the mapping's key is (${keyColumns.join(', ')}); map the key fields to the primary key columns`,
    });
  }
  return problems;
}

/** What is wrong with the column of one mapped field, pushed onto `problems`. */
function fieldProblem(
  problems: CheckProblem[],
  table: MappedTable,
  where: string,
  f: MappedField,
  info: TableInfo,
  dialect: DialectName,
): void {
  const column = info.columns.get(f.column);
  if (!column) {
    problems.push({
      code: 'MISSING_COLUMN',
      severity: 'error',
      table: table.table,
      column: f.column,
      field: f.field,
      message: `column ${where}.${f.column} (field "${f.field}") does not exist; add the column, or map the field to an existing one`,
    });
    return;
  }
  const accepted = f.codec.accepts(dialect);
  if (!accepted.includes(column.family)) {
    problems.push({
      code: 'TYPE_MISMATCH',
      severity: 'error',
      table: table.table,
      column: f.column,
      field: f.field,
      message:
        `column ${where}.${f.column} is ${column.type} (${FAMILY_WORDS[column.family] ?? column.family}), ` +
        `which cannot hold field "${f.field}" mapped as ${f.codec.type}; ` +
        `change the column to hold ${accepted.map((a) => FAMILY_WORDS[a] ?? a).join(' or ')}, or map the field with a matching codec`,
    });
  } else if (
    (f.codec.type === 'text' || f.codec.type === 'json') &&
    column.family === 'text' &&
    column.charset !== undefined &&
    !/^utf8mb4/.test(column.charset)
  ) {
    problems.push({
      code: 'CHARSET',
      severity: 'error',
      table: table.table,
      column: f.column,
      field: f.field,
      message:
        `column ${where}.${f.column} (field "${f.field}") stores text as ${column.charset}, which refuses 4-byte characters (emoji, many CJK characters)` +
        `${column.charset.startsWith('utf8') ? '' : ' and most of Unicode'}; convert it to utf8mb4 (ALTER TABLE ${where} CONVERT TO CHARACTER SET utf8mb4)`,
    });
  } else if (
    (f.codec.type === 'timestamptz' || f.codec.type === 'timestamp') &&
    column.fractionalDigits !== undefined &&
    column.fractionalDigits < 6
  ) {
    problems.push({
      code: 'PRECISION_LOSS',
      severity: 'warning',
      table: table.table,
      column: f.column,
      field: f.field,
      message: `column ${where}.${f.column} keeps ${column.fractionalDigits} fractional second digit(s); values with microseconds will be truncated (use a precision of 6)`,
    });
  } else {
    const loss = f.codec.loses?.(column, dialect);
    if (loss) {
      problems.push({
        code: 'PRECISION_LOSS',
        severity: 'warning',
        table: table.table,
        column: f.column,
        field: f.field,
        message: `column ${where}.${f.column} (field "${f.field}"): ${loss}`,
      });
    }
  }
}

/** The unique constraints of a mapping's tables that cover only mapped columns, in entity fields (to compare two stores). */
export function uniqueFieldsOf<E>(mapping: SqlMapping<E>, tables: readonly (TableInfo | undefined)[]): UniqueFields[] {
  const out: UniqueFields[] = [];
  mapping.tables.forEach((table, index) => {
    const info = tables[index];
    if (!info?.uniques) return;
    const fieldOf = new Map(table.fields.map((f) => [f.column, f.field]));
    for (const u of info.uniques) {
      const fields = u.columns.map((c) => fieldOf.get(c));
      if (fields.some((f) => f === undefined)) continue;
      const ci = new Set(u.caseInsensitive ?? []);
      const caseInsensitive = u.columns
        .filter((c) => ci.has(c) || info.columns.get(c)?.caseInsensitive === true)
        .map((c) => fieldOf.get(c) as string);
      out.push({ table: table.table, constraint: u.name, fields: fields as string[], caseInsensitive });
    }
  });
  return out;
}

/**
 * What two stores' checks disagree on: a unique constraint one side
 * enforces and the other does not, or compares with case and the other
 * without (MariaDB's `_ci` unique index against PostgreSQL's case-sensitive
 * one: `A@x` and `a@x` are two rows in one, a duplicate in the other).
 * Warnings: the migration works, and writes may fail on one side only.
 */
export function compareUniques(old: CheckReport, newSide: CheckReport): CheckProblem[] {
  if (!old.uniques || !newSide.uniques) return [];
  const key = (u: UniqueFields): string => [...u.fields].sort().join(',');
  const describe = (u: UniqueFields): string => `${u.table}.${u.constraint} (${u.fields.join(', ')})`;
  const problems: CheckProblem[] = [];
  const sides = [
    ['old', old, 'new', newSide],
    ['new', newSide, 'old', old],
  ] as const;
  for (const [name, report, otherName, other] of sides) {
    for (const u of report.uniques ?? []) {
      const match = (other.uniques ?? []).find((o) => key(o) === key(u));
      if (!match) {
        problems.push({
          code: 'UNIQUE_MISMATCH',
          severity: 'warning',
          table: u.table,
          message: `${name} enforces unique ${describe(u)} and ${otherName} does not: a write ${otherName} accepts can fail in ${name} as a duplicate (and go to the repair queue or the dead letters); add the same unique constraint to ${otherName}, or drop it from ${name}`,
        });
        continue;
      }
      if (name === 'new') continue; // the case comparison is made once, from old's side
      for (const field of u.fields) {
        const here = u.caseInsensitive.includes(field);
        const there = match.caseInsensitive.includes(field);
        if (here === there) continue;
        problems.push({
          code: 'UNIQUE_MISMATCH',
          severity: 'warning',
          table: u.table,
          field,
          message:
            `unique ${describe(u)} compares field "${field}" ${here ? 'without' : 'with'} regard to case in old, and ${describe(match)} ${there ? 'without' : 'with'} in new: ` +
            `values differing only in case are two rows in the case-sensitive store and a duplicate in the other; use a case-sensitive collation on both (e.g. utf8mb4_bin) or a case-insensitive one on both`,
        });
      }
    }
  }
  return problems;
}
