import type { CheckProblem, CheckReport, ForeignKeyRef } from './check-report.js';

/**
 * What each side's foreign keys into the migrated tables mean for the
 * phases: rows of other tables that point at the migrated entity expect it
 * in their own database, and midair moves the entity between databases one
 * phase at a time.
 */
export function foreignKeyProblems(old: CheckReport, neu: CheckReport): CheckProblem[] {
  const named = (r: ForeignKeyRef): string =>
    `${r.table}(${r.columns.join(', ')}) → ${r.references} (constraint ${r.constraint})`;
  return [
    ...(old.referencedBy ?? []).map((r): CheckProblem => ({
      code: 'FOREIGN_KEY',
      severity: 'warning',
      table: r.table,
      message: `on old, ${named(r)}: from new-primary on, new entities reach old only by the second write (and a failed one waits for its repair), and from old-read-only not at all, so a row of ${r.table} written then for an entity new alone holds fails this constraint. Drop it (or move ${r.table} with the entity) before new-primary; until then it holds as before`,
    })),
    ...(neu.referencedBy ?? []).map((r): CheckProblem => ({
      code: 'FOREIGN_KEY',
      severity: 'warning',
      table: r.table,
      message: `on new, ${named(r)}: until the backfill has copied every entity, a row of ${r.table} can point at one new does not hold yet, and a delete synced into new fails while rows point at it. Add it after the backfill and verification (before new-primary), not before`,
    })),
  ];
}
