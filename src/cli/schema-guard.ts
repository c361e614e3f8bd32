import type { KeyMappings } from '../backfill/key-check.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import { compareKeyCodecs } from '../mapping/mapping.js';
import { compareUniques } from '../sql/sql-check.js';
import { foreignKeyProblems } from '../core/foreign-key-advice.js';
import type { CheckProblem, CheckReport } from '../core/check-report.js';
import type { Store } from '../core/store.js';

/** Both stores' checks, and what they disagree on (key codecs, unique constraints and their collations). */
export interface BothChecks {
  readonly old: CheckReport;
  readonly new: CheckReport;
  /** Problems of the pair: a key codec mismatch (error), unique constraints that differ and foreign keys into the migrated tables (warnings). */
  readonly between: readonly CheckProblem[];
  readonly errors: number;
  readonly warnings: number;
}

/** The tombstone table is midair's own: a writing command creates it (setup), so its absence does not refuse one. */
export const createdBySetup = (p: CheckProblem): boolean => p.code === 'MISSING_TOMBSTONE_TABLE';

/** Runs both stores' `check()` against their live schemas and compares the pair. Reads only. */
export async function checkBoth(
  old: Store<Key, object>,
  newSide: Store<Key, object>,
  keyMappings?: KeyMappings,
): Promise<BothChecks> {
  const [o, n] = await Promise.all([old.check(), newSide.check()]);
  const keys: CheckProblem[] = keyMappings
    ? compareKeyCodecs(keyMappings.old, keyMappings.new).map((m) => ({
        code: 'KEY_MISMATCH',
        severity: 'error',
        field: m.field,
        message: `${m.why}: a key would be one row in old and another in new; map it with the same codec on both sides`,
      }))
    : [];
  const between = [...keys, ...compareUniques(o, n), ...foreignKeyProblems(o, n)];
  const all = [...o.problems, ...n.problems, ...between];
  // A missing tombstone table is midair's to create (the first command that writes does): it counts as a warning here.
  const blocking = (p: CheckProblem): boolean => p.severity === 'error' && !createdBySetup(p);
  return {
    old: o,
    new: n,
    between,
    errors: all.filter(blocking).length,
    warnings: all.filter((p) => !blocking(p)).length,
  };
}

/**
 * Before a command's first write: the errors of both stores' live schemas
 * (leaving out the tombstone table, which the command creates), as one
 * CONFIG error that names each — or `undefined` when it may go on.
 */
export async function liveSchemaRefusal(
  old: Store<Key, object>,
  newSide: Store<Key, object>,
): Promise<MidairError | undefined> {
  const [o, n] = await Promise.all([old.check(), newSide.check()]);
  const errors = [
    ...o.problems.filter((p) => p.severity === 'error' && !createdBySetup(p)).map((p) => `${o.store}: ${p.message}`),
    ...n.problems.filter((p) => p.severity === 'error' && !createdBySetup(p)).map((p) => `${n.store}: ${p.message}`),
  ];
  if (errors.length === 0) return undefined;
  return new MidairError(
    'CONFIG',
    `the live schema does not fit the mapping (${errors.length} error(s)); nothing was written:\n  ${errors.join('\n  ')}\n(\`midair check\` prints both stores' full reports)`,
  );
}

export function formatChecks(c: BothChecks): string {
  const lines: string[] = [];
  const section = (title: string, problems: readonly CheckProblem[]): void => {
    const errors = problems.filter((p) => p.severity === 'error' && !createdBySetup(p)).length;
    lines.push(
      `${title}: ${problems.length === 0 ? 'ok' : `${errors} error(s), ${problems.length - errors} warning(s)`}`,
    );
    for (const p of problems) {
      const later = createdBySetup(p) ? ' (the first command that writes creates it)' : '';
      lines.push(`  ${p.severity === 'error' && !later ? 'error  ' : 'warning'} ${p.code}: ${p.message}${later}`);
    }
  };
  section(`old  ${c.old.store}`, c.old.problems);
  section(`new  ${c.new.store}`, c.new.problems);
  section('both', c.between);
  lines.push(
    c.errors > 0
      ? `${c.errors} error(s): commands that write refuse until they are fixed`
      : c.warnings > 0
        ? `${c.warnings} warning(s), no errors`
        : 'clean',
  );
  return lines.join('\n');
}
