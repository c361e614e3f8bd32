import type { DialectName } from '../mapping/codecs.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { CheckProblem } from '../store.js';
import type { TableInfo } from './sql-dialect.js';

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
  mapping.tables.forEach((table, index) => {
    const info = tables[index];
    const where = table.schema ? `${table.schema}.${table.table}` : table.table;
    if (!info) {
      problems.push({
        code: 'MISSING_TABLE',
        severity: 'error',
        table: table.table,
        message: `table ${where} does not exist; create it, or fix the table name in the mapping`,
      });
      return;
    }
    for (const f of table.fields) {
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
        continue;
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
      } else if ((f.codec.type === 'timestamptz' || f.codec.type === 'timestamp') && column.fractionalDigits !== undefined && column.fractionalDigits < 6) {
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
          problems.push({ code: 'PRECISION_LOSS', severity: 'warning', table: table.table, column: f.column, field: f.field, message: `column ${where}.${f.column} (field "${f.field}"): ${loss}` });
        }
      }
    }
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
  });

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
