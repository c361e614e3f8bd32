// The charts of the dashboard's page and of the demo's report: one uPlot chart per entry of `charts`, every one
// with the same x range, y axes of one width (so the plot areas line up), the phase band painted behind the series,
// each mark a labelled vertical line, and the cursor shared between them.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartData, ChartSpec } from '../../../src/dashboard/chart-types.js';

export interface ChartSet {
  /** Draws new data: the same charts redraw in place; another set of charts is built anew. */
  update(data: ChartData): void;
  resize(width: number): void;
  destroy(): void;
}

const AXIS_SIZE = 56;

/** The phase band: each period's colour behind the plot, and a strip of it along the top. */
function band(data: () => ChartData): (u: uPlot) => void {
  return (u) => {
    const { ctx, bbox } = u;
    for (const p of data().periods) {
      const x0 = u.valToPos(p.from, 'x', true);
      const x1 = u.valToPos(p.to, 'x', true);
      ctx.fillStyle = `${p.color}2e`;
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
      ctx.fillStyle = p.color;
      ctx.fillRect(x0, bbox.top, x1 - x0, 6 * devicePixelRatio);
    }
  };
}

/** The marks: a dashed line across the plot and its label. */
function marks(data: () => ChartData): (u: uPlot) => void {
  return (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    data().marks.forEach((m, i) => {
      const x = Math.round(u.valToPos(m.at, 'x', true));
      ctx.strokeStyle = m.color;
      ctx.fillStyle = m.color;
      ctx.setLineDash([5 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.lineWidth = devicePixelRatio;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.fillText(m.label, x + 3 * devicePixelRatio, bbox.top + (18 + 13 * (i % 4)) * devicePixelRatio);
    });
    ctx.restore();
  };
}

/** A chart's columns: the time column, then its series' (a band-only chart gets one empty series for its y scale). */
function columnsOf(d: ChartData, c: ChartSpec): uPlot.AlignedData {
  const time = (d.columns[0] ?? []) as number[];
  if (c.series.length === 0) return [time, time.map(() => 0)];
  return [time, ...c.series.map((s) => (d.columns[s.column] ?? time.map(() => null)) as (number | null)[])];
}

function chart(data: () => ChartData, c: ChartSpec, width: number, el: HTMLElement): uPlot {
  const blank = c.series.length === 0;
  const lines = blank ? [{ label: '', stroke: 'transparent' }] : c.series;
  const d = data();
  return new uPlot(
    {
      width,
      height: c.height,
      legend: { show: !blank },
      cursor: { sync: { key: 'midair' } },
      scales: {
        x: { time: d.time === true, range: () => [data().axis.min, data().axis.max] },
        // Every figure charted is 0 or more: from 0, and a range even before the first value (the axes keep one width).
        y: blank
          ? { range: [0, 1] }
          : { range: (_u, _min, max) => [0, Number.isFinite(max) && max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        d.time ? {} : { label: 's' },
        blank
          ? { size: AXIS_SIZE, values: (_u, v) => v.map(() => ''), grid: { show: false }, ticks: { show: false } }
          : { size: AXIS_SIZE },
      ],
      series: [{ label: d.time ? 'time' : 's' }, ...lines.map((s) => ({ label: s.label, stroke: s.stroke }))],
      hooks: { drawClear: [band(data)], draw: [marks(data)] },
    },
    columnsOf(d, c),
    el,
  );
}

/** The charts' shape: which charts, with which series (a change rebuilds them). */
const shapeOf = (d: ChartData): string => JSON.stringify(d.charts.map((c) => [c.id, c.height, c.series]));

/** Draws `data`'s charts, each into the element `mount(id)` gives (a chart without one is left out). */
export function drawCharts(data: ChartData, mount: (id: string) => HTMLElement | null, width: number): ChartSet {
  let current = data;
  let plots: { spec: ChartSpec; plot: uPlot }[] = [];
  let shape = '';
  let w = width;
  const build = (): void => {
    for (const p of plots) p.plot.destroy();
    plots = [];
    for (const spec of current.charts) {
      const el = mount(spec.id);
      if (el) plots.push({ spec, plot: chart(() => current, spec, w, el) });
    }
    shape = shapeOf(current);
  };
  build();
  return {
    update(next) {
      current = next;
      if (shapeOf(next) !== shape) return build();
      for (const p of plots) p.plot.setData(columnsOf(next, p.spec));
    },
    resize(next) {
      w = next;
      for (const p of plots) p.plot.setSize({ width: w, height: p.spec.height });
    },
    destroy() {
      for (const p of plots) p.plot.destroy();
      plots = [];
    },
  };
}
