import type { SqlDialect } from '../sql/sql-dialect.js';
import { columnTypes as types, type Types } from './sql-control-types.js';

/** The control tables, by their name after the prefix. */
export const CONTROL_TABLES = [
  'phase',
  'audit',
  'instances',
  'repairs',
  'parked',
  'checkpoints',
  'dead_letters',
  'ranges',
] as const;
export type ControlTable = (typeof CONTROL_TABLES)[number];

const COLUMNS = [
  'migration',
  'phase',
  'ramp_percent',
  'writes_paused',
  'strict',
  'version',
  'changed_at',
  'seq',
  'at',
  'actor',
  'action',
  'from_setting',
  'to_setting',
  'reason',
  'forced',
  'instance_id',
  'host',
  'phase_version',
  'in_flight_writes',
  'last_seen',
  'started_at',
  'direction',
  'key_id',
  'enqueued_at',
  'attempts',
  'name',
  'value',
  'updated_at',
  'range_id',
  'lo',
  'hi',
  'after_key',
  'owner',
  'token',
  'leased_until',
  'complete',
  'due_at',
  'epoch',
  'parked_at',
  'problem_code',
  'problem_store',
  'problem_constraint',
  'problem_message',
  'write_p99_ms',
  'write_count',
  'store_calls',
  'rows_done',
] as const;
export type ControlColumn = (typeof COLUMNS)[number];

/**
 * MySQL/MariaDB only: key columns must be VARCHAR to be indexed, and one
 * InnoDB key holds at most 3072 bytes (4 per utf8mb4 character). The repair
 * queue's key (migration, direction, key_id) uses 256 + 16 + 2800 bytes.
 * Values are counted in code points, as VARCHAR(n) counts them.
 */
export const MYSQL_KEY_LIMITS = { migration: 64, instanceId: 191, checkpointName: 191, keyId: 700 } as const;

/** A column added to an existing table: its table, name and definition as `ADD COLUMN` takes it. */
export interface AddedColumn {
  readonly table: ControlTable;
  readonly column: ControlColumn;
  readonly definition: string;
}

/**
 * The control tables' names, quoted columns and DDL for one dialect, and its
 * spelling of the two upserts the control store needs.
 */
export interface ControlSchema {
  /** Quoted, prefixed table names. */
  readonly t: Readonly<Record<ControlTable, string>>;
  /** Quoted column names. */
  readonly c: Readonly<Record<ControlColumn, string>>;
  /** `CREATE TABLE IF NOT EXISTS …` and its indexes, in order. */
  readonly ddl: readonly string[];
  /**
   * Columns newer than their table: part of its `CREATE TABLE`, and added by
   * `setup()` (`ALTER TABLE … ADD COLUMN`) to a table created before them.
   * Each has a default or allows NULL, so existing rows stay valid.
   */
  readonly added: readonly AddedColumn[];
  /** `INSERT INTO <table> (cols) VALUES <rows>` that does nothing where the key exists. */
  insertIfAbsent(
    table: ControlTable,
    columns: readonly ControlColumn[],
    keys: readonly ControlColumn[],
    rows: readonly string[],
  ): string;
  /**
   * `INSERT … ON CONFLICT (keys) DO UPDATE SET …` (MySQL: `ON DUPLICATE KEY UPDATE`).
   * `sets(current, incoming)` spells each assignment: `current(col)` is the
   * stored value, `incoming(col)` the value the insert carried.
   */
  upsert(
    table: ControlTable,
    columns: readonly ControlColumn[],
    keys: readonly ControlColumn[],
    rows: readonly string[],
    sets: (current: (col: ControlColumn) => string, incoming: (col: ControlColumn) => string) => readonly string[],
  ): string;
}

/** What the DDL and the statement builders share: quoted names, column types and the pieces of CREATE TABLE. */
interface SchemaParts {
  readonly t: Record<ControlTable, string>;
  readonly c: Record<ControlColumn, string>;
  readonly sqlTypes: Types;
  readonly mysql: boolean;
  readonly notNull: (col: ControlColumn, type: string) => string;
  readonly pk: (...cols: ControlColumn[]) => string;
  readonly auditIndex: { inline: string; statement: string };
  readonly repairsIndex: { inline: string; statement: string };
  readonly parkedIndex: { inline: string; statement: string };
  readonly repairClaimColumns: AddedColumn[];
  readonly servedColumns: AddedColumn[];
  readonly rangeColumns: AddedColumn[];
  readonly table: (name: ControlTable, parts: readonly string[], idx?: { inline: string }) => string;
}

