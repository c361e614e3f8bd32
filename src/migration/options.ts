import { hostname, userInfo } from 'node:os';
import type { ControlStore, PhaseState } from '../control/control-store.js';
import { LEASE_FENCE_MARK } from '../core/fence-rules.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import type { GateThresholds } from './gates.js';
import type { MigrationMetrics } from './metrics-port.js';
import type { QueryDefs } from './repository-ports.js';
import type { RepairSettings } from './repairer.js';
import type { ShadowOptions } from './shadow.js';
import type { VerifyReport } from '../verify/verify-options.js';
import type { WebhookOptions, WebhookSettings } from '../hooks/webhook-types.js';
import type { MidairLogger } from './log-events.js';

export interface AutoHaltOptions {
  /** Window over which rates are measured. Default 60 s. */
  readonly windowMs?: number;
  /** Halt when the non-authoritative store fails more than this share of calls. Default 0.2. */
  readonly maxErrorRate?: number;
  /** Halt when more than this share of comparisons mismatch. Default 0.05. */
  readonly maxMismatchRate?: number;
  /** Calls (or comparisons) needed in the window before a rate counts. Default 50. */
  readonly minSamples?: number;
}

export interface MigrationOptions<K extends Key, E extends object> {
  readonly name: string;
  readonly old: Store<K, E>;
  readonly new: Store<K, E>;
  readonly control: ControlStore;
  /** This instance's id in the fleet; default host:pid:random. */
  readonly instanceId?: string;
  /** Who phase changes are attributed to in the audit log; default user@host. */
  readonly actor?: string;
  /** Deadline of each store call. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** How often an instance reads the phase and heartbeats. Default 250 ms (changes are seen within 1 s). */
  readonly pollMs?: number;
  /** An instance that has not heartbeaten for this long is out of the fleet. Default 10 000 ms. */
  readonly instanceExpiryMs?: number;
  /** How long a phase change waits for the fleet to acknowledge. Default 60 000 ms. */
  readonly ackTimeoutMs?: number;
  /** How long a write waits out a cutover freeze before failing with TIMEOUT. Default 30 000 ms. */
  readonly pauseTimeoutMs?: number;
  /**
   * Entering the cutover freeze is refused while more repairs than this are
   * queued (let the repairers catch up first), so the freeze stays short.
   * Default 1000.
   */
  readonly maxFreezeBacklog?: number;
  /**
   * How long the cutover may spend draining the repair queue while writes
   * are frozen; past it the cutover is abandoned (writes resume, nothing
   * fails) with the reason. Default a third of `pauseTimeoutMs`.
   */
  readonly freezeDrainMs?: number;
  /**
   * An intent, queued before the first of two writes, becomes due for a
   * repair after this long if the second write never confirmed it (the
   * process died in between). Speed only: the intent is durable from the
   * start. Default 5 × timeoutMs.
   */
  readonly intentDelayMs?: number;
  /**
   * A write whose outcome is unknown (it failed or timed out, and may still
   * commit) keeps its repair entry — re-synced each time the entry's claim
   * runs out — until its phase version is fenced out, or for this long at
   * most. Default 60 000 ms.
   */
  readonly lateLandingMs?: number;
  /** Copy an entity into new when a read misses there and finds it in old. */
  readonly lazy?: boolean;
  /** Keys always read from new during the ramp, whatever the percentage. */
  readonly rampAllow?: readonly K[];
  readonly shadow?: ShadowOptions<E>;
  /** `false` turns auto-halt off. */
  readonly autoHalt?: AutoHaltOptions | false;
  /** Run a repairer in this instance. Default true, every 500 ms. */
  readonly repair?: RepairSettings & { readonly enabled?: boolean; readonly intervalMs?: number };
  readonly queries?: QueryDefs<E>;
  /**
   * A pino-compatible logger (pino, or anything with its level methods):
   * every event is logged with its name, the migration, the instance, the
   * phase, and key ids, sides and codes — never a value or a credential.
   * Levels: `EVENT_LOG_LEVELS`.
   */
  readonly logger?: MidairLogger;
  /**
   * Receivers of phase changes, auto-halts, refused gates, verification
   * results and parked repairs, posted as signed JSON by the process that
   * made them happen. Delivery never holds up the migration.
   */
  readonly webhooks?: readonly WebhookOptions[];
  readonly webhookDelivery?: WebhookSettings;
  /**
   * Where this migration's figures are exported: `prometheusMetrics({ registry })`
   * (`midair/prometheus`), `openTelemetryMetrics({ meter })` (`midair/opentelemetry`),
   * or both. Attached now, detached by `close()`.
   */
  readonly metrics?: MigrationMetrics | readonly MigrationMetrics[];
}

export interface TransitionOptions {
  readonly reason: string;
  readonly actor?: string;
  /** Pass failing gates (with `gated`); the audit entry records it and which gates were passed. */
  readonly force?: boolean;
  /** Check the gates into the target phase first (see gates.ts); failing ones block unless `force`. */
  readonly gated?: GateThresholds | boolean;
}

/** Counters since the instance started. */
export interface MigrationStats {
  reads: number;
  writes: number;
  secondaryFailures: number;
  repairsEnqueued: number;
  repaired: number;
  comparisons: number;
  mismatches: number;
  comparisonsDropped: number;
  lazyCopies: number;
  halts: number;
}

/** The rollback's re-sync of old from new, when there was one. */
export type RollbackResult = PhaseState & { readonly resync?: VerifyReport };

/** The options with their defaults filled in (what every piece reads). */
export type Settings<K extends Key, E extends object> = Required<
  Pick<MigrationOptions<K, E>, 'timeoutMs' | 'pollMs' | 'instanceExpiryMs' | 'ackTimeoutMs' | 'pauseTimeoutMs'>
> &
  MigrationOptions<K, E>;

export function resolveOptions<K extends Key, E extends object>(options: MigrationOptions<K, E>): Settings<K, E> {
  if (!options.name)
    throw new MidairError(
      'INVALID_ARGUMENT',
      'defineMigration: `name` is required (it identifies the migration in the control store)',
    );
  if (options.name.includes(LEASE_FENCE_MARK))
    throw new MidairError(
      'INVALID_ARGUMENT',
      `defineMigration: the name "${options.name}" holds "${LEASE_FENCE_MARK}", which midair keeps for the fences of leased ranges; choose a name without it`,
    );
  const o = {
    timeoutMs: 2000,
    pollMs: 250,
    instanceExpiryMs: 10_000,
    ackTimeoutMs: 60_000,
    pauseTimeoutMs: 30_000,
    ...options,
  };
  if (o.pollMs * 4 > o.instanceExpiryMs) {
    throw new MidairError(
      'INVALID_ARGUMENT',
      'defineMigration: instanceExpiryMs must be at least 4 × pollMs, so a live instance never looks expired',
    );
  }
  return o;
}

export function newStats(): MigrationStats {
  return {
    reads: 0,
    writes: 0,
    secondaryFailures: 0,
    repairsEnqueued: 0,
    repaired: 0,
    comparisons: 0,
    mismatches: 0,
    comparisonsDropped: 0,
    lazyCopies: 0,
    halts: 0,
  };
}

/** Who phase changes are attributed to by default: user@host. */
export function defaultActor(host = hostname()): string {
  return `${safeUser()}@${host}`;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
