import { readFileSync } from 'node:fs';
import { needBuilt, REPORT_CHARTS } from '../dashboard/built.js';
import type { DemoResult } from './demo-types.js';
import type { OpSample } from './load.js';
import { chartData, phaseColors } from './report-charts.js';

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside a script element: `<` escaped, so no string in it can close the element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c');
const pct = (share: number): string => `${Math.round(share * 100)} %`;

/** Phases with their operations, errors, latency and slowest second against the baseline. */
function phaseRows(result: Omit<DemoResult, 'reportPath'>): string {
  const byPhase = new Map(result.throughput.phases.map((p) => [p.phase, p]));
  return result.phases
    .map((p) => {
      const t = byPhase.get(p.phase);
      const slowest = t
        ? `<td>${t.minOpsPerSecond}</td><td class="${t.ok ? 'ok' : 'bad'}">${pct(t.shareOfBaseline)}</td>`
        : '<td>–</td><td>–</td>';
      return `<tr><td>${escape(p.phase)}</td><td>${p.ops}</td><td>${p.errors}</td><td>${p.p50Ms}</td><td>${p.p99Ms}</td>${slowest}</tr>`;
    })
    .join('');
}

function summary(result: Omit<DemoResult, 'reportPath'>): string {
  const v = result.verification;
  const t = result.throughput;
  const slowest = Math.min(...t.phases.map((p) => p.minOpsPerSecond));
  return `<div class="figures">
<div><b>${result.ops}</b>operations served</div><div><b>${result.clientErrors}</b>client-visible errors</div>
<div><b>${result.lostWrites}</b>lost writes</div><div><b>${result.halts}</b>auto-halt(s)</div>
<div><b class="${t.ok ? 'ok' : 'bad'}">${slowest}</b>ops in the slowest second of any phase (old-only's slowest: ${t.baselineOpsPerSecond}; floor ${pct(t.floorShare)} of it)</div>
<div><b>${escape(v.status)}</b>final verification (${v.matched} matched)</div></div>`;
}

/**
 * A self-contained HTML page (the dashboard's charts inlined, uPlot inside): the summary, then the phase
 * band, throughput and latency charts on one time axis — the phase band
 * behind each, the fault burst, the auto-halt and the cutover marked on
 * each — latency and throughput per phase, the jobs and the event timeline.
 * Keys and counts only — no row values.
 */
export function demoReportHtml(result: Omit<DemoResult, 'reportPath'>, samples: readonly OpSample[]): string {
  // `</` in the inlined files would end their element early: escaped, it means the same to the script and the styles.
  const inline = (file: string): string =>
    readFileSync(needBuilt(file, 'the charts of the demo’s report'), 'utf8').replace(/<\//g, '<\\/');
  const chartsJs = inline(REPORT_CHARTS.script);
  const chartsCss = inline(REPORT_CHARTS.style);
  const colorOf = phaseColors(result);
  const phaseNames = [...new Set(result.throughput.periods.map((p) => p.phase))];
  const legend = phaseNames.map((p) => `<span><i style="background:${colorOf(p)}"></i>${escape(p)}</span>`).join(' ');
  const marks = result.marks.map((m) => `<li>${(m.atMs / 1000).toFixed(1)} s — ${escape(m.label)}</li>`).join('');
  const jobs = result.jobs
    .map(
      (j) =>
        `<tr><td>${escape(j.job)}</td><td>${(j.fromMs / 1000).toFixed(1)} – ${(j.toMs / 1000).toFixed(1)} s</td><td>${j.minOpsPerSecond}</td></tr>`,
    )
    .join('');
  const events = result.timeline
    .map((e) => `<tr><td>${(e.atMs / 1000).toFixed(1)} s</td><td>${escape(e.event)}</td></tr>`)
    .join('');
  const verdict = result.ok ? '<b class="ok">OK</b>' : '<b class="bad">FAILED</b>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>midair demo report</title>
<style>${chartsCss}
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#1f2933}
h1{font-size:1.5em} table{border-collapse:collapse;margin:.5em 0 1.5em} td,th{padding:.2em .8em;border-bottom:1px solid #e4e7eb;text-align:left}
.ok{color:#2f9e44}.bad{color:#d9480f}
.legend span{margin-right:1em;white-space:nowrap}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
.figures{display:flex;gap:2em;flex-wrap:wrap}.figures div{font-size:1.1em;max-width:14em}.figures b{display:block;font-size:1.6em}
</style></head><body>
<h1>midair demo: a live migration, SQLite users → users + user_profiles</h1>
<p>${verdict} — ${result.rows} users, ${result.instances} application instances, ${(result.durationMs / 1000).toFixed(1)} s.</p>
${summary(result)}
<p>The charts share one time axis (seconds since the demo began); the phase band runs behind each, and the dashed lines mark the fault burst, the auto-halt and the cutover.</p>
<h2>Phases</h2><div class="legend">${legend}</div><div id="phases"></div>
<h2>Throughput (operations/s)</h2><div id="ops"></div>
<h2>Latency (ms)</h2><div id="lat"></div>
<h2>Marks</h2><ul class="marks">${marks}</ul>
<h2>Per phase</h2>
<table><tr><th>phase</th><th>operations</th><th>errors</th><th>p50 ms</th><th>p99 ms</th><th>slowest second (ops)</th><th>of old-only</th></tr>${phaseRows(result)}</table>
<h2>Jobs on their own thread</h2>
<table><tr><th>job</th><th>ran</th><th>slowest second served meanwhile (ops)</th></tr>${jobs}</table>
<h2>Timeline</h2><table>${events}</table>
<script type="application/json" id="chart-data">${scriptJson(chartData(result, samples))}</script>
<script>${chartsJs}</script></body></html>
`;
}
