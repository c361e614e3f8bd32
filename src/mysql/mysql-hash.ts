import type { HashSql } from '../sql/sql-hash.js';
import type { HashKind } from '../core/canonical.js';

/** The framed canonical text of the parts (`<name><bytes>:<value>` each, nothing for NULL), in utf8mb4. */
function rowText(parts: readonly { readonly name: string; readonly value: string }[]): string {
  const framedParts = parts.map((p) => `COALESCE(CONCAT(${p.name}, LENGTH(${p.value}), ':', ${p.value}), '')`);
  return framedParts.length > 0 ? `CONCAT(${framedParts.join(', ')})` : "''";
}

/** MySQL's and MariaDB's SQL for canonical values and row hashes (verification pushdown). */
export const mysqlHashSql: HashSql = {
  /**
   * Canonical text in SQL. JSON is left to JS: MariaDB keeps JSON as the text
   * it was given and has no function that orders object keys.
   */
  canonicalExpr(kind: HashKind, c: string): string | undefined {
    const epochMicros = `CAST(UNIX_TIMESTAMP(${c}) * 1000000 AS SIGNED)`;
    switch (kind) {
      case 'integer':
        return `CONCAT('n', ${c})`;
      case 'decimal': {
        const t = `CAST(${c} AS CHAR)`;
        return `CONCAT('s', IF(INSTR(${t}, '.') > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${t})), ${t}))`;
      }
      case 'text':
        return `CONCAT('s', CONVERT(${c} USING utf8mb4))`;
      case 'uuid':
        // Lowered as the codec lowers a UUID; anything else is marked, so it can only match row by row.
        return `IF(${c} REGEXP '^[0-9A-Fa-f-]*$', CONCAT('s', LOWER(CONVERT(${c} USING utf8mb4))), CONCAT('?', ${c}))`;
      case 'boolean':
        // Only what the codec reads as a boolean; any other number is marked (the codec cannot read it).
        return `CASE WHEN ${c} = 1 THEN 'bt' WHEN ${c} = 0 THEN 'bf' WHEN ${c} IS NOT NULL THEN CONCAT('?', ${c}) END`;
      case 'instant-ms':
        return `CONCAT('d', FLOOR(UNIX_TIMESTAMP(${c}) * 1000))`;
      case 'instant-us':
        // From epoch microseconds (as the codec reads it), so the session's time zone plays no part.
        return `CONCAT('s', DATE_FORMAT(DATE_ADD('1970-01-01 00:00:00', INTERVAL ${epochMicros} MICROSECOND), '%Y-%m-%dT%H:%i:%s.%fZ'))`;
      case 'wall':
        return `CONCAT('s', DATE_FORMAT(${c}, '%Y-%m-%dT%H:%i:%s.%f'))`;
      case 'date':
        return `CONCAT('s', DATE_FORMAT(${c}, '%Y-%m-%d'))`;
      case 'bytes':
        return `CONCAT('x', LOWER(HEX(${c})))`;
      case 'json':
        return undefined;
    }
  },

  rowHash(parts: readonly { readonly name: string; readonly value: string }[]): string {
    return `CAST(CONV(SUBSTRING(MD5(${rowText(parts)}), 1, 15), 16, 10) AS UNSIGNED)`;
  },

  // JSON fields are put in canonical form in JS, between the pieces of this text (src/sql/sql-split-hash.ts).
  rowText,
};
