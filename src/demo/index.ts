/**
 * midair/demo — the whole migration on embedded SQLite that `midair demo` runs.
 *
 * Needs better-sqlite3 and two of the command line's packages (cli-progress,
 * uplot); the library itself needs none of them.
 */
import type { DemoResult } from './demo-types.js';

export { runDemo } from './demo.js';
export type { DemoOptions, DemoResult, PhaseFigures } from './demo-types.js';

/** The demo's closing summary for a terminal. */
export function formatDemo(r: DemoResult): string {
  const width = Math.max(...r.phases.map((p) => p.phase.length), 5);
  const table = [
    `  ${'phase'.padEnd(width)}  ${'ops'.padStart(6)}  ${'errors'.padStart(6)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}`,
    ...r.phases.map(
      (p) =>
        `  ${p.phase.padEnd(width)}  ${String(p.ops).padStart(6)}  ${String(p.errors).padStart(6)}  ${p.p50Ms.toFixed(2).padStart(7)}  ${p.p99Ms.toFixed(2).padStart(7)}`,
    ),
  ];
  const v = r.verification;
  return [
    '',
    ...table,
    '',
    `${r.ok ? 'OK' : 'FAILED'}: ${r.ops} operations served, ${r.clientErrors} client-visible errors, ${r.lostWrites} lost writes, ${r.staleReads} stale reads; ` +
      `verification ${v.status} (${v.matched} matched); ${r.halts} auto-halt(s) on ${r.faultsInjected} injected faults; ${(r.durationMs / 1000).toFixed(1)} s.`,
    r.reportPath ? `report: ${r.reportPath}` : '',
  ]
    .filter((l, i, a) => l !== '' || i < a.length - 1)
    .join('\n');
}