function schemaParts(dialect: SqlDialect, prefix: string): SchemaParts {
  const q = (s: string): string => dialect.quoteId(s);
  const t = Object.fromEntries(CONTROL_TABLES.map((n) => [n, q(prefix + n)])) as Record<ControlTable, string>;
  const c = Object.fromEntries(COLUMNS.map((n) => [n, q(n)])) as Record<ControlColumn, string>;
  const sqlTypes = types(dialect);
  const mysql = dialect.name === 'mysql';
  const notNull = (col: ControlColumn, type: string): string => `${c[col]} ${type} NOT NULL`;
  const pk = (...cols: ControlColumn[]): string => `PRIMARY KEY (${cols.map((x) => c[x]).join(', ')})`;
  const index = (
    table: ControlTable,
    suffix: string,
    cols: readonly ControlColumn[],
  ): { inline: string; statement: string } => {
    const name = q(`${prefix}${table}_${suffix}`);
    const list = cols.map((x) => c[x]).join(', ');
    return {
      inline: `KEY ${name} (${list})`,
      statement: `CREATE INDEX IF NOT EXISTS ${name} ON ${t[table]} (${list})`,
    };
  };
  const auditIndex = index('audit', 'by_migration', ['migration', 'seq']);
  const repairsIndex = index('repairs', 'by_age', ['migration', 'direction', 'enqueued_at']);
  const parkedIndex = index('parked', 'by_age', ['migration', 'parked_at']);
  // Added after the first release: `setup()` adds them to a repairs table created without them (see `added`).
  const repairClaimColumns: AddedColumn[] = [
    { table: 'repairs', column: 'due_at', definition: `${c.due_at} ${sqlTypes.big} NOT NULL DEFAULT 0` },
    { table: 'repairs', column: 'owner', definition: `${c.owner} ${sqlTypes.text}` },
    { table: 'repairs', column: 'leased_until', definition: `${c.leased_until} ${sqlTypes.big} NOT NULL DEFAULT 0` },
    { table: 'repairs', column: 'epoch', definition: `${c.epoch} ${sqlTypes.big}` },
  ];
  // Added later still: what an instance's heartbeat reports of the writes it served (NULL: nothing to report).
  const servedColumns: AddedColumn[] = [
    { table: 'instances', column: 'write_p99_ms', definition: `${c.write_p99_ms} ${sqlTypes.real}` },
    { table: 'instances', column: 'write_count', definition: `${c.write_count} ${sqlTypes.big}` },
    // And then the capacity figures: the instance's calls on each store in its phase version, as JSON (NULL: none).
    { table: 'instances', column: 'store_calls', definition: `${c.store_calls} ${sqlTypes.text}` },
  ];
  // And the rows each leased range copied, counted with the renewal that holds its token (so once per row).
  const rangeColumns: AddedColumn[] = [
    { table: 'ranges', column: 'rows_done', definition: `${c.rows_done} ${sqlTypes.big} NOT NULL DEFAULT 0` },
  ];
  // MySQL has no CREATE INDEX IF NOT EXISTS (MariaDB has): declare its indexes inside CREATE TABLE.
  const table = (name: ControlTable, parts: readonly string[], idx?: { inline: string }): string =>
    `CREATE TABLE IF NOT EXISTS ${t[name]} (${[...parts, ...(mysql && idx ? [idx.inline] : [])].join(', ')})${sqlTypes.tableOptions}`;
  return {
    t,
    c,
    sqlTypes,
    mysql,
    notNull,
    pk,
    auditIndex,
    repairsIndex,
    parkedIndex,
    repairClaimColumns,
    servedColumns,
    rangeColumns,
    table,
  };
}

/** CREATE TABLE for the phase, its audit log and the fleet. */
function stateTables(p: SchemaParts): string[] {
  const { c, sqlTypes, notNull, pk, table, auditIndex, servedColumns } = p;
  const limits = MYSQL_KEY_LIMITS;
  return [
    table('phase', [
      notNull('migration', sqlTypes.key(limits.migration)),
      notNull('phase', sqlTypes.ascii(32)),
      notNull('ramp_percent', sqlTypes.real),
      notNull('writes_paused', sqlTypes.int),
      notNull('strict', sqlTypes.int),
      notNull('version', sqlTypes.big),
      notNull('changed_at', sqlTypes.big),
      pk('migration'),
    ]),
    table(
      'audit',
      [
        `${c.seq} ${sqlTypes.serial}`,
        notNull('migration', sqlTypes.key(limits.migration)),
        notNull('at', sqlTypes.big),
        notNull('actor', sqlTypes.text),
        notNull('action', sqlTypes.ascii(32)),
        `${c.from_setting} ${sqlTypes.text}`,
        notNull('to_setting', sqlTypes.text),
        notNull('version', sqlTypes.big),
        notNull('reason', sqlTypes.text),
        notNull('forced', sqlTypes.int),
      ],
      auditIndex,
    ),
    table('instances', [
      notNull('migration', sqlTypes.key(limits.migration)),
      notNull('instance_id', sqlTypes.key(limits.instanceId)),
      notNull('host', sqlTypes.text),
      notNull('phase_version', sqlTypes.big),
      notNull('in_flight_writes', sqlTypes.big),
      notNull('last_seen', sqlTypes.big),
      notNull('started_at', sqlTypes.big),
      ...servedColumns.map((x) => x.definition),
      pk('migration', 'instance_id'),
    ]),
  ];
}

