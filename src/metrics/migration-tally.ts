import type { MetricsSource } from '../migration/metrics-port.js';
import type { FigureName, HistogramSample, Sample } from './catalogue.js';
import { codeLabel, reasonLabel, REPAIR_RESULTS, SHADOW_RESULTS } from './labels.js';
import { CallTally, Counts, Counts2 } from './tally.js';

/**
 * What one process counted of one migration, from its events. Kept per
 * migration name for the life of the exporter: a migration closed and
 * defined again under the same name (or two instances of it in one
 * process) counts on in the same series, as counters must.
 */
export class MigrationTally {
  readonly calls: CallTally;
  readonly secondWriteFailures = new Counts2('side', 'code');
  readonly repairsEnqueued = new Counts('reason');
  readonly repairs = new Counts('result', REPAIR_RESULTS);
  readonly repairsParked = new Counts('code');
  readonly shadowComparisons = new Counts('result', SHADOW_RESULTS);
  readonly lazyCopies = new Counts();
  readonly halts = new Counts();
  readonly backgroundErrors = new Counts();
  phaseVersion: number | undefined;

  constructor(
    readonly migration: string,
    bounds: readonly number[],
  ) {
    this.calls = new CallTally(bounds);
  }

  /** Counts the source's events from now on; resolves the function that stops counting. */
  listen(source: MetricsSource): () => void {
    const on = source.on;
    if (!on) return () => undefined;
    const off = [
      on('store-call', (call) => this.calls.record(call)),
      on('second-write-failed', (e) => this.secondWriteFailures.inc(e.side, codeLabel(e.code))),
      on('repair-enqueued', (e) => this.repairsEnqueued.inc(reasonLabel(e.reason))),
      on('repaired', (e) => this.repairs.inc(e.result)),
      on('repair-parked', (e) => this.repairsParked.inc(codeLabel(e.code))),
      on('shadow-compared', (e) => this.shadowComparisons.inc(e.result)),
      on('lazy-copied', () => this.lazyCopies.inc()),
      on('halted', () => this.halts.inc()),
      on('error', () => this.backgroundErrors.inc()),
      on('phase-changed', (e) => (this.phaseVersion = e.to.version)),
    ];
    return () => {
      for (const f of off) f();
    };
  }

  /** The samples of one event figure (`undefined`: not one of the event figures counted here). */
  samples(figure: FigureName): Sample[] | undefined {
    const m = this.migration;
    switch (figure) {
      case 'storeCalls':
        return this.calls.calls(m);
      case 'secondWriteFailures':
        return this.secondWriteFailures.samples(m);
      case 'repairsEnqueued':
        return this.repairsEnqueued.samples(m);
      case 'repairs':
        return this.repairs.samples(m);
      case 'repairsParked':
        return this.repairsParked.samples(m);
      case 'shadowComparisons':
        return this.shadowComparisons.samples(m);
      case 'lazyCopies':
        return this.lazyCopies.samples(m);
      case 'halts':
        return this.halts.samples(m);
      case 'backgroundErrors':
        return this.backgroundErrors.samples(m);
      case 'instancePhaseVersion':
        return this.phaseVersion === undefined ? [] : [{ labels: { migration: m }, value: this.phaseVersion }];
      default:
        return undefined;
    }
  }

  durations(): HistogramSample[] {
    return this.calls.durations(this.migration);
  }
}
