import { Counter, Gauge, type Registry } from 'prom-client';
import { MidairError } from '../core/errors.js';
import type { MigrationMetrics } from '../migration/metrics-port.js';
import { FIGURES, type FigureName, type FigureSpec, type Sample } from '../metrics/catalogue.js';
import { MetricsHub, type ExporterOptions } from '../metrics/hub.js';
import { TalliedHistogram } from './tallied-histogram.js';

export interface PrometheusMetricsOptions extends ExporterOptions {
  /** The registry your `/metrics` endpoint serves (`new Registry()`, or `register` if you mean the global one). */
  readonly registry: Registry;
}

/** An exporter on one registry: pass it to every migration (`defineMigration({ metrics })`) and to `attach`. */
export interface PrometheusMetrics extends MigrationMetrics {
  readonly registry: Registry;
}

/** Registries an exporter was made on (one per registry: its metric names are taken once). */
const taken = new WeakSet<object>();

function isRegistry(value: unknown): value is Registry {
  const r = value as Partial<Registry> | undefined;
  return typeof r?.registerMetric === 'function' && typeof r.getSingleMetric === 'function';
}

function checkRegistry(registry: unknown): asserts registry is Registry {
  if (!isRegistry(registry))
    throw new MidairError(
      'INVALID_ARGUMENT',
      "prometheusMetrics: `registry` must be a prom-client Registry (import { Registry } from 'prom-client'; prometheusMetrics({ registry: new Registry() }))",
    );
  if (taken.has(registry))
    throw new MidairError(
      'CONFLICT',
      'prometheusMetrics was called twice on the same registry: call it once and pass what it returns to every migration (defineMigration({ metrics }))',
    );
  const clash = Object.values(FIGURES).find((f) => registry.getSingleMetric(f.prometheus) !== undefined);
  if (clash)
    throw new MidairError(
      'CONFLICT',
      `prometheusMetrics: the registry holds a metric named ${clash.prometheus} already (another copy of midair, loaded both as an ES module and through require, or one of your own): take midair one way per process, or give midair a registry of its own`,
    );
}

/** Replaces a metric's values with `samples` (its labels `migration` first, as the figure lists them). */
function setAll(metric: Counter | Gauge, samples: readonly Sample[]): void {
  metric.reset();
  for (const s of samples) {
    if (metric instanceof Counter) metric.inc(s.labels, s.value);
    else metric.set(s.labels, s.value);
  }
}

function register(registry: Registry, hub: MetricsHub, figure: FigureName, spec: FigureSpec): void {
  const base = { name: spec.prometheus, help: spec.help, labelNames: spec.labels, registers: [registry] };
  if (spec.kind === 'histogram') {
    new TalliedHistogram({ ...base, buckets: [...hub.buckets] }, () => hub.durations());
    return;
  }
  const collect =
    spec.source === 'events'
      ? function (this: Counter | Gauge): void {
          setAll(this, hub.eventSamples(figure));
        }
      : async function (this: Counter | Gauge): Promise<void> {
          const samples = await hub.controlSamples();
          setAll(this, samples.get(figure) ?? []);
        };
  if (spec.kind === 'counter') new Counter({ ...base, collect });
  else new Gauge({ ...base, collect });
}

/**
 * Exports midair's figures on a prom-client registry the application passes
 * in (never the global default unless you pass it): store calls by side,
 * operation and result with their latency, second-write failures, repairs,
 * shadow comparisons — counted as this process's migrations go — and, read
 * from the control store at scrape time, the phase and its version, the
 * fleet, the repair queue and parked repairs, dead letters, backfill
 * progress, the last verification and the gates. Every name and label is in
 * docs/metrics.md; no label holds a key or a value.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { prometheusMetrics } from 'midair/prometheus';
 *
 * const registry = new Registry();
 * const metrics = prometheusMetrics({ registry });
 * const migration = defineMigration({ name: 'users', old, new: neu, control, metrics });
 * // GET /metrics → await registry.metrics()
 * ```
 */
export function prometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const registry: unknown = (options as Partial<PrometheusMetricsOptions> | undefined)?.registry;
  checkRegistry(registry);
  const hub = new MetricsHub(options, 'prometheusMetrics');
  const exportControl = options.control ?? true;
  for (const [figure, spec] of Object.entries(FIGURES) as [FigureName, FigureSpec][])
    if (spec.source === 'events' || exportControl) register(registry, hub, figure, spec);
  taken.add(registry);
  return { registry, attach: (source) => hub.attach(source) };
}
