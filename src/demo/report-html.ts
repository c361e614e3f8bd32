import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DemoResult } from './demo-types.js';
import { percentile, type OpSample } from './load.js';

const BUCKET_MS = 250;
const COLORS = ['#9aa5b1', '#4c9be8', '#7bc96f', '#f5a623', '#e8744c', '#b36ae2', '#3fb5a3', '#d9534f', '#6c757d'];

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

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

/** Contiguous runs of one phase, from the clients' own view. */
function phaseRuns(samples: readonly OpSample[]): { phase: string; from: number; to: number }[] {
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const runs: { phase: string; from: number; to: number }[] = [];
  for (const s of sorted) {
    const last = runs.at(-1);
    if (last && last.phase === s.phase) last.to = s.at;
    else runs.push({ phase: s.phase, from: s.at, to: s.at });
  }
  return runs;
}

/**
 * A self-contained HTML page (uPlot inlined): the summary, the phase
 * timeline, throughput and latency charts, latency per phase and the event
 * timeline. Keys and counts only — no row values.
 */
export function demoReportHtml(result: Omit<DemoResult, 'reportPath'>, samples: readonly OpSample[]): string {
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  const runs = phaseRuns(samples);
  const total = Math.max(1, result.durationMs);
  const phaseNames = [...new Set(runs.map((r) => r.phase))];
  const colorOf = (p: string): string => COLORS[phaseNames.indexOf(p) % COLORS.length] ?? '#999';
  const strip = runs
    .map(
      (r) =>
        `<div class="seg" title="${escape(r.phase)}" style="left:${((r.from / total) * 100).toFixed(3)}%;width:${(((r.to - r.from) / total) * 100).toFixed(3)}%;background:${colorOf(r.phase)}"></div>`,
    )
    .join('');
  const legend = phaseNames.map((p) => `<span><i style="background:${colorOf(p)}"></i>${escape(p)}</span>`).join(' ');
  const rows = result.phases
    .map(
      (p) =>
        `<tr><td>${escape(p.phase)}</td><td>${p.ops}</td><td>${p.errors}</td><td>${p.p50Ms}</td><td>${p.p99Ms}</td></tr>`,
    )
    .join('');
  const events = result.timeline
    .map((e) => `<tr><td>${(e.atMs / 1000).toFixed(1)} s</td><td>${escape(e.event)}</td></tr>`)
    .join('');
  const v = result.verification;
  const verdict = result.ok ? '<b class="ok">OK</b>' : '<b class="bad">FAILED</b>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>midair demo report</title>
<style>${uplotCss}
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#1f2933}
h1{font-size:1.5em} table{border-collapse:collapse;margin:.5em 0 1.5em} td,th{padding:.2em .8em;border-bottom:1px solid #e4e7eb;text-align:left}
.ok{color:#2f9e44}.bad{color:#d9480f}.strip{position:relative;height:28px;background:#f1f3f5;margin:.5em 0}.seg{position:absolute;top:0;bottom:0}
.legend span{margin-right:1em;white-space:nowrap}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
.figures{display:flex;gap:2em;flex-wrap:wrap}.figures div{font-size:1.1em}.figures b{display:block;font-size:1.6em}
</style></head><body>
<h1>midair demo: a live migration, SQLite users → users + user_profiles</h1>
<p>${verdict} — ${result.rows} users, ${result.instances} application instances, ${(result.durationMs / 1000).toFixed(1)} s.</p>
<div class="figures">
<div><b>${result.ops}</b>operations served</div><div><b>${result.clientErrors}</b>client-visible errors</div>
<div><b>${result.lostWrites}</b>lost writes</div><div><b>${result.halts}</b>auto-halt(s)</div>
<div><b>${escape(v.status)}</b>final verification (${v.matched} matched)</div></div>
<h2>Phases</h2><div class="strip">${strip}</div><div class="legend">${legend}</div>
<h2>Throughput (operations/s)</h2><div id="ops"></div>
<h2>Latency (ms)</h2><div id="lat"></div>
<h2>Latency per phase</h2>
<table><tr><th>phase</th><th>operations</th><th>errors</th><th>p50 ms</th><th>p99 ms</th></tr>${rows}</table>
<h2>Timeline</h2><table>${events}</table>
<script>${uplotJs}</script>
<script>
const d = ${JSON.stringify(series(samples))};
const w = Math.min(960, document.body.clientWidth);
new uPlot({ width: w, height: 220, scales: { x: { time: false } }, axes: [{ label: 's' }, {}], series: [{ label: 's' }, { label: 'ops/s', stroke: '#4c9be8', fill: 'rgba(76,155,232,.15)' }, { label: 'errors', stroke: '#d9534f' }] }, [d[0], d[1], d[4]], document.getElementById('ops'));
new uPlot({ width: w, height: 220, scales: { x: { time: false } }, axes: [{ label: 's' }, {}], series: [{ label: 's' }, { label: 'p50 ms', stroke: '#7bc96f' }, { label: 'p99 ms', stroke: '#e8744c' }] }, [d[0], d[2], d[3]], document.getElementById('lat'));
</script></body></html>
`;
}
