import type { HashSql } from '../sql/sql-hash.js';
import type { HashKind } from '../core/canonical.js';
import { postgresPairHashSql } from './postgres-pair-hash.js';

/** PostgreSQL's SQL for canonical values and row hashes (verification pushdown). */
export const postgresHashSql: HashSql = {
  canonicalExpr(kind: HashKind, c: string): string | undefined {
    switch (kind) {
      case 'integer':
        return `'n' || ${c}::text`;
      case 'decimal':
        return `'s' || trim_scale(${c})::text`;
      case 'text':
        // concat() prints a char(n) with its padding, as the driver hands it to the codec (a cast to text would drop it);
        // it also turns NULL into '', so NULL is kept apart first.
        return `CASE WHEN ${c} IS NOT NULL THEN concat('s', ${c}) END`;
      case 'uuid':
        // Lowered as the codec lowers a UUID; anything else is marked, so it can only match row by row.
        return `CASE WHEN ${c}::text ~ '^[0-9A-Fa-f-]*$' THEN 's' || lower(${c}::text) ELSE '?' || ${c}::text END`;
      case 'boolean':
        return `CASE WHEN ${c} THEN 'bt' WHEN NOT ${c} THEN 'bf' END`;
      case 'instant-ms':
        // Floored to the millisecond first, then float8 seconds (far cheaper than extract()'s numeric): k/1000
        // is within far less than half a millisecond of its double, so rounding back gives k exactly.
        return `'d' || (date_part('epoch', date_trunc('milliseconds', ${c})) * 1000)::bigint::text`;
      // to_char() has no era: a BC value is marked instead, so it cannot pass for its AD twin (the codec cannot read it anyway).
      case 'instant-us':
        return `CASE WHEN ${c} < '0001-01-01T00:00:00Z'::timestamptz THEN '?' || ${c}::text ELSE 's' || to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END`;
      case 'wall':
        return `CASE WHEN ${c} < '0001-01-01'::timestamp THEN '?' || ${c}::text ELSE 's' || to_char(${c}, 'YYYY-MM-DD"T"HH24:MI:SS.US') END`;
      case 'date':
        return `CASE WHEN ${c} < '0001-01-01'::date THEN '?' || ${c}::text ELSE 's' || to_char(${c}, 'YYYY-MM-DD') END`;
      case 'bytes':
        return `'x' || encode(${c}, 'hex')`;
      case 'json': {
        // jsonb prints objects the way canonicalJson() does, numbers as exact decimals; a top-level scalar is the JS
        // value it decodes to, and JSON null is 'jnull'. jsonb keeps a number's scale (1.50, where JS writes 1.5): such
        // rows hash apart and rows decide (trimming every number in SQL cost 5-10x the hash). jsonb has no -0: a json or
        // text column whose text may hold one is marked (a string like "x-0" trips it too, at the cost of a row compare).
        const j = `(${c})::jsonb`;
        const negativeZero = `pg_typeof(${c}) <> 'jsonb'::regtype AND strpos(${c}::text, '-0') > 0 AND ${c}::text ~ '(^|[^0-9.eE])-0(\\.0+)?([eE][-+]?[0-9]+)?($|[^0-9.eE])'`;
        return `CASE WHEN ${negativeZero} THEN '?' || ${c}::text ELSE CASE jsonb_typeof(${j}) WHEN 'object' THEN 'j' || ${j}::text WHEN 'array' THEN 'j' || ${j}::text WHEN 'number' THEN 'n' || trim_scale(${j}::numeric)::text WHEN 'string' THEN 's' || (${j} #>> '{}') WHEN 'boolean' THEN CASE WHEN ${j} = 'true'::jsonb THEN 'bt' ELSE 'bf' END WHEN 'null' THEN 'jnull' END END`;
      }
    }
  },

  rowHash(parts: readonly { readonly name: string; readonly value: string }[]): string {
    const framedParts = parts.map(
      (p) => `coalesce(${p.name}::text || octet_length(${p.value})::text || ':' || ${p.value}, '')`,
    );
    return `('x' || substr(md5(${framedParts.length > 0 ? framedParts.join(' || ') : "''"}), 1, 15))::bit(60)::bigint`;
  },

  pair: postgresPairHashSql,
};
