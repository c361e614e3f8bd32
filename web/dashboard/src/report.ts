// The charts of a page that stands alone (the demo's report): built into one script, uPlot inside, that draws the
// ChartData of the page's `chart-data` element into the elements it names.
import type { ChartData } from '../../../src/dashboard/chart-types.js';
import { drawCharts } from './charts.js';

const source = document.getElementById('chart-data');
if (source?.textContent) {
  const data = JSON.parse(source.textContent) as ChartData;
  drawCharts(data, (id) => document.getElementById(id), Math.min(960, document.body.clientWidth));
}
