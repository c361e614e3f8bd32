import type { ControlStore } from '../control/control-store.js';
import type { GateThresholds } from './gates.js';
import type { MigrationEventName, MigrationEvents } from './events.js';

/**
 * What a metrics exporter is given of one migration: its name, the control
 * store its fleet-wide figures are read from, and — from a running
 * migration — its events. A process that holds only a control store (a
 * dashboard, a worker) passes no `on` and exports the control store's figures
 * alone. `control` is read each time the figures are, so a getter may hand
 * over a control store that is replaced later.
 *
 * @example
 * ```ts
 * // A dashboard process: the fleet-wide figures of migration `users`, with no Migration instance.
 * const detach = metrics.attach({ migration: 'users', control });
 * ```
 */
export interface MetricsSource {
  readonly migration: string;
  readonly control: ControlStore;
  /** An instance whose heartbeat is older than this is out of the fleet. Default 10 000 ms (the migration's default). */
  readonly instanceExpiryMs?: number;
  /** The thresholds the gates are checked with (default: the gates' own defaults). */
  readonly thresholds?: GateThresholds;
  /** The migration's events (its `on` method); absent where only the control store is read. */
  readonly on?: <N extends MigrationEventName>(name: N, listener: (payload: MigrationEvents[N]) => void) => () => void;
}

/**
 * A metrics exporter (`prometheusMetrics` from `midair/prometheus`,
 * `openTelemetryMetrics` from `midair/opentelemetry`). `defineMigration({
 * metrics })` attaches the migration to it and detaches it on `close()`; one
 * exporter takes any number of migrations.
 */
export interface MigrationMetrics {
  /** Starts exporting one migration's figures; the function returned stops it (its control-store figures are no longer read). */
  attach(source: MetricsSource): () => void;
}
