// The report's charts: one time axis for all of them, the phase band across each, and the marks on each.
import type { DemoMark, DemoResult } from './demo-types.js';
import { percentile, type OpSample } from './load.js';

const BUCKET_MS = 250;
const COLORS = ['#9aa5b1', '#4c9be8', '#7bc96f', '#f5a623', '#e8744c', '#b36ae2', '#3fb5a3', '#d9534f', '#6c757d'];
const MARK_COLORS: Record<DemoMark['kind'], string> = {
  'fault-burst-start': '#d9480f',
  'fault-burst-end': '#d9480f',
  'auto-halt': '#e67700',
  cutover: '#2f9e44',
};

/** What the page's script draws: the one x range every chart takes, the phase band, the marks and the series. */
export interface ChartData {
  /** Seconds since the demo began: the x range of every chart. */
  readonly axis: { readonly min: number; readonly max: number };
  readonly charts: readonly {
    readonly id: string;
    readonly x: readonly [number, number];
    readonly height: number;
    /** Indexes into `columns` after the time column, with their labels and colours. */
    readonly series: readonly { readonly column: number; readonly label: string; readonly stroke: string }[];
  }[];
  readonly periods: readonly {
    readonly phase: string;
    readonly from: number;
    readonly to: number;
    readonly color: string;
  }[];
  readonly marks: readonly {
    readonly at: number;
    readonly kind: DemoMark['kind'];
    readonly label: string;
    readonly color: string;
  }[];
  /** Time (s), operations/s, p50 ms, p99 ms, errors — per 250 ms. */
  readonly columns: readonly (readonly number[])[];
}

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

/**
 * The page's script: one uPlot chart per entry of `charts`, every one with
 * the same x range, y axes of one width (so the plot areas line up), the
 * phase band painted behind the series and each mark a labelled vertical line.
 */
export const CHART_SCRIPT = `
const D = JSON.parse(document.getElementById('chart-data').textContent);
const width = Math.min(960, document.body.clientWidth);
function band(u) {
  const { ctx, bbox } = u;
  for (const p of D.periods) {
    const x0 = u.valToPos(p.from, 'x', true), x1 = u.valToPos(p.to, 'x', true);
    ctx.fillStyle = p.color + '2e';
    ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    ctx.fillStyle = p.color;
    ctx.fillRect(x0, bbox.top, x1 - x0, 6 * devicePixelRatio);
  }
}
function marks(u) {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.font = (11 * devicePixelRatio) + 'px system-ui, sans-serif';
  D.marks.forEach((m, i) => {
    const x = Math.round(u.valToPos(m.at, 'x', true));
    ctx.strokeStyle = m.color; ctx.fillStyle = m.color;
    ctx.setLineDash([5 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.lineWidth = devicePixelRatio;
    ctx.beginPath(); ctx.moveTo(x, bbox.top); ctx.lineTo(x, bbox.top + bbox.height); ctx.stroke();
    ctx.fillText(m.label, x + 3 * devicePixelRatio, bbox.top + (18 + 13 * (i % 4)) * devicePixelRatio);
  });
  ctx.restore();
}
for (const c of D.charts) {
  // The band alone: an empty series, so the chart has a y scale and its axis the others' width.
  const lines = c.series.length ? c.series : [{ label: '', stroke: 'transparent', column: -1 }];
  const series = [{ label: 's' }, ...lines.map((s) => ({ label: s.label, stroke: s.stroke }))];
  const data = [D.columns[0], ...lines.map((s) => D.columns[s.column] ?? D.columns[0].map(() => 0))];
  const blank = c.series.length === 0;
  new uPlot({
    width, height: c.height, legend: { show: !blank },
    scales: { x: { time: false, range: c.x }, y: blank ? { range: [0, 1] } : {} },
    axes: [{ label: 's' }, blank ? { size: 56, values: (u, v) => v.map(() => ''), grid: { show: false }, ticks: { show: false } } : { size: 56 }],
    series, hooks: { drawClear: [band], draw: [marks] },
  }, data, document.getElementById(c.id));
}
`;
