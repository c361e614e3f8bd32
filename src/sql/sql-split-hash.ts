import { canonicalValue, framed, hash60 } from '../core/canonical.js';
import type { Key } from '../core/keys.js';
import type { KeyRange, RangeHash } from '../core/store.js';
import type { MappedField, SqlMapping } from '../mapping/mapping.js';
import { cellText } from './sql-catalog.js';
import { hashedFields, type HashSql, type SelectField } from './sql-hash.js';
import type { StoreParts } from './sql-store-parts.js';
import { readExpr, type Params } from './sql-statements.js';

/** Rows per read of a split hash: a range is read in pages, the next one while this one is hashed. */
const PAGE_ROWS = 5000;

/**
 * The fields the engine's SQL cannot put in canonical form but JS can (a
 * codec with a `hashAs` kind the SQL has no expression for: MariaDB's JSON),
 * where the SQL can frame the rest as text; `undefined` where there are none
 * or the engine cannot split.
 */
export function splitFields(
  hash: HashSql | undefined,
  mapping: SqlMapping<object>,
  ignore: ReadonlySet<string>,
): MappedField[] | undefined {
  if (!hash?.rowText) return undefined;
  const fields = hashedFields(mapping, ignore);
  if (fields.some((f) => f.codec.hashAs === undefined)) return undefined;
  const js = fields.filter((f) => hash.canonicalExpr(f.codec.hashAs ?? 'text', 'c') === undefined);
  return js.length > 0 ? js : undefined;
}

/**
 * A range's hashes split between the engine and JS, to the same canonical
 * form as everywhere: the SQL writes the framed canonical text of every
 * field it can, as the pieces between the fields it cannot, and reads those
 * raw; JS decodes each with its codec, puts it in canonical form, joins the
 * pieces and hashes the row (`SELECT key, part, piece₀, raw₁, piece₁, …`).
 * Only the fields SQL cannot do are decoded, and no entity is built.
 */
export async function splitHashParts<K extends Key, E extends object>(
  p: StoreParts<K, E>,
  hash: HashSql,
  range: KeyRange<K>,
  splits: readonly K[],
  ignore: ReadonlySet<string>,
): Promise<RangeHash[]> {
  const { sql: store, runner, dialect, codec } = p;
  const q = (f: SelectField): string => `t${f.tableIndex}.${store.compiler.quoteId(f.column)}`;
  const fields = hashedFields(p.mapping as SqlMapping<object>, ignore);
  const keyCount = store.primary.keyColumns.length;
  const statement = (after: K | undefined): { text: string; params: Params } => {
    const params = store.params();
    // Parameters are added in the order they appear in the text (MySQL's are positional).
    const bucket =
      splits.length === 0
        ? '0'
        : `CASE ${splits.map((k, i) => `WHEN ${store.keyBound(params, '<=', k)} THEN ${i}`).join(' ')} ELSE ${splits.length} END`;
    const columns: string[] = [];
    let parts: { name: string; value: string }[] = [];
    for (const f of fields) {
      const value = hash.canonicalExpr(f.codec.hashAs ?? 'text', q(f));
      if (value !== undefined) {
        parts.push({ name: params.add(framed(f.field)), value });
        continue;
      }
      columns.push(hash.rowText?.(parts) ?? "''", readExpr(store.compiler, f, q(f)));
      parts = [];
    }
    columns.push(hash.rowText?.(parts) ?? "''");
    const where = store.rangeWhere(params, after === undefined ? range : { ...range, after });
    const order = store.keyCols0.join(', ');
    return {
      text: `SELECT ${store.keyReads0}, ${bucket}, ${columns.join(', ')} ${store.from}${where} ORDER BY ${order} LIMIT ${PAGE_ROWS}`,
      params,
    };
  };
  const js = fields
    .filter((f) => hash.canonicalExpr(f.codec.hashAs ?? 'text', 'c') === undefined)
    .map((f) => ({ name: framed(f.field), codec: f.codec }));
  const sums: RangeHash[] = Array.from({ length: splits.length + 1 }, () => ({ count: 0, sum: 0n }));
  const counts = sums.map(() => 0);
  const totals = sums.map(() => 0n);
  const read = async (after: K | undefined): Promise<readonly (readonly unknown[])[]> => {
    const { text, params } = statement(after);
    return (await runner.query('hashParts', text, params.values)).rows;
  };
  let page = read(range.after);
  for (;;) {
    const rows = await page;
    const last = rows.at(-1);
    // The next page is read while this one is hashed (a row this page fails on leaves it unawaited: not unhandled).
    if (rows.length === PAGE_ROWS && last) {
      page = read(codec.decodeKey(last));
      page.catch(() => undefined);
    }
    for (const row of rows) {
      let text = cellText(row[keyCount + 1]) ?? '';
      for (let j = 0; j < js.length; j++) {
        const f = js[j] as (typeof js)[number];
        const raw = row[keyCount + 2 + 2 * j];
        if (raw !== null && raw !== undefined) {
          const value = canonicalValue(f.codec.decode(raw, dialect.name));
          if (value !== null) text += f.name + framed(value);
        }
        text += cellText(row[keyCount + 3 + 2 * j]) ?? '';
      }
      const b = Number(cellText(row[keyCount]) ?? 0);
      counts[b] = (counts[b] ?? 0) + 1;
      totals[b] = (totals[b] ?? 0n) + hash60(text);
    }
    if (rows.length < PAGE_ROWS) break;
  }
  return sums.map((_s, i) => ({ count: counts[i] ?? 0, sum: totals[i] ?? 0n }));
}
