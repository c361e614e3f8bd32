/**
 * midair/prometheus — midair's figures on a prom-client registry you pass in.
 * prom-client is an optional peer dependency: install it beside midair.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { prometheusMetrics } from 'midair/prometheus';
 *
 * const registry = new Registry();
 * const metrics = prometheusMetrics({ registry });
 * const migration = defineMigration({ name: 'users', old, new: neu, control, metrics });
 * // A process without a Migration (a dashboard): the control store's figures of `users`.
 * metrics.attach({ migration: 'users', control });
 * ```
 */
export { prometheusMetrics } from './prometheus-metrics.js';
export type { PrometheusMetrics, PrometheusMetricsOptions } from './prometheus-metrics.js';
export type { ExporterOptions } from '../metrics/hub.js';
export type { MetricsSource, MigrationMetrics } from '../migration/metrics-port.js';
