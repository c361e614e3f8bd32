/**
 * midair/opentelemetry — midair's figures through an OpenTelemetry meter you
 * pass in. `@opentelemetry/api` is an optional peer dependency (and only its
 * types are used); the SDK and its exporters are your application's.
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
export { openTelemetryMetrics } from './open-telemetry-metrics.js';
export type { OpenTelemetryMetrics, OpenTelemetryMetricsOptions } from './open-telemetry-metrics.js';
export type { ExporterOptions } from '../metrics/hub.js';
export type { MetricsSource, MigrationMetrics } from '../migration/metrics-port.js';
