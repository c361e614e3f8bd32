// The live page's charts: the samples the server kept, on one time axis (Unix seconds), with the phase band and the
// audit log's changes marked.
import type { AuditView, MigrationView, Sample } from '../../../src/dashboard/api-types.js';
import type { ChartData, ChartSpec } from '../../../src/dashboard/chart-types.js';
import { PHASES } from '../../../src/core/phases.js';

const PHASE_COLORS = ['#9aa5b1', '#4c9be8', '#7bc96f', '#f5a623', '#e8744c', '#b36ae2', '#2f9e44'];
const MARK_COLORS: Record<string, string> = {
  advance: '#2f9e44',
  rollback: '#d9480f',
  halt: '#e67700',
  set: '#4c9be8',
  strict: '#6c757d',
};

export function phaseColor(label: string): string {
  const phase = label.replace(/ \d+(\.\d+)? %$/, '');
  return PHASE_COLORS[PHASES.indexOf(phase as (typeof PHASES)[number])] ?? '#999999';
}

/** The columns after time, in order: what each chart's series point at. */
const COLUMNS = [
  'mismatch %',
  'limit %',
  'rows/s',
  'old p99 ms',
  'new p99 ms',
  'old errors %',
  'new errors %',
  'pending',
  'parked',
] as const;
const col = (name: (typeof COLUMNS)[number]): number => COLUMNS.indexOf(name) + 1;

/** The charts the page draws, top to bottom, and the element each goes into. */
export const CHARTS: readonly Omit<ChartSpec, 'x'>[] = [
  { id: 'chart-phases', height: 70, series: [] },
  {
    id: 'chart-shadow',
    height: 160,
    series: [
      { column: col('mismatch %'), label: 'shadow mismatches %', stroke: '#d9534f' },
      { column: col('limit %'), label: 'gate limit %', stroke: '#9aa5b1' },
    ],
  },
  {
    id: 'chart-backfill',
    height: 140,
    series: [{ column: col('rows/s'), label: 'backfill rows/s', stroke: '#4c9be8' }],
  },
  {
    id: 'chart-latency',
    height: 160,
    series: [
      { column: col('old p99 ms'), label: 'old p99 ms', stroke: '#f5a623' },
      { column: col('new p99 ms'), label: 'new p99 ms', stroke: '#b36ae2' },
    ],
  },
  {
    id: 'chart-errors',
    height: 140,
    series: [
      { column: col('old errors %'), label: 'old errors %', stroke: '#e8744c' },
      { column: col('new errors %'), label: 'new errors %', stroke: '#d9534f' },
    ],
  },
  {
    id: 'chart-repairs',
    height: 140,
    series: [
      { column: col('pending'), label: 'repairs pending', stroke: '#3fb5a3' },
      { column: col('parked'), label: 'parked', stroke: '#d9480f' },
    ],
  },
];

const pct = (share: number | undefined): number | null => (share === undefined ? null : Math.round(share * 1e6) / 1e4);

function periods(samples: readonly Sample[], end: number): ChartData['periods'] {
  const out: { phase: string; from: number; to: number; color: string }[] = [];
  for (const s of samples) {
    const at = s.at / 1000;
    const last = out.at(-1);
    if (last && last.phase === s.phase) continue;
    if (last) last.to = at;
    out.push({ phase: s.phase, from: at, to: end, color: phaseColor(s.phase) });
  }
  return out;
}

function marks(audit: readonly AuditView[], min: number, max: number): ChartData['marks'] {
  return audit
    .map((e) => ({ e, at: Date.parse(e.at) / 1000 }))
    .filter(({ e, at }) => at >= min && at <= max && e.action in MARK_COLORS)
    .reverse()
    .map(({ e, at }) => ({
      at,
      kind: e.action,
      label: `${e.action} → ${e.to}`,
      color: MARK_COLORS[e.action] ?? '#6c757d',
    }));
}

/** The samples as the charts take them. */
export function chartData(samples: readonly Sample[], view: MigrationView): ChartData {
  const time = samples.map((s) => s.at / 1000);
  const min = time[0] ?? Date.now() / 1000;
  const max = Math.max(time.at(-1) ?? min, min + 1);
  const columns: (number | null)[][] = [
    time,
    samples.map((s) => pct(s.mismatchRate)),
    samples.map(() => pct(view.shadow.maxRate)),
    samples.map((s) => s.backfillRowsPerSecond),
    samples.map((s) => s.old?.p99Ms ?? null),
    samples.map((s) => s.new?.p99Ms ?? null),
    samples.map((s) => pct(s.old?.errorRate)),
    samples.map((s) => pct(s.new?.errorRate)),
    samples.map((s) => s.repairQueue),
    samples.map((s) => s.parked),
  ];
  return {
    axis: { min, max },
    time: true,
    charts: CHARTS.map((c) => ({ ...c, x: [min, max] as const })),
    periods: periods(samples, max),
    marks: marks(view.audit, min, max),
    columns,
  };
}
