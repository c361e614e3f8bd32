import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffEntities } from '../core/compare.js';
import type { Store } from '../core/store.js';
import type { VerifyReport } from '../verify/verify-options.js';
import type { DemoRun } from './demo-run.js';
import type { DemoResult, PhaseFigures } from './demo-types.js';
import { percentile, type LoadStats, type OpSample } from './load.js';
import { demoReportHtml } from './report-html.js';
import { phasePeriods, servedSeries, slowestSecond, throughputVerdict } from './throughput.js';
import type { DemoUser } from './users.js';

/** Every acknowledged write is in new: each key's last acknowledged state. */
export async function countLostWrites(
  store: Store<bigint, DemoUser>,
  expected: Map<bigint, DemoUser | undefined>,
): Promise<number> {
  const keys = [...expected.keys()];
  const actual = await store.getMany(keys);
  let lostWrites = 0;
  keys.forEach((k, i) => {
    const want = expected.get(k);
    const got = actual[i];
    if ((want === undefined) !== (got === undefined) || (want && got && diffEntities(want, got).length > 0))
      lostWrites++;
  });
  return lostWrites;
}

function phaseFigures(samples: readonly OpSample[]): PhaseFigures[] {
  const byPhase = new Map<string, { ms: number[]; errors: number }>();
  for (const s of samples) {
    const p = byPhase.get(s.phase) ?? { ms: [], errors: 0 };
    p.ms.push(s.ms);
    if (s.error) p.errors++;
    byPhase.set(s.phase, p);
  }
  return [...byPhase].map(([phase, p]): PhaseFigures => ({
    phase,
    ops: p.ms.length,
    errors: p.errors,
    p50Ms: round(percentile(p.ms, 50)),
    p99Ms: round(percentile(p.ms, 99)),
  }));
}

/** The result, its throughput verdict, and the HTML report unless asked for none. */
export function demoResult(
  run: DemoRun,
  o: {
    readonly timeline: { atMs: number; event: string }[];
    readonly stats: LoadStats;
    readonly lostWrites: number;
    readonly verification: VerifyReport;
    /** While the clients ran, ms since the demo began. */
    readonly served: { readonly fromMs: number; readonly toMs: number };
  },
): DemoResult {
  const { options, rows, began, fleet, halts, faults, record } = run;
  const { timeline, stats, lostWrites, served } = o;
  const series = servedSeries(stats.samples, served.fromMs, served.toMs);
  const throughput = throughputVerdict(series, phasePeriods(record.changes, served.toMs));
  const final = o.verification;
  const result = {
    ok:
      stats.errors === 0 &&
      lostWrites === 0 &&
      stats.staleReads === 0 &&
      final.status === 'equal' &&
      halts > 0 &&
      throughput.ok,
    durationMs: Math.round(performance.now() - began),
    rows,
    instances: fleet.length,
    timeline,
    phases: phaseFigures(stats.samples),
    ops: stats.ops,
    clientErrors: stats.errors,
    staleReads: stats.staleReads,
    lostWrites,
    halts,
    faultsInjected: faults.injected,
    verification: final,
    throughput,
    jobs: record.jobs.map((j) => ({ ...j, minOpsPerSecond: slowestSecond(series, j.fromMs, j.toMs) })),
    marks: record.marks,
    reportPath: undefined as string | undefined,
  };
  if (options.report !== false) {
    const path = resolve(options.report ?? 'midair-demo-report.html');
    writeFileSync(path, demoReportHtml(result, stats.samples));
    result.reportPath = path;
  }
  return result;
}

const round = (n: number): number => Math.round(n * 100) / 100;
