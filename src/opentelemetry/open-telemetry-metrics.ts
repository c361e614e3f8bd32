import type { Attributes, BatchObservableResult, Histogram, Meter, Observable } from '@opentelemetry/api';
import { MidairError } from '../core/errors.js';
import type { StoreCall } from '../migration/events.js';
import type { MigrationMetrics } from '../migration/metrics-port.js';
import { FIGURES, type FigureName, type FigureSpec } from '../metrics/catalogue.js';
import { MetricsHub, type ExporterOptions } from '../metrics/hub.js';
import { opLabel } from '../metrics/labels.js';

export interface OpenTelemetryMetricsOptions extends ExporterOptions {
  /** A meter from your SDK's meter provider (`metrics.getMeter('midair')`). */
  readonly meter: Meter;
}

/** An exporter on one meter: pass it to every migration (`defineMigration({ metrics })`) and to `attach`. */
export interface OpenTelemetryMetrics extends MigrationMetrics {
  readonly meter: Meter;
}

/** Meters an exporter was made on (one per meter: its instruments are created once). */
const taken = new WeakSet<object>();

function checkMeter(meter: unknown): asserts meter is Meter {
  const m = meter as Partial<Meter> | undefined;
  if (
    typeof m?.createHistogram !== 'function' ||
    typeof m.createObservableCounter !== 'function' ||
    typeof m.addBatchObservableCallback !== 'function'
  )
    throw new MidairError(
      'INVALID_ARGUMENT',
      "openTelemetryMetrics: `meter` must be an OpenTelemetry Meter (import { metrics } from '@opentelemetry/api'; openTelemetryMetrics({ meter: metrics.getMeter('midair') }))",
    );
  if (taken.has(m))
    throw new MidairError(
      'CONFLICT',
      'openTelemetryMetrics was called twice on the same meter: call it once and pass what it returns to every migration (defineMigration({ metrics }))',
    );
}

/** Records each store call's time in the histogram, with attribute sets made once per side and operation. */
function durationRecorder(histogram: Histogram, migration: string): (call: StoreCall) => void {
  const attributes = { old: new Map<string, Attributes>(), new: new Map<string, Attributes>() };
  return (call) => {
    const bySide = attributes[call.side];
    let a = bySide.get(call.op);
    if (!a) {
      const op = opLabel(call.op);
      a = bySide.get(op) ?? Object.freeze({ migration, side: call.side, op });
      bySide.set(op, a);
    }
    histogram.record(call.ms / 1000, a);
  };
}

/**
 * Exports midair's figures through an OpenTelemetry meter: the same figures
 * as `midair/prometheus`, under OpenTelemetry names (`midair.store.calls`,
 * `midair.store.call.duration` in seconds, …; docs/metrics.md lists them
 * with their Prometheus names). Only `@opentelemetry/api` is used (types
 * only: the meter is yours), so no SDK comes with midair. Counts and the
 * control store's figures are observed when the SDK collects; store-call
 * times are recorded as calls end, in a histogram with buckets from 0.1 ms
 * to 10 s.
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { openTelemetryMetrics } from 'midair/opentelemetry';
 *
 * const exporter = openTelemetryMetrics({ meter: metrics.getMeter('midair') });
 * const migration = defineMigration({ name: 'users', old, new: neu, control, metrics: exporter });
 * ```
 */
export function openTelemetryMetrics(options: OpenTelemetryMetricsOptions): OpenTelemetryMetrics {
  const meter: unknown = (options as Partial<OpenTelemetryMetricsOptions> | undefined)?.meter;
  checkMeter(meter);
  const hub = new MetricsHub(options, 'openTelemetryMetrics');
  const exportControl = options.control ?? true;
  const durations = meter.createHistogram(FIGURES.storeCallDuration.otel, {
    description: FIGURES.storeCallDuration.help,
    unit: FIGURES.storeCallDuration.unit,
    advice: { explicitBucketBoundaries: [...hub.buckets] },
  });
  const observed: [FigureName, FigureSpec, Observable][] = [];
  for (const [figure, spec] of Object.entries(FIGURES) as [FigureName, FigureSpec][]) {
    if (spec.kind === 'histogram' || (spec.source === 'control' && !exportControl)) continue;
    const o = { description: spec.help, unit: spec.unit };
    observed.push([
      figure,
      spec,
      spec.kind === 'counter' ? meter.createObservableCounter(spec.otel, o) : meter.createObservableGauge(spec.otel, o),
    ]);
  }
  meter.addBatchObservableCallback(
    async (result: BatchObservableResult) => {
      const control = exportControl ? await hub.controlSamples() : undefined;
      for (const [figure, spec, instrument] of observed) {
        const samples = spec.source === 'events' ? hub.eventSamples(figure) : (control?.get(figure) ?? []);
        for (const s of samples) result.observe(instrument, s.value, s.labels);
      }
    },
    observed.map(([, , instrument]) => instrument),
  );
  taken.add(meter);
  return {
    meter,
    attach: (source) => {
      const detach = hub.attach(source);
      const stop = source.on?.('store-call', durationRecorder(durations, source.migration));
      return () => {
        stop?.();
        detach();
      };
    },
  };
}
