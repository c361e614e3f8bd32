import { sqlCompiler, valuesList } from '../sql/sql-compiler.js';

/** Expanded form: MariaDB does not use an index for a row-value comparison. */
function keyCompare(columns: readonly string[], op: '>' | '<=', param: (part: number) => string): string {
  const strict = op === '>' ? '>' : '<';
  const ors = columns.map((c, i) => {
    const eq = columns.slice(0, i).map((p, j) => `${p} = ${param(j)}`);
    return `(${[...eq, `${c} ${i === columns.length - 1 ? op : strict} ${param(i)}`].join(' AND ')})`;
  });
  return ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`;
}

/** MySQL's and MariaDB's spelling of SQL. */
export const mysqlCompiler = sqlCompiler({
  name: 'mysql',
  maxParams: 60_000,
  upsertTargetsKeyOnly: false,
  randomOrder: 'RAND()',
  /** MariaDB spells FOR SHARE this way (MySQL 8 reads both). */
  forShare: ' LOCK IN SHARE MODE',
  quoteId: (name: string): string => `\`${name.replace(/`/g, '``')}\``,
  placeholder: (): string => '?',
  keyCompare,
  upsert(
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    rows: readonly (readonly string[])[],
  ): string {
    const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = VALUES(${c})`);
    const first = keyColumns[0] ?? columns[0] ?? '';
    const action = updates.length > 0 ? updates.join(', ') : `${first} = ${first}`;
    return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${valuesList(rows)} ON DUPLICATE KEY UPDATE ${action}`;
  },
  deletedAtColumn: (): string => 'TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)',
});
