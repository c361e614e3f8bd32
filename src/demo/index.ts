/**
 * midair/demo — the whole migration on embedded SQLite that `midair demo` runs.
 *
 * Needs better-sqlite3 and two of the command line's packages (cli-progress,
 * uplot); the library itself needs none of them.
 */
import type { DemoResult } from './demo-types.js';

export { runDemo } from './demo.js';
export type { DemoJobSpan, DemoLive, DemoMark, DemoOptions, DemoResult, PhaseFigures } from './demo-types.js';
export type { PhasePeriod, PhaseThroughput, ServedSeries, ThroughputVerdict } from './throughput.js';

const pct = (share: number): string => `${Math.round(share * 100)} %`;

/** Served throughput against the old-only baseline: the slowest second of the slowest phase, and of each job. */
function throughputLine(r: DemoResult): string {
  const t = r.throughput;
  const worst = t.phases.reduce<(typeof t.phases)[number] | undefined>(
    (a, p) => (a === undefined || p.minOpsPerSecond < a.minOpsPerSecond ? p : a),
    undefined,
  );
  const jobs = r.jobs.map((j) => `${j.job} ${j.minOpsPerSecond}`).join(', ');
  return (
    `served throughput ${t.ok ? 'held' : 'FELL'}: old-only served ${t.oldOnlyMeanOpsPerSecond} ops/s, ${t.baselineOpsPerSecond} in its slowest second (the baseline); ` +
    `the slowest second of any phase served ${worst?.minOpsPerSecond ?? 0} (${worst?.phase ?? 'no phase'}, ${pct(worst?.shareOfBaseline ?? 0)}; floor ${pct(t.floorShare)}); ` +
    `slowest second while the jobs ran on their own thread: ${jobs || 'none ran'}.`
  );
}

/** The demo's closing summary for a terminal. */
export function formatDemo(r: DemoResult): string {
  const width = Math.max(...r.phases.map((p) => p.phase.length), 5);
  const slowest = new Map(r.throughput.phases.map((p) => [p.phase, p]));
  const table = [
    `  ${'phase'.padEnd(width)}  ${'ops'.padStart(6)}  ${'errors'.padStart(6)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  ${'slowest s'.padStart(9)}  ${'of old-only'.padStart(11)}`,
    ...r.phases.map((p) => {
      const t = slowest.get(p.phase);
      return `  ${p.phase.padEnd(width)}  ${String(p.ops).padStart(6)}  ${String(p.errors).padStart(6)}  ${p.p50Ms.toFixed(2).padStart(7)}  ${p.p99Ms.toFixed(2).padStart(7)}  ${String(t?.minOpsPerSecond ?? '–').padStart(9)}  ${(t ? pct(t.shareOfBaseline) : '–').padStart(11)}`;
    }),
  ];
  const v = r.verification;
  return [
    '',
    ...table,
    '',
    `${r.ok ? 'OK' : 'FAILED'}: ${r.ops} operations served, ${r.clientErrors} client-visible errors, ${r.lostWrites} lost writes, ${r.staleReads} stale reads; ` +
      `verification ${v.status} (${v.matched} matched); ${r.halts} auto-halt(s) on ${r.faultsInjected} injected faults; ${(r.durationMs / 1000).toFixed(1)} s.`,
    throughputLine(r),
    r.reportPath ? `report: ${r.reportPath}` : '',
  ]
    .filter((l, i, a) => l !== '' || i < a.length - 1)
    .join('\n');
}
