// The report's charts: one time axis for all of them, the phase band across each, and the marks on each. They are
// drawn by the dashboard's chart module (web/dashboard/src/charts.ts), built into one script the report inlines.
import type { ChartData } from '../dashboard/chart-types.js';
import type { DemoMark, DemoResult } from './demo-types.js';
import { percentile, type OpSample } from './load.js';

const BUCKET_MS = 250;
const COLORS = ['#9aa5b1', '#4c9be8', '#7bc96f', '#f5a623', '#e8744c', '#b36ae2', '#3fb5a3', '#d9534f', '#6c757d'];
export type { ChartData };

const MARK_COLORS: Record<DemoMark['kind'], string> = {
  'fault-burst-start': '#d9480f',
  'fault-burst-end': '#d9480f',
  'auto-halt': '#e67700',
  cutover: '#2f9e44',
};

/** Per 250 ms: time (s), operations per second, p50 and p99 latency (ms), errors. */
function series(samples: readonly OpSample[]): number[][] {
  const buckets = new Map<number, OpSample[]>();
  for (const s of samples) {
    const b = Math.floor(s.at / BUCKET_MS);
    const list = buckets.get(b) ?? [];
    list.push(s);
    buckets.set(b, list);
  }
  const last = Math.max(0, ...buckets.keys());
  const cols: number[][] = [[], [], [], [], []];
  for (let b = 0; b <= last; b++) {
    const list = buckets.get(b) ?? [];
    const ms = list.map((s) => s.ms);
    cols[0]?.push((b * BUCKET_MS) / 1000);
    cols[1]?.push(list.length * (1000 / BUCKET_MS));
    cols[2]?.push(Math.round(percentile(ms, 50) * 100) / 100);
    cols[3]?.push(Math.round(percentile(ms, 99) * 100) / 100);
    cols[4]?.push(list.filter((s) => s.error).length);
  }
  return cols;
}

/** Each phase's colour, in the order the phases came. */
export function phaseColors(result: Pick<DemoResult, 'throughput'>): (phase: string) => string {
  const names = [...new Set(result.throughput.periods.map((p) => p.phase))];
  return (p) => COLORS[names.indexOf(p) % COLORS.length] ?? '#999';
}

export function chartData(
  result: Pick<DemoResult, 'durationMs' | 'throughput' | 'marks'>,
  samples: readonly OpSample[],
): ChartData {
  const s = (ms: number): number => Math.round(ms) / 1000;
  const axis = { min: 0, max: s(Math.max(1, result.durationMs)) };
  const x = [axis.min, axis.max] as const;
  const colorOf = phaseColors(result);
  return {
    axis,
    charts: [
      { id: 'phases', x, height: 90, series: [] },
      {
        id: 'ops',
        x,
        height: 220,
        series: [
          { column: 1, label: 'ops/s', stroke: '#4c9be8' },
          { column: 4, label: 'errors', stroke: '#d9534f' },
        ],
      },
      {
        id: 'lat',
        x,
        height: 220,
        series: [
          { column: 2, label: 'p50 ms', stroke: '#7bc96f' },
          { column: 3, label: 'p99 ms', stroke: '#e8744c' },
        ],
      },
    ],
    periods: result.throughput.periods.map((p) => ({
      phase: p.phase,
      from: s(p.fromMs),
      to: s(p.toMs),
      color: colorOf(p.phase),
    })),
    marks: result.marks.map((m) => ({ at: s(m.atMs), kind: m.kind, label: m.label, color: MARK_COLORS[m.kind] })),
    columns: series(samples),
  };
}
