import { parseKeyId, type Key } from '../core/keys.js';
import type { KeyList, VerifyReport } from './verify-options.js';

/** A key id as a person reads it: `178`, `"ada"`, `(7, "eu")`. */
function showKey(id: string): string {
  let key: Key;
  try {
    key = parseKeyId(id);
  } catch {
    return id;
  }
  const part = (p: unknown): string => (typeof p === 'string' ? JSON.stringify(p) : String(p));
  return Array.isArray(key) ? `(${key.map(part).join(', ')})` : part(key);
}

/**
 * The process exit code for a report: 0 when equal, 1 while real differences
 * remain (or the run did not finish).
 *
 * @example process.exitCode = verifyExitCode(await migration.verify());
 */
export function verifyExitCode(report: VerifyReport): 0 | 1 {
  return report.status === 'equal' ? 0 : 1;
}

function list(
  keys: KeyList | { total: number; keys: readonly { keyId: string; fields: readonly string[] }[] },
): string {
  if (keys.total === 0) return '';
  const shown = keys.keys.map((k) =>
    typeof k === 'string' ? showKey(k) : `${showKey(k.keyId)} (${k.fields.join(', ')})`,
  );
  const more = keys.total > shown.length ? `, … ${keys.total - shown.length} more` : '';
  return `: ${shown.join(', ')}${more}`;
}

/**
 * A report in plain words for a terminal: keys and field names, never values.
 *
 * @example console.log(formatVerifyReport(await migration.verify({ mode: 'full' })));
 */
export function formatVerifyReport(r: VerifyReport): string {
  const how = (s: VerifyReport['old']): string =>
    s.hashing === 'none'
      ? r.mode === 'count'
        ? 'counted (count mode: nothing hashed or compared)'
        : 'counted; sampled keys compared entity by entity'
      : `hashed ${s.hashing === 'database' ? `in the database${s.reason === undefined ? '' : ` (${s.reason})`}` : `in JS (${s.reason ?? 'no pushdown'})`}${s.rowHash === 'pair' ? ' with the pair hash (same engine and shape)' : ''}`;
  const side = (label: string, s: VerifyReport['old']): string =>
    `  ${label.padEnd(4)} ${s.store}: ${s.count} entities, ${how(s)}`;
  const lines = [
    `verify (${r.mode}): ${r.status.toUpperCase()}${r.repair ? ` after repairing ${r.repair.repaired} of ${r.repair.keys} differing keys` : ''} in ${r.durationMs} ms${r.resumed ? ' (resumed)' : ''}`,
    side('old', r.old),
    side('new', r.new),
  ];
  if (r.mode === 'count') {
    lines.push(
      `  counts ${r.old.count === r.new.count ? 'equal' : `differ by ${r.new.count - r.old.count}`} (counts alone prove little: run full)`,
    );
  } else {
    if (r.mode === 'full')
      lines.push(
        `  segments: ${r.segments.hashed} hashed, ${r.segments.differing} differing, ${r.segments.rowCompared} compared row by row`,
      );
    if (r.sample)
      lines.push(
        `  sample: ${r.sample.keys} keys, ${(r.sample.differingRate * 100).toFixed(2)} % differ (95 % upper bound ${(r.sample.upper95 * 100).toFixed(2)} %)`,
      );
    lines.push(`  matched   ${r.matched}`);
    lines.push(`  missing   ${r.missing.total}${list(r.missing)}`);
    lines.push(`  extra     ${r.extra.total}${list(r.extra)}`);
    lines.push(`  different ${r.different.total}${list(r.different)}`);
    lines.push(`  changed during verification ${r.changedDuringRun.total}${list(r.changedDuringRun)}`);
    if (r.skippedYoung > 0) lines.push(`  skipped (younger than minAgeMs) ${r.skippedYoung}`);
    if (r.untracked > 0) lines.push(`  untracked differences (beyond trackLimit) ${r.untracked}`);
  }
  if (r.repair) {
    const p = r.repair;
    lines.push(
      `  repair (${p.direction}): ${p.repaired} of ${p.keys} keys re-synced in ${p.durationMs} ms, ${p.stillDifferent.total} still different${list(p.stillDifferent)}`,
    );
  }
  if (r.error) lines.push(`  error ${r.error.code}: ${r.error.message}`);
  return lines.join('\n');
}