/** CREATE TABLE for pending repairs, parked repairs and dead letters. */
function repairTables(p: SchemaParts): string[] {
  const { c, sqlTypes, notNull, pk, table, repairsIndex, parkedIndex, repairClaimColumns } = p;
  const limits = MYSQL_KEY_LIMITS;
  return [
    table(
      'repairs',
      [
        notNull('migration', sqlTypes.key(limits.migration)),
        notNull('direction', sqlTypes.ascii(16)),
        notNull('key_id', sqlTypes.key(limits.keyId)),
        notNull('seq', sqlTypes.big),
        notNull('reason', sqlTypes.text),
        notNull('enqueued_at', sqlTypes.big),
        notNull('attempts', sqlTypes.int),
        ...repairClaimColumns.map((x) => x.definition),
        pk('migration', 'direction', 'key_id'),
      ],
      repairsIndex,
    ),
    table(
      'parked',
      [
        notNull('migration', sqlTypes.key(limits.migration)),
        notNull('direction', sqlTypes.ascii(16)),
        notNull('key_id', sqlTypes.key(limits.keyId)),
        notNull('reason', sqlTypes.text),
        notNull('attempts', sqlTypes.int),
        notNull('parked_at', sqlTypes.big),
        notNull('problem_code', sqlTypes.text),
        notNull('problem_store', sqlTypes.text),
        `${c.problem_constraint} ${sqlTypes.text}`,
        notNull('problem_message', sqlTypes.text),
        pk('migration', 'direction', 'key_id'),
      ],
      parkedIndex,
    ),
    table('dead_letters', [
      notNull('migration', sqlTypes.key(limits.migration)),
      notNull('key_id', sqlTypes.key(limits.keyId)),
      notNull('reason', sqlTypes.text),
      notNull('at', sqlTypes.big),
      notNull('attempts', sqlTypes.int),
      pk('migration', 'key_id'),
    ]),
  ];
}

/** CREATE TABLE for leased ranges and checkpoints. */
function rangeTables(p: SchemaParts): string[] {
  const { c, sqlTypes, notNull, pk, table, rangeColumns } = p;
  const limits = MYSQL_KEY_LIMITS;
  return [
    table('ranges', [
      notNull('migration', sqlTypes.key(limits.migration)),
      notNull('name', sqlTypes.key(limits.checkpointName)),
      notNull('range_id', sqlTypes.int),
      `${c.lo} ${sqlTypes.longText}`,
      `${c.hi} ${sqlTypes.longText}`,
      `${c.after_key} ${sqlTypes.longText}`,
      `${c.owner} ${sqlTypes.text}`,
      notNull('token', sqlTypes.big),
      notNull('leased_until', sqlTypes.big),
      notNull('complete', sqlTypes.int),
      ...rangeColumns.map((x) => x.definition),
      pk('migration', 'name', 'range_id'),
    ]),
    table('checkpoints', [
      notNull('migration', sqlTypes.key(limits.migration)),
      notNull('name', sqlTypes.key(limits.checkpointName)),
      notNull('value', sqlTypes.longText),
      notNull('updated_at', sqlTypes.big),
      pk('migration', 'name'),
    ]),
  ];
}

/** The dialect's spellings of insert-if-absent and upsert. */
function statements(p: SchemaParts): Pick<ControlSchema, 'insertIfAbsent' | 'upsert'> {
  const { t, c, mysql } = p;
  const cols = (list: readonly ControlColumn[]): string => list.map((x) => c[x]).join(', ');
  return {
    insertIfAbsent(name, columns, keys, rows) {
      const values = `(${cols(columns)}) VALUES ${rows.join(', ')}`;
      return mysql
        ? `INSERT IGNORE INTO ${t[name]} ${values}`
        : `INSERT INTO ${t[name]} ${values} ON CONFLICT (${cols(keys)}) DO NOTHING`;
    },
    upsert(name, columns, keys, rows, sets) {
      const values = `(${cols(columns)}) VALUES ${rows.join(', ')}`;
      if (mysql) {
        const assignments = sets(
          (x) => c[x],
          (x) => `VALUES(${c[x]})`,
        );
        return `INSERT INTO ${t[name]} ${values} ON DUPLICATE KEY UPDATE ${assignments.join(', ')}`;
      }
      const assignments = sets(
        (x) => `cur.${c[x]}`,
        (x) => `excluded.${c[x]}`,
      );
      return `INSERT INTO ${t[name]} AS cur ${values} ON CONFLICT (${cols(keys)}) DO UPDATE SET ${assignments.join(', ')}`;
    },
  };
}

/** Builds the control tables' schema for `dialect` with table names `prefix + name`. */
export function controlSchema(dialect: SqlDialect, prefix: string): ControlSchema {
  const p = schemaParts(dialect, prefix);
  const { t, c, mysql, auditIndex, repairsIndex, parkedIndex, repairClaimColumns, servedColumns, rangeColumns } = p;
  const ddl = [
    ...stateTables(p),
    ...repairTables(p),
    ...rangeTables(p),
    ...(mysql ? [] : [auditIndex.statement, repairsIndex.statement, parkedIndex.statement]),
  ];
  return {
    t,
    c,
    ddl,
    added: [...repairClaimColumns, ...servedColumns, ...rangeColumns],
    ...statements(p),
  };
}
