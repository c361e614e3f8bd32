import { hostname } from 'node:os';
import type { AuditEntry, ControlStore, InstanceInfo, PhaseState } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import type { Phase } from '../core/phases.js';
import type { VerifyOptions } from '../verify/verify-options.js';
import { processInstanceId } from '../core/instance-id.js';
import { MigrationJobs } from './migration-jobs.js';
import { TypedEvents, type MigrationEventName, type MigrationEvents } from './events.js';
import { raiseFences } from './fencing.js';
import type { GateCheck, GateThresholds, MigrationFacts } from './gates.js';
import {
  defaultActor,
  newStats,
  resolveOptions,
  type MigrationOptions,
  type MigrationStats,
  type RollbackResult,
  type Settings,
  type TransitionOptions,
} from './options.js';
import { assemblePieces, type Pieces } from './pieces.js';
import { createPorts } from './ports.js';
import { startLoops, type InstanceLoops } from './instance-loops.js';
import { createRepository, type Repository } from './repository.js';
import type { Webhooks } from '../hooks/webhooks.js';
import { observability } from './observability.js';
import type { MetricsSource } from './metrics-port.js';

export type {
  AutoHaltOptions,
  MigrationOptions,
  MigrationStats,
  RollbackResult,
  TransitionOptions,
} from './options.js';

/**
 * One application instance's view of a migration: it follows the fleet-wide
 * phase, serves the repository, heartbeats, repairs, compares and halts.
 * Create it with {@link defineMigration}, then `await migration.start()`.
 *
 * The work is done by its pieces (docs/decisions/0010): the phase follower,
 * write tickets, the repairer and its tick, the shadow comparator, auto-halt,
 * the operator (phase changes) and the jobs, assembled in `pieces.ts`; this
 * class holds them and keeps the public methods.
 */
export class Migration<K extends Key, E extends object> extends MigrationJobs<K, E> {
  readonly name: string;
  readonly instanceId: string;
  readonly stats: MigrationStats = newStats();
  readonly #settings: Settings<K, E>;
  readonly #control: ControlStore;
  readonly #events = new TypedEvents();
  readonly #actor: string;
  readonly #host = hostname();
  readonly #pieces: Pieces<K, E>;
  readonly #hooks: Webhooks;
  #loops: InstanceLoops | undefined;
  #repository: Repository<K, E> | undefined;
  readonly #detachMetrics: (() => void)[];

  constructor(options: MigrationOptions<K, E>) {
    super();
    this.#settings = resolveOptions(options);
    this.name = options.name;
    this.#control = options.control;
    this.instanceId = options.instanceId ?? processInstanceId();
    this.#actor = options.actor ?? defaultActor(this.#host);
    const told = observability(options, { migration: this.name, instance: this.instanceId }, this.#events);
    this.#hooks = told.hooks;
    this.#pieces = assemblePieces(this.#settings, {
      name: this.name,
      instanceId: this.instanceId,
      host: this.#host,
      actor: this.#actor,
      control: this.#control,
      stats: this.stats,
      events: this.#events,
      notify: this.#hooks.send,
      start: async () => this.start(),
    });
    this.attachJobs(this.#pieces.jobs);
    told.logEvents(() => this.#pieces.follower.known?.phase);
    const source: MetricsSource = {
      migration: this.name,
      control: this.#control,
      instanceExpiryMs: this.#settings.instanceExpiryMs,
      on: (name, listener) => this.#events.on(name, listener),
    };
    this.#detachMetrics = [options.metrics ?? []].flat().map((m) => m.attach(source));
  }

  /** Where this instance is in its life: `idle` (not started), `starting`, `running`, `closing`, `closed`. */
  get lifecycle(): string {
    return this.#pieces.life.state;
  }

  // ── lifecycle ───────────────────────────────────────────────────────────

  /** Joins the fleet: reads (or creates) the phase, heartbeats, and starts polling and repairing. */
  async start(): Promise<this> {
    if (!this.#pieces.life.begin()) {
      await this.#pieces.life.running();
      return this;
    }
    try {
      await this.#control.setup();
      this.#pieces.follower.apply(await this.#control.init(this.name, this.#actor));
      // Each store's fence row exists before this instance writes, so every fenced write holds it (best effort: a store
      // that is down now is fenced from the first phase change on).
      await raiseFences(
        { old: this.#settings.old, new: this.#settings.new },
        this.name,
        0,
        { old: false, new: false },
        this.#settings.timeoutMs,
        (side, error) => this.#events.emit('error', { operation: `create the fence of ${side}`, error }),
      );
      await this.#pieces.follower.refresh();
    } catch (error) {
      this.#pieces.life.failedToStart(error);
      throw error;
    }
    this.#pieces.life.ready();
    this.#loops = await startLoops({
      name: this.name,
      control: this.#control,
      events: this.#events,
      follower: this.#pieces.follower,
      repairTick: this.#pieces.repairTick,
      pollMs: this.#settings.pollMs,
      repair: this.#settings.repair,
    });
    return this;
  }

