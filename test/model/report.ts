import type { HistoryResult } from './harness.js';

/** One line per set of histories: what they did and what they found. */
export function summary(label: string, results: readonly HistoryResult[]): string {
  const sum = (f: (r: HistoryResult) => number): number => results.reduce((n, r) => n + f(r), 0);
  const failing = results.filter((r) => r.violations.length > 0).length;
  const reached = new Set(results.flatMap((r) => r.phases));
  const byInvariant = new Map<number, number>();
  for (const r of results)
    for (const inv of new Set(r.violations.map((v) => v.invariant)))
      byInvariant.set(inv, (byInvariant.get(inv) ?? 0) + 1);
  const per = [...byInvariant]
    .sort(([a], [b]) => a - b)
    .map(([inv, n]) => `invariant ${inv}: ${n}`)
    .join(', ');
  return (
    `${label}: ${results.length} histories, ${sum((r) => r.ops)} operations, ${sum((r) => r.faults)} faults injected, ${sum((r) => r.kills)} kills, ${sum((r) => r.pauses)} pauses, ` +
    `${sum((r) => r.transitions)} phase changes, ${sum((r) => r.refusals)} clean refusals (reached ${[...reached].join(', ')}), ${sum((r) => r.backfills)} backfill runs (with crashes), ` +
    `${sum((r) => r.steps ?? 0)} timer firings, ${sum((r) => r.simulatedMs ?? 0)} simulated ms; ${failing} histories with violations${per ? ` (${per})` : ''}`
  );
}

/** The failing seeds, each with the command that replays it and its first violations. */
export function explain(
  results: readonly HistoryResult[],
  off: readonly string[] = [],
  file = 'test/model/model.test.ts',
): string {
  const failing = results.filter((r) => r.violations.length > 0);
  if (failing.length === 0) return '';
  const env = off.length > 0 ? ` MIDAIR_MODEL_OFF=${off.join(',')}` : '';
  const shown = failing.slice(0, 5).map(
    (r) =>
      `seed ${r.seed} — replay: MIDAIR_MODEL_SEED=${r.seed}${env} npx vitest run ${file} -t replay\n  ${r.violations
        .slice(0, 5)
        .map((v) => `invariant ${v.invariant}: ${v.message}`)
        .join('\n  ')}`,
  );
  return `${failing.length} of ${results.length} histories broke an invariant (seeds ${failing
    .map((r) => r.seed)
    .slice(0, 40)
    .join(', ')}${failing.length > 40 ? ', …' : ''}):\n${shown.join('\n')}`;
}