  /**
   * Leaves the fleet: refuses new calls (CLOSED), stops timers, waits for
   * background work and any refresh in flight, then removes this instance's
   * heartbeat — after which it never heartbeats again. Stores stay open.
   */
  async close(): Promise<void> {
    const wasStarted = this.#pieces.life.started;
    if (!this.#pieces.life.close()) return this.#pieces.life.closed();
    await this.#loops?.stop();
    await this.#pieces.follower.refreshing?.catch(() => undefined);
    await this.settle();
    await this.#pieces.shadow.saveCounters(true).catch(() => undefined);
    if (wasStarted) await this.#control.removeInstance(this.name, this.instanceId).catch(() => undefined);
    // The webhooks queued (this instance's halts, repairs, jobs) go out before it is closed, up to their deadline.
    await this.#hooks.close();
    for (const detach of this.#detachMetrics.splice(0)) detach();
    this.#pieces.life.finish();
  }

  /** Waits until background second writes, comparisons and lazy copies have settled. */
  async settle(): Promise<void> {
    for (;;) {
      if (this.#pieces.background.size > 0) await this.#pieces.background.settled();
      else if (this.#pieces.shadow.inFlight > 0) await this.#pieces.shadow.idle();
      else return;
    }
  }

  on<N extends MigrationEventName>(name: N, listener: (payload: MigrationEvents[N]) => void): () => void {
    return this.#events.on(name, listener);
  }

  /** The application's repository, routed by phase (one per instance). */
  repository(): Repository<K, E> {
    this.#repository ??= this.#createRepository();
    return this.#repository;
  }

  #createRepository(): Repository<K, E> {
    const { stats } = this;
    const parts = {
      follower: this.#pieces.follower,
      tickets: this.#pieces.tickets,
      halt: this.#pieces.halt,
      comparator: this.#pieces.shadow,
      background: this.#pieces.background,
    };
    return createRepository(
      createPorts({
        settings: this.#settings,
        control: this.#control,
        ...parts,
        stats,
        events: this.#events,
        servedWrites: this.#pieces.servedWrites,
        close: () => this.close(),
      }),
    );
  }

  /** The phase this instance serves with (as of its last refresh). */
  get state(): PhaseState {
    return this.#pieces.follower.state;
  }

  // ── phase changes (the operator) ────────────────────────────────────────

  /** Moves to the next phase (into `ramp` at `rampPercent`, default 10). Waits for the fleet; crossing authority freezes writes briefly. */
  async advance(options: TransitionOptions & { readonly rampPercent?: number }): Promise<PhaseState> {
    return this.#pieces.operator.advance(options);
  }

  /** The facts the gates, `status` and `plan` read from the control store. */
  async facts(): Promise<MigrationFacts> {
    return this.#pieces.operator.facts();
  }

  /** The gates into `to` (default: the next phase), checked against the real state. */
  async gates(to?: Phase, thresholds: GateThresholds = {}): Promise<GateCheck[]> {
    return this.#pieces.operator.gates(to, thresholds);
  }

  /**
   * Moves back one phase. From `new-primary`, old is first re-synced from
   * new — a full verification that repairs what differs — and the rollback
   * is blocked (nothing changed) if old cannot be made equal, unless forced;
   * then the switch drains the repair queue under the cutover freeze. From
   * `old-read-only`, where old got no writes, the switch comes first (from
   * `new-primary` on every write reaches old again) and the re-sync right
   * after. `resync: false` skips the re-sync (then leaving `old-read-only`
   * needs `force`). `complete` has no way back.
   */
  async rollback(options: TransitionOptions & { readonly resync?: VerifyOptions<E> | false }): Promise<RollbackResult> {
    return this.#pieces.operator.rollback(options);
  }

  /** Changes the share of keys read from new, within `ramp`. */
  async setRamp(percent: number, options: TransitionOptions): Promise<PhaseState> {
    return this.#pieces.operator.setRamp(percent, options);
  }

  /** Switches strict dual writes on or off for the whole fleet at once. */
  async setStrict(strict: boolean, options: TransitionOptions): Promise<PhaseState> {
    return this.#pieces.operator.setStrict(strict, options);
  }

  /**
   * The audit reason when every gate into `to` passes (or is forced past);
   * BLOCKED, announced as the `gate-refused` webhook, when one fails. Writes
   * nothing: `advance({ gated })` runs it, and so may a check before writing.
   */
  async passGates(
    to: Phase,
    options: { readonly reason: string; readonly force?: boolean; readonly thresholds?: GateThresholds },
  ): Promise<string> {
    return this.#pieces.operator.passGates(to, options.thresholds ?? {}, options);
  }

  /**
   * Resolves once every live instance serves the current phase — and, with
   * `withinMs`, every instance seen that recently (one stalled mid-write must
   * come back and finish first). A backfill must not start before the fleet
   * acknowledged `dual-write`: until then an instance may still write old alone.
   */
  async awaitFleet(options: { readonly withinMs?: number } = {}): Promise<void> {
    return this.#pieces.operator.awaitFleet(options);
  }

  /** Newest first. */
  async auditLog(limit?: number): Promise<AuditEntry[]> {
    return this.#pieces.operator.auditLog(limit);
  }

  /** Live instances of the fleet (heartbeat within the expiry). */
  async fleet(): Promise<InstanceInfo[]> {
    return this.#pieces.operator.fleet();
  }
}

/**
 * Declares a migration of one entity type from an old store to a new one.
 *
 * @example
 * ```ts
 * const migration = defineMigration({ name: 'users', old: mysqlUsers, new: pgUsers, control: sqliteControlStore(db) });
 * await migration.start();
 * const users = migration.repository();
 * ```
 */
export function defineMigration<K extends Key, E extends object>(options: MigrationOptions<K, E>): Migration<K, E> {
  return new Migration(options);
}

export type { Phase };
