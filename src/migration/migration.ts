import { hostname } from 'node:os';
import { userInfo } from 'node:os';
import type { AuditAction, AuditEntry, AuditInput, ControlStore, InstanceInfo, PhaseSetting, PhaseState, RepairDirection } from '../control/control-store.js';
import { INTENT_REASON } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { Fence, Store } from '../core/store.js';
import { TypedEvents, type MigrationEventName, type MigrationEvents } from './events.js';
import { crossesAuthority, HALT_TARGET, nextPhase, PHASE_RULES, previousPhase, type Phase, type Side } from '../core/phases.js';
import { RateWindow } from './rate-window.js';
import { readFacts, resetFactsForNew } from './facts.js';
import { CHECKPOINTS, saveCheckpoint, type ShadowCounters } from '../control/checkpoints.js';
import { checkGates, type GateCheck, type GateThresholds, type MigrationFacts, type VerificationSummary } from './gates.js';
import { createRepository, type QueryDefs, type Repository } from './repository.js';
import type { Runtime, WriteTicket } from './runtime.js';
import { compareAnswers, rampBucket, type ShadowOptions } from './shadow.js';
import { withTimeout } from './timeout.js';
import { Repairer, type RepairSettings } from './repairer.js';
import { raiseFences } from './fencing.js';
import { Lifecycle } from './lifecycle.js';
import { acceptDeadLetters, checkKeyMappings, refusedResult, retryDeadLetters, runBackfill, type BackfillControl, type BackfillOptions, type BackfillResult, type KeyMappings } from '../backfill/backfill.js';
import { phaseRefusal } from '../backfill/guards.js';
import { repairKeys } from '../verify/repair.js';
import { runVerify } from '../verify/verify.js';
import type { RepairReport, VerifyOptions, VerifyReport } from '../verify/verify-options.js';
import { percent } from '../core/format.js';
import { processInstanceId } from '../core/instance-id.js';
import { sleep } from '../core/sleep.js';

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

/**
 * One application instance's view of a migration: it follows the fleet-wide
 * phase, serves the repository, heartbeats, repairs, compares and halts.
 * Create it with {@link defineMigration}, then `await migration.start()`.
 */
export class Migration<K extends Key, E extends object> {
  readonly name: string;
  readonly instanceId: string;
  readonly stats: MigrationStats = {
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
  readonly #o: Required<Pick<MigrationOptions<K, E>, 'timeoutMs' | 'pollMs' | 'instanceExpiryMs' | 'ackTimeoutMs' | 'pauseTimeoutMs'>> & MigrationOptions<K, E>;
  readonly #control: ControlStore;
  readonly #events = new TypedEvents();
  readonly #actor: string;
  readonly #host = hostname();
  readonly #rampAllow: ReadonlySet<string>;
  readonly #shadow: ShadowOptions<E>;
  readonly #halt: Required<AutoHaltOptions> | undefined;
  readonly #secondaryWindow: RateWindow;
  readonly #mismatchWindow: RateWindow;
  readonly #inFlight = new Map<number, number>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #life: Lifecycle;
  readonly #repairer: Repairer<K, E>;
  #state: PhaseState | undefined;
  #acked = 0;
  #lastRefresh = 0;
  #waiters: (() => void)[] = [];
  #timers: NodeJS.Timeout[] = [];
  #shadowInFlight = 0;
  #shadowQueue: ShadowJob<K, E>[] = [];
  /** Resolved when the last comparison in flight ends (made only while someone waits). */
  #shadowsIdle: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;
  #halting = false;
  #repairing = false;
  /** After a halt, no second one for a window: the failures already counted must not walk the phase further back. */
  #haltQuietUntil = 0;
  #refreshing: Promise<PhaseState> | undefined;
  #unsubscribe: (() => Promise<void>) | undefined;
  #repository: Repository<K, E> | undefined;

  constructor(options: MigrationOptions<K, E>) {
    if (!options.name) throw new MidairError('INVALID_ARGUMENT', 'defineMigration: `name` is required (it identifies the migration in the control store)');
    this.#o = { timeoutMs: 2000, pollMs: 250, instanceExpiryMs: 10_000, ackTimeoutMs: 60_000, pauseTimeoutMs: 30_000, ...options };
    if (this.#o.pollMs * 4 > this.#o.instanceExpiryMs) {
      throw new MidairError('INVALID_ARGUMENT', 'defineMigration: instanceExpiryMs must be at least 4 × pollMs, so a live instance never looks expired');
    }
    this.name = options.name;
    this.#control = options.control;
    this.instanceId = options.instanceId ?? processInstanceId();
    this.#actor = options.actor ?? `${safeUser()}@${this.#host}`;
    this.#rampAllow = new Set((options.rampAllow ?? []).map((k) => keyId(k)));
    this.#shadow = options.shadow ?? {};
    this.#halt = options.autoHalt === false ? undefined : { windowMs: 60_000, maxErrorRate: 0.2, maxMismatchRate: 0.05, minSamples: 50, ...options.autoHalt };
    this.#secondaryWindow = new RateWindow(this.#halt?.windowMs ?? 60_000);
    this.#mismatchWindow = new RateWindow(this.#halt?.windowMs ?? 60_000);
    this.#life = new Lifecycle(`migration ${this.name}`);
    this.#repairer = new Repairer(
      {
        name: this.name,
        owner: this.instanceId,
        control: this.#control,
        old: options.old,
        new: options.new,
        events: this.#events,
        timeoutMs: this.#o.timeoutMs,
        lateLandingMs: options.lateLandingMs ?? 60_000,
        intentDelayMs: options.intentDelayMs ?? (options.timeoutMs ?? 2000) * 5,
        now: () => Date.now(),
        onRepaired: () => this.stats.repaired++,
      },
      options.repair,
    );
  }

  get #started(): boolean {
    return this.#life.started;
  }

  /** Where this instance is in its life: `idle` (not started), `starting`, `running`, `closing`, `closed`. */
  get lifecycle(): string {
    return this.#life.state;
  }

  // ── lifecycle ───────────────────────────────────────────────────────────

  /** Joins the fleet: reads (or creates) the phase, heartbeats, and starts polling and repairing. */
  async start(): Promise<this> {
    if (!this.#life.begin()) {
      await this.#life.running();
      return this;
    }
    try {
      await this.#control.setup();
      this.#applyState(await this.#control.init(this.name, this.#actor));
      // Each store's fence row exists before this instance writes, so every fenced write holds it (best effort: a store
      // that is down now is fenced from the first phase change on).
      await raiseFences({ old: this.#o.old, new: this.#o.new }, this.name, 0, { old: false, new: false }, this.#o.timeoutMs, (side, error) =>
        this.#events.emit('error', { operation: `create the fence of ${side}`, error }),
      );
      await this.#refresh();
    } catch (error) {
      this.#life.failedToStart(error);
      throw error;
    }
    this.#life.ready();
    this.#timers.push(setInterval(() => void this.#refresh().catch((error: unknown) => this.#events.emit('error', { operation: 'poll', error })), this.#o.pollMs));
    if (this.#o.repair?.enabled ?? true) {
      this.#timers.push(setInterval(() => void this.#repairTick(), this.#o.repair?.intervalMs ?? 500));
    }
    for (const t of this.#timers) t.unref();
    // A pushed change (PostgreSQL NOTIFY) is picked up at once; polling stays as the fallback.
    this.#unsubscribe = await this.#control
      .subscribe?.(this.name, () => void this.#refresh().catch((error: unknown) => this.#events.emit('error', { operation: 'refresh on notify', error })))
      .catch((error: unknown) => {
        this.#events.emit('error', { operation: 'subscribe', error });
        return undefined;
      });
    return this;
  }

  /**
   * Leaves the fleet: refuses new calls (CLOSED), stops timers, waits for
   * background work and any refresh in flight, then removes this instance's
   * heartbeat — after which it never heartbeats again. Stores stay open.
   */
  async close(): Promise<void> {
    const wasStarted = this.#life.started;
    if (!this.#life.close()) return this.#life.closed();
    for (const t of this.#timers) clearInterval(t);
    await this.#unsubscribe?.().catch(() => undefined);
    await this.#refreshing?.catch(() => undefined);
    await this.settle();
    await this.#saveShadowCounters(true).catch(() => undefined);
    if (wasStarted) await this.#control.removeInstance(this.name, this.instanceId).catch(() => undefined);
    this.#life.finish();
  }

  /** Waits until background second writes, comparisons and lazy copies have settled. */
  async settle(): Promise<void> {
    for (;;) {
      if (this.#background.size > 0) await Promise.allSettled([...this.#background]);
      else if (this.#shadowInFlight > 0) {
        if (!this.#shadowsIdle) {
          let resolve!: () => void;
          const promise = new Promise<void>((r) => (resolve = r));
          this.#shadowsIdle = { promise, resolve };
        }
        await this.#shadowsIdle.promise;
      } else return;
    }
  }

  on<N extends MigrationEventName>(name: N, listener: (payload: MigrationEvents[N]) => void): () => void {
    return this.#events.on(name, listener);
  }

  /** The application's repository, routed by phase (one per instance). */
  repository(): Repository<K, E> {
    this.#repository ??= createRepository(this.#runtime());
    return this.#repository;
  }

  /** The phase this instance serves with (as of its last refresh). */
  get state(): PhaseState {
    if (!this.#state) throw new MidairError('INVALID_ARGUMENT', `migration ${this.name}: call start() first`);
    return this.#state;
  }

  // ── following the fleet-wide phase ──────────────────────────────────────

  async #refresh(): Promise<PhaseState> {
    this.#refreshing ??= (async () => {
      try {
        // Fresh as of when the state was read, not when the call came back: a refresh that stalled is stale on arrival.
        const readAt = Date.now();
        const state = await this.#control.getState(this.name);
        if (!state) throw new MidairError('SCHEMA_MISMATCH', `migration ${this.name} has no state in the control store`);
        if (state.version !== this.#state?.version) this.#applyState(state);
        if (this.#life.heartbeats) await this.#heartbeat();
        await this.#saveShadowCounters();
        this.#lastRefresh = Math.max(this.#lastRefresh, readAt);
        return state;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  #applyState(state: PhaseState): void {
    const from = this.#state;
    if (from && state.version <= from.version) return;
    this.#state = state;
    if (from && from.phase !== state.phase) {
      // Rates measure the phase being served: failures counted under the previous one must not halt this one too.
      this.#secondaryWindow.reset();
      this.#mismatchWindow.reset();
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
    this.#events.emit('phase-changed', { from, to: state });
    this.#maybeAck();
  }

  /** Acknowledge the newest phase once no write started under an older one is still running. */
  #maybeAck(): void {
    const v = this.#state?.version ?? 0;
    if (v <= this.#acked) return;
    for (const [version, n] of this.#inFlight) if (version < v && n > 0) return;
    this.#acked = v;
    if (this.#life.heartbeats) void this.#heartbeat().catch(() => undefined);
  }

  async #heartbeat(): Promise<void> {
    let inFlight = 0;
    for (const n of this.#inFlight.values()) inFlight += n;
    await this.#control.heartbeat({ migration: this.name, instanceId: this.instanceId, host: this.#host, phaseVersion: this.#acked, inFlightWrites: inFlight });
  }

  /**
   * The phase to serve with. An instance whose last successful refresh is
   * older than half the expiry may already be out of the fleet: it refreshes
   * before serving, and fails the call if it cannot (fencing).
   */
  #current(): PhaseState | Promise<PhaseState> {
    this.#life.assertServing();
    // The common case answers at once, with no promise of its own.
    if (this.#life.serving && Date.now() - this.#lastRefresh <= this.#o.instanceExpiryMs / 2) return this.state;
    return this.#currentAfterRefresh();
  }

  async #currentAfterRefresh(): Promise<PhaseState> {
    if (!this.#life.serving) await this.start();
    this.#life.assertServing();
    for (let tries = 0; Date.now() - this.#lastRefresh > this.#o.instanceExpiryMs / 2; tries++) {
      if (tries >= 3) {
        throw new MidairError('CONNECTION', `migration ${this.name}: the control store answers too slowly to know the current phase (three reads each older than half the instance expiry); refusing to serve`);
      }
      try {
        await this.#refresh();
      } catch (cause) {
        throw new MidairError('CONNECTION', `migration ${this.name}: the control store is unreachable, so this instance cannot know the phase; refusing to serve`, { cause });
      }
    }
    return this.state;
  }

  async #waitForChange(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(left, this.#o.pollMs));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #beginWrite(): Promise<WriteTicket> {
    const deadline = Date.now() + this.#o.pauseTimeoutMs;
    let state: PhaseState;
    for (;;) {
      state = await this.#current();
      if (state.writesPaused) {
        if (Date.now() >= deadline) throw new MidairError('TIMEOUT', `migration ${this.name}: writes stayed paused for the cutover longer than ${this.#o.pauseTimeoutMs} ms`);
        await this.#waitForChange(deadline);
        continue;
      }
      // A newer phase may have arrived (and been acknowledged) while #current() resolved: a write must
      // count under the phase it runs with, or the fleet could move on without waiting for it.
      if (state.version === this.#state?.version) break;
    }
    const v = state.version;
    this.#inFlight.set(v, (this.#inFlight.get(v) ?? 0) + 1);
    this.stats.writes++;
    let ended = false;
    return {
      state,
      end: () => {
        if (ended) return;
        ended = true;
        const n = (this.#inFlight.get(v) ?? 1) - 1;
        if (n <= 0) this.#inFlight.delete(v);
        else this.#inFlight.set(v, n);
        this.#maybeAck();
      },
    };
  }

  // ── phase changes ───────────────────────────────────────────────────────

  /** Moves to the next phase (into `ramp` at `rampPercent`, default 10). Waits for the fleet; crossing authority freezes writes briefly. */
  async advance(options: TransitionOptions & { readonly rampPercent?: number }): Promise<PhaseState> {
    if (options.gated) {
      const state = await this.#control.getState(this.name);
      const to = state && nextPhase(state.phase);
      if (to) options = { ...options, reason: await this.#passGates(to, options) };
    }
    return this.#transition('advance', options, (s) => {
      const phase = nextPhase(s.phase);
      if (!phase) throw new MidairError('INVALID_ARGUMENT', `migration ${this.name} is already complete`);
      return { phase, rampPercent: phase === 'ramp' ? checkPercent(options.rampPercent ?? 10) : s.rampPercent };
    });
  }

  /** The facts the gates, `status` and `plan` read from the control store. */
  async facts(): Promise<MigrationFacts> {
    return readFacts(this.#control, this.name, this.#o.instanceExpiryMs);
  }

  /** The gates into `to` (default: the next phase), checked against the real state. */
  async gates(to?: Phase, thresholds: GateThresholds = {}): Promise<GateCheck[]> {
    const facts = await this.facts();
    const target = to ?? nextPhase(facts.state.phase);
    return target ? checkGates(target, facts, thresholds) : [];
  }

  /** Throws BLOCKED when a gate into `to` fails and the change is not forced; resolves the reason for the audit log. */
  async #passGates(to: Phase, options: TransitionOptions): Promise<string> {
    const failing = (await this.gates(to, typeof options.gated === 'object' ? options.gated : {})).filter((g) => !g.ok);
    if (failing.length === 0) return options.reason;
    const list = failing.map((g) => `${g.gate}: ${g.detail}`);
    if (!options.force) {
      throw new MidairError('BLOCKED', `migration ${this.name}: entering ${to} is blocked by ${failing.length} gate(s):\n  ${list.join('\n  ')}\n(force it with a reason if you must)`);
    }
    return `${options.reason} [forced past: ${list.join('; ')}]`;
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
    if (!options.reason) throw new MidairError('INVALID_ARGUMENT', `a phase change needs a reason (it goes to the audit log)`);
    const from = (await this.#control.getState(this.name))?.phase ?? 'old-only';
    const resyncOptions: VerifyOptions<E> | undefined = options.resync === false ? undefined : { mode: 'full', ...options.resync, repair: true };
    const step = (reason: string, force: boolean): Promise<PhaseState> =>
      this.#transition('rollback', { ...options, reason, force }, (s) => {
        if (s.phase === 'complete') {
          throw new MidairError('INVALID_ARGUMENT', `migration ${this.name} is complete: writes to old stopped and its tombstones may be purged, so there is no rollback from complete; nothing changed (start a new migration from new to old instead)`);
        }
        if (s.phase === 'old-read-only' && !force) {
          throw new MidairError(
            'INVALID_ARGUMENT',
            `migration ${this.name}: old has received no writes since entering old-read-only; rolling back needs old re-synced from new (leave resync on, or force the rollback with a reason)`,
          );
        }
        const phase = previousPhase(s.phase);
        if (!phase) throw new MidairError('INVALID_ARGUMENT', `migration ${this.name} is in old-only: there is nothing to roll back`);
        return { phase };
      });
    if (from === 'old-read-only' && resyncOptions) {
      const next = await step(`${options.reason} [old re-synced from new right after]`, true);
      // Writes issued under old-read-only reach new alone: the re-sync must come after the last of them (regression:
      // one still in flight landed after the re-sync and old never got it). Live instances finish theirs; a stalled
      // one's is refused at new from here on.
      // The switch is made: whatever fails here is reported, and the re-sync (which reports for itself) still runs.
      await this.awaitFleet().catch((error: unknown) => this.#events.emit('error', { operation: 'wait for the fleet before the re-sync', error }));
      await raiseFences({ old: this.#o.old, new: this.#o.new }, this.name, next.version, { old: false, new: false }, this.#o.timeoutMs, (side, error) =>
        this.#events.emit('error', { operation: `raise the fence of ${side}`, error }),
      );
      return { ...next, resync: await this.verify(resyncOptions) };
    }
    if (from === 'new-primary' && resyncOptions) {
      const resync = await this.verify(resyncOptions);
      if (resync.status !== 'equal' && !options.force) {
        const left = resync.repair?.stillDifferent.total ?? resync.different.total;
        const why = resync.status === 'different' ? `${left} key(s) still differ` : `the verification ${resync.status}${resync.error ? `: ${resync.error.code}: ${resync.error.message}` : ''}`;
        throw new MidairError('BLOCKED', `migration ${this.name}: old could not be re-synced from new (${why}); nothing changed. Try again, or force it with a reason if you must.`);
      }
      return { ...(await step(options.reason, options.force ?? false)), resync };
    }
    return step(options.reason, options.force ?? false);
  }

  /** Changes the share of keys read from new, within `ramp`. */
  async setRamp(percent: number, options: TransitionOptions): Promise<PhaseState> {
    return this.#transition('set', options, (s) => {
      if (s.phase !== 'ramp') throw new MidairError('INVALID_ARGUMENT', `migration ${this.name} is in ${s.phase}, not ramp: advance to ramp first`);
      return { rampPercent: checkPercent(percent) };
    });
  }

  /** Switches strict dual writes on or off for the whole fleet at once. */
  async setStrict(strict: boolean, options: TransitionOptions): Promise<PhaseState> {
    return this.#transition('strict', options, () => ({ strict }));
  }

  /**
   * Resolves once every live instance serves the current phase — and, with
   * `withinMs`, every instance seen that recently (one stalled mid-write must
   * come back and finish first). A backfill must not start before the fleet
   * acknowledged `dual-write`: until then an instance may still write old alone.
   */
  async awaitFleet(options: { readonly withinMs?: number } = {}): Promise<void> {
    const state = await this.#control.getState(this.name);
    if (state) await this.#waitForFleet(state.version, options.withinMs);
  }

  /** Newest first. */
  async auditLog(limit?: number): Promise<AuditEntry[]> {
    return this.#control.auditLog(this.name, { limit });
  }

  /** Live instances of the fleet (heartbeat within the expiry). */
  async fleet(): Promise<InstanceInfo[]> {
    return this.#control.instances(this.name, new Date(Date.now() - this.#o.instanceExpiryMs));
  }

  async #transition(action: AuditAction, options: TransitionOptions, change: (s: PhaseState) => Partial<PhaseSetting>): Promise<PhaseState> {
    if (!options.reason) throw new MidairError('INVALID_ARGUMENT', `a phase change needs a reason (it goes to the audit log)`);
    const actor = options.actor ?? this.#actor;
    const audit = { actor, action, reason: options.reason, forced: options.force ?? false };
    for (;;) {
      const s = (await this.#control.getState(this.name)) ?? (await this.#control.init(this.name, actor));
      const target: PhaseSetting = { phase: s.phase, rampPercent: s.rampPercent, writesPaused: false, strict: s.strict, ...change(s) };
      // Liveness, not safety: live instances finish what they began under older versions; a stalled one is fenced below.
      await this.#waitForFleet(s.version);
      if (crossesAuthority(s.phase, target.phase)) {
        if (!s.writesPaused) {
          const backlog = await this.#control.repairDepth(this.name);
          const max = this.#o.maxFreezeBacklog ?? 1000;
          if (backlog > max) {
            throw new MidairError(
              'BLOCKED',
              `migration ${this.name}: ${backlog} repairs are queued, more than maxFreezeBacklog (${max}); entering the cutover freeze now would hold writes while they drain. Let the repairers catch up (midair status shows the queue), then try again; nothing changed`,
            );
          }
          await this.#fence(s.version, PHASE_RULES[s.phase].authoritative);
          const paused = await this.#control.compareAndSet(this.name, s.version, { ...s, writesPaused: true }, {
            ...audit,
            action: 'pause',
            reason: `cutover freeze: ${s.phase} → ${target.phase} changes the authoritative store (${options.reason})`,
          });
          if (!paused) throw this.#conflict();
          continue; // wait until every instance holds its writes
        }
        await this.#cutOver(s, target, audit);
      } else {
        await this.#fence(s.version, PHASE_RULES[target.phase].authoritative);
      }
      const next = await this.#control.compareAndSet(this.name, s.version, target, audit);
      if (!next) throw this.#conflict();
      if (this.#started) this.#applyState(next);
      // Back in old-only, new stops getting writes: what was known about it (backfill, verification, shadow counts) is stale.
      if (next.phase === 'old-only' && s.phase !== 'old-only') {
        await resetFactsForNew(this.#control, this.name, actor, `${action} to old-only (${options.reason})`).catch((error: unknown) => this.#events.emit('error', { operation: 'reset facts', error }));
      }
      return next;
    }
  }

  /**
   * Fences out every write issued under a version below `epoch` before the
   * change is published: the authority's fence must rise; the other's is
   * best effort (a write landing there is a sync from the authority).
   */
  async #fence(epoch: number, authority: Side): Promise<void> {
    await raiseFences({ old: this.#o.old, new: this.#o.new }, this.name, epoch, { old: authority === 'old', new: authority === 'new' }, this.#o.timeoutMs, (side, error) =>
      this.#events.emit('error', { operation: `raise the fence of ${side}`, error }),
    );
  }

  /**
   * The cutover, with the fleet frozen at `s`: both fences rise to the new
   * version first — no write issued before the freeze can land after this
   * point, however long its instance stalled — then the repair queue drains
   * (intents of instances that died or stalled mid-write included), its
   * writes fenced at the new version. If the drain cannot finish in
   * `freezeDrainMs`, the cutover is abandoned: writes resume under the same
   * authority, and the reason is in the audit log and the error.
   */
  async #cutOver(s: PhaseState, target: PhaseSetting, audit: AuditInput): Promise<void> {
    const epoch = s.version + 1;
    const drainMs = this.#o.freezeDrainMs ?? Math.floor(this.#o.pauseTimeoutMs / 3);
    const started = Date.now();
    let left: number;
    try {
      await raiseFences({ old: this.#o.old, new: this.#o.new }, this.name, epoch, { old: true, new: true }, this.#o.timeoutMs, () => undefined);
      ({ left } = await this.#repairer.drain(s, { epoch, fencedBelow: epoch, deadline: started + drainMs, now: () => Date.now(), wait: async () => sleep(Math.min(this.#o.pollMs, 50)) }));
    } catch (error) {
      // Never leave the fleet frozen (regression: a fence that could not rise left writes paused, and the fence
      // already raised on the other store refused every repair of the frozen version).
      const code = error instanceof MidairError ? error.code : 'UNKNOWN';
      await this.#resume(s, audit, `cutover ${s.phase} → ${target.phase} abandoned: ${code} while fencing or draining; writes resumed under the same authority`);
      throw error;
    }
    if (left === 0) return;
    const reason = `cutover ${s.phase} → ${target.phase} abandoned: ${left} repair(s) still queued after ${Date.now() - started} ms of the freeze (freezeDrainMs ${drainMs}); writes resumed under the same authority`;
    await this.#resume(s, audit, reason);
    throw new MidairError('BLOCKED', `migration ${this.name}: ${reason}. Let the repairers catch up (or fix what keeps failing: midair repairs list), then try again`);
  }

  /** Ends the freeze at `s` without changing authority; the next version (the one the raised fences allow) serves again. */
  async #resume(s: PhaseState, audit: AuditInput, reason: string): Promise<void> {
    const resumed = await this.#control.compareAndSet(this.name, s.version, { ...s, writesPaused: false }, { ...audit, action: 'pause', reason }).catch((error: unknown) => {
      this.#events.emit('error', { operation: 'resume writes after an abandoned cutover', error });
      return undefined;
    });
    if (resumed && this.#started) this.#applyState(resumed);
  }

  #conflict(): MidairError {
    return new MidairError('CONFLICT', `migration ${this.name}: another phase change happened at the same time; read the status and try again`);
  }

  /** Waits until every instance seen within `withinMs` (default: the live ones) acknowledged `version`. */
  async #waitForFleet(version: number, withinMs = this.#o.instanceExpiryMs): Promise<void> {
    const deadline = Date.now() + this.#o.ackTimeoutMs;
    for (;;) {
      const seen = await this.#control.instances(this.name, new Date(Date.now() - withinMs));
      const behind = seen.filter((i) => i.phaseVersion < version);
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new MidairError(
          'TIMEOUT',
          `migration ${this.name}: instances have not acknowledged phase version ${version}: ${behind
            .map((i) => `${i.instanceId} (at ${i.phaseVersion}, last seen ${Date.now() - i.lastSeen.getTime()} ms ago)`)
            .join(', ')}; wait for them, or stop them cleanly (a clean stop leaves the fleet)`,
        );
      }
      await sleep(Math.min(this.#o.pollMs, 100));
    }
  }

  // ── backfill ────────────────────────────────────────────────────────────

  /**
   * Copies old into new: keyset chunks, the conditional bulk write, a
   * checkpoint per chunk (a killed run resumes), adaptive chunk size and a
   * rows/s ceiling, dead letters for rows that cannot be copied. Runs from
   * dual-write to ramp, once every instance writes both stores, so no write
   * can slip past it; refused (status `refused`, nothing written) where new
   * is authoritative — its prune would delete acknowledged writes; a sweep
   * runs there. Resolves a result; never throws halfway.
   *
   * @example
   * ```ts
   * const result = await migration.backfill({ maxRowsPerSecond: 5000, onProgress: (p) => console.log(p.rowsDone, p.total) });
   * if (result.status !== 'complete') console.error(result.status, result.error);
   * ```
   */
  async backfill(options: BackfillOptions<E> = {}): Promise<BackfillResult> {
    // Where new is authoritative a backfill's prune would delete acknowledged writes: refused (a sweep runs instead).
    const refusal = await phaseRefusal(this.#control, this.name, options.missingOnly ? 'sweep' : 'backfill');
    if (refusal) return refusedResult(refusal);
    // Live instances all write both stores by now; one that stalled in an earlier phase (old-only: old alone), or a
    // sync that read old before an old-only period, is fenced out in both stores, so nothing lands behind the copy.
    await this.awaitFleet();
    const state = await this.#control.getState(this.name);
    if (!state) return runBackfill(this.name, this.#o.old, this.#o.new, this.#control, options);
    await raiseFences({ old: this.#o.old, new: this.#o.new }, this.name, state.version, { old: true, new: true }, this.#o.timeoutMs, () => undefined);
    return runBackfill(this.name, this.#o.old, this.#o.new, this.#control, { ...options, fence: { migration: this.name, epoch: state.version } });
  }

  /** Copies what new still lacks (keys in old, absent in new): after a lazy migration, also in old-read-only. */
  async sweep(options: Omit<BackfillOptions<E>, 'missingOnly' | 'tombstonesWin'> = {}): Promise<BackfillResult> {
    const state = await this.#control.getState(this.name);
    const newRules = state !== undefined && PHASE_RULES[state.phase].authoritative === 'new';
    return this.backfill({ ...options, missingOnly: true, tombstonesWin: newRules });
  }

  /** Pauses, resumes or retunes a running backfill (any process that shares the control store). */
  async controlBackfill(settings: BackfillControl, name = 'backfill'): Promise<void> {
    await saveCheckpoint(this.#control, this.name, CHECKPOINTS.backfillControl(name), settings);
  }

  /** Copies the dead letters' keys again, after the code that failed them was fixed (copies only: it never deletes). */
  async retryDeadLetters(options: Pick<BackfillOptions<E>, 'transform' | 'signal' | 'keyMappings'> = {}): Promise<{ retried: number; copied: number; stillFailing: number }> {
    const refusal = await phaseRefusal(this.#control, this.name, 'sweep');
    if (refusal) throw refusal;
    if (options.keyMappings) await checkKeyMappings(options.keyMappings, this.#o.old, { signal: options.signal });
    const state = await this.#control.getState(this.name);
    return retryDeadLetters(this.name, this.#o.old, this.#o.new, this.#control, { ...options, ...(state ? { fence: { migration: this.name, epoch: state.version } } : {}) });
  }

  /**
   * Accepts the dead letters (all, or `keyIds`) as rows new will not get:
   * needs `force` and a reason, recorded as a `dead-letter-accept` audit
   * entry; then the gates stop blocking on them. Resolves how many.
   */
  async acceptDeadLetters(options: { readonly reason: string; readonly force: boolean; readonly actor?: string; readonly keyIds?: readonly string[] }): Promise<number> {
    return acceptDeadLetters(this.name, this.#control, { ...options, actor: options.actor ?? this.#actor });
  }

  /**
   * Refuses (SCHEMA_MISMATCH, nothing written) unless the two mappings spell
   * every key the same way: key codecs compared, and a sample of old's real
   * keys read through new's key codecs. Run before a backfill, a
   * verification or a repair where the mappings are known (the CLI does).
   */
  async checkKeys(mappings: KeyMappings, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    await checkKeyMappings(mappings, this.#o.old, options);
  }

  // ── verification ────────────────────────────────────────────────────────

  /**
   * Verifies that new holds what old holds, entity by entity: `count`,
   * `sample` (random keys), or `full` (hashes computed inside each database,
   * bisection down to the exact differing keys). Differences seen are read
   * again after a delay; those equal by then are reported as changed during
   * verification. With `repair`, the differing keys are re-synced from the
   * authoritative store and compared again. Resolves a report; never throws halfway.
   *
   * @example
   * ```ts
   * const report = await migration.verify({ mode: 'full', repair: true });
   * console.log(formatVerifyReport(report));
   * process.exitCode = verifyExitCode(report);
   * ```
   */
  async verify(options: VerifyOptions<E> = {}): Promise<VerifyReport> {
    const merged: VerifyOptions<E> = { ...options, ignoreFields: options.ignoreFields ?? this.#shadow.ignoreFields };
    const { report, differing } = await runVerify(this.name, this.#o.old, this.#o.new, this.#control, merged);
    let final = report;
    if (options.repair && report.status === 'different' && differing.length > 0) {
      try {
        const repair = await this.repair(differing, merged);
        const clean = repair.stillDifferent.total === 0 && report.untracked === 0;
        final = { ...report, status: clean ? 'equal' : 'different', repair };
      } catch (error) {
        // The differences were found but not all repaired: the run failed, and says why (regression: a failing store threw out of verify).
        const code = error instanceof MidairError ? error.code : 'UNKNOWN';
        final = { ...report, status: 'failed', error: { code, message: error instanceof Error ? error.message : String(error) } };
      }
    }
    if (final.status === 'equal' || final.status === 'different') await this.#saveVerification(final);
    return final;
  }

  /** Keeps the outcome (counts only) where the gates and `status` read it. */
  async #saveVerification(report: VerifyReport): Promise<void> {
    const state = await this.#control.getState(this.name);
    const remaining = report.repair ? report.repair.stillDifferent.total : undefined;
    const summary: VerificationSummary = {
      at: new Date().toISOString(),
      mode: report.mode,
      status: report.status,
      phase: state?.phase ?? 'old-only',
      matched: report.matched,
      missing: remaining === undefined ? report.missing.total : 0,
      extra: remaining === undefined ? report.extra.total : 0,
      different: remaining ?? report.different.total,
    };
    await saveCheckpoint(this.#control, this.name, CHECKPOINTS.lastVerification, summary);
  }

  /**
   * Re-syncs keys (key ids, as a verification report lists them) from the
   * store authoritative in the current phase: under the other store's key
   * locks each key is read from the authoritative one and written as read —
   * deleted, leaving a tombstone, where it no longer exists. Runs as one of
   * this instance's writes, so a phase change waits for it. Then compares
   * those keys again (with rechecks, as verification does).
   */
  async repair(keyIds: readonly string[], options: Pick<VerifyOptions<E>, 'ignoreFields' | 'transform' | 'signal' | 'maxKeys' | 'rechecks' | 'recheckDelayMs'> = {}): Promise<RepairReport> {
    const ticket = await this.#beginWrite();
    try {
      return await repairKeys(ticket.state, keyIds, { old: this.#o.old, new: this.#o.new }, { ...options, fence: { migration: this.name, epoch: ticket.state.version } });
    } finally {
      ticket.end();
    }
  }

  // ── repairs ─────────────────────────────────────────────────────────────

  /**
   * Re-syncs every queued key — delayed intents and others' claims included —
   * from the store authoritative under `state`, each at least once. Entries of
   * writes that may still land stay queued (re-synced again later) until their
   * version is fenced out. Rejects with TIMEOUT if some keep failing past
   * `deadline`. Resolves how many entries were completed.
   */
  async drainRepairs(state?: PhaseState, deadline = Date.now() + this.#o.ackTimeoutMs): Promise<number> {
    const s = state ?? (await this.#current());
    const { done, failing } = await this.#repairer.drain(s, { deadline, now: () => Date.now(), wait: async () => sleep(50) });
    if (failing > 0) throw new MidairError('TIMEOUT', `migration ${this.name}: ${failing} repair(s) kept failing until the deadline (midair repairs list shows them)`);
    return done;
  }

  /** One round of this instance's repairer: claims its own entries, holds no write ticket (its writes are fenced instead). */
  async #repairTick(): Promise<void> {
    if (!this.#life.serving || !this.#state || this.#repairing) return; // never two rounds at once
    this.#repairing = true;
    try {
      if (this.#state.writesPaused) return;
      await this.#repairer.round(this.#state);
    } catch (error) {
      this.#events.emit('error', { operation: 'repair', error });
    } finally {
      this.#repairing = false;
    }
  }

  // ── auto-halt ───────────────────────────────────────────────────────────

  #checkHalt(): void {
    const halt = this.#halt;
    const state = this.#state;
    if (!halt || !state || this.#halting || Date.now() < this.#haltQuietUntil) return;
    const target = HALT_TARGET[state.phase];
    if (!target) return;
    const other: Side = PHASE_RULES[state.phase].authoritative === 'old' ? 'new' : 'old';
    const windowS = Math.round(halt.windowMs / 1000);
    const errors = this.#secondaryWindow.rate();
    const mismatches = this.#mismatchWindow.rate();
    let reason: string | undefined;
    if (errors.total >= halt.minSamples && errors.rate > halt.maxErrorRate) {
      reason = `the ${other} store failed ${errors.failed} of ${errors.total} calls in ${windowS} s (${percent(errors.rate, 1)}, limit ${percent(halt.maxErrorRate, 1)})`;
    } else if (mismatches.total >= halt.minSamples && mismatches.rate > halt.maxMismatchRate) {
      reason = `${mismatches.failed} of ${mismatches.total} shadow comparisons mismatched in ${windowS} s (${percent(mismatches.rate, 1)}, limit ${percent(halt.maxMismatchRate, 1)})`;
    }
    if (!reason) return;
    this.#halting = true;
    const from = state.phase;
    const work = this.#transition('halt', { reason: `auto-halt: ${reason}`, actor: `auto-halt@${this.instanceId}` }, (s) =>
      s.phase === from ? { phase: target } : (() => { throw this.#conflict(); })(),
    )
      .then(() => {
        this.stats.halts++;
        this.#events.emit('halted', { from, to: target, reason });
      })
      .catch((error: unknown) => this.#events.emit('error', { operation: 'auto-halt', error }))
      .finally(() => {
        this.#haltQuietUntil = Date.now() + halt.windowMs;
        this.#secondaryWindow.reset();
        this.#mismatchWindow.reset();
        this.#halting = false;
      });
    this.#track(work);
  }

  // ── the runtime the repository uses ─────────────────────────────────────

  #track(work: Promise<unknown>): void {
    const p = work.catch((error: unknown) => this.#events.emit('error', { operation: 'background', error }));
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  #runtime(): Runtime<K, E> {
    const o = this.#o;
    return {
      name: this.name,
      old: o.old,
      new: o.new,
      lazy: o.lazy ?? false,
      queries: o.queries,
      events: this.#events,
      currentState: async () => {
        this.stats.reads++;
        const state = await this.#current();
        this.#events.emit('served', { phaseVersion: state.version, write: false });
        return state;
      },
      beginWrite: async () => {
        const ticket = await this.#beginWrite();
        this.#events.emit('served', { phaseVersion: ticket.state.version, write: true });
        return ticket;
      },
      stillValid: (state) => {
        const valid = (now: PhaseState): boolean => now.version <= state.version + 1 && PHASE_RULES[now.phase].authoritative === PHASE_RULES[state.phase].authoritative;
        const now = this.#current();
        return now instanceof Promise ? now.then(valid) : valid(now);
      },
      inRamp: (id, percent) => this.#rampAllow.has(id) || rampBucket(this.name, id) < percent * 100,
      hasPendingRepair: async (id, direction) => {
        const pending = await this.#control.pendingRepairs(this.name, direction, [id]);
        return pending.has(id);
      },
      fence: (state): Fence => ({ migration: this.name, epoch: state.version }),
      recordIntent: async (id, state) => {
        try {
          const intent = { keyId: id, reason: INTENT_REASON, delayMs: this.#o.intentDelayMs ?? this.#o.timeoutMs * 5, epoch: state.version };
          const [seq] = await this.#control.enqueueRepairs(this.name, directionOf(state), [intent]);
          if (seq === undefined) throw new MidairError('UNKNOWN', 'the control store queued no entry');
          return seq;
        } catch (cause) {
          throw new MidairError('CONNECTION', `migration ${this.name}: the write's intent could not be queued in the control store, so the write was not started (nothing written); retry it`, {
            cause,
          });
        }
      },
      completeIntent: (id, state, seq) => {
        this.#track(this.#control.completeRepair(this.name, directionOf(state), id, seq));
      },
      enqueueRepair: async (id, reason, state, mayLand) => {
        this.stats.repairsEnqueued++;
        try {
          await this.#control.enqueueRepairs(this.name, directionOf(state), [{ keyId: id, reason, ...(mayLand ? { epoch: state.version } : {}) }]);
          this.#events.emit('repair-enqueued', { keyId: id, reason });
        } catch (error) {
          // The intent queued before the first write stays: the key is repaired when it falls due.
          this.#events.emit('error', { operation: 'enqueue repair', error });
        }
      },
      recordSecondary: (ok) => {
        if (!ok) this.stats.secondaryFailures++;
        this.#secondaryWindow.record(!ok);
        if (!ok) this.#checkHalt();
      },
      shadow: (key, answer, servedFrom, state) => this.#scheduleShadow(key, answer, servedFrom, state),
      lazyCopy: async (key, into, state) => {
        const target = into === 'new' ? o.new : o.old;
        const source = into === 'new' ? o.old : o.new;
        const value = await withTimeout((signal) => source.get(key, { signal }), o.timeoutMs, 'lazy read');
        if (value === undefined) return;
        const fence = { migration: this.name, epoch: state.version };
        const r = await withTimeout((signal) => target.writeIfNewer([value], { signal, fence }), o.timeoutMs, 'lazy copy');
        if (r.inserted + r.updated > 0) {
          this.stats.lazyCopies++;
          this.#events.emit('lazy-copied', { keyId: keyId(key) });
        }
      },
      timed: (operation, fn) => withTimeout(fn, o.timeoutMs, `${operation} (migration ${this.name})`),
      track: (work) => this.#track(work),
      close: () => this.close(),
    };
  }

  /** Shadow comparisons in the current phase version, saved for the fleet-wide gate (at most once a second). */
  readonly #shadowCounters = { phaseVersion: 0, comparisons: 0, mismatches: 0, dirty: false, savedAt: 0 };

  #countShadow(version: number, mismatch: boolean): void {
    const c = this.#shadowCounters;
    if (c.phaseVersion !== version) Object.assign(c, { phaseVersion: version, comparisons: 0, mismatches: 0 });
    c.comparisons++;
    if (mismatch) c.mismatches++;
    c.dirty = true;
  }

  async #saveShadowCounters(force = false): Promise<void> {
    const c = this.#shadowCounters;
    if (!c.dirty || (!force && Date.now() - c.savedAt < 1000)) return;
    c.dirty = false;
    c.savedAt = Date.now();
    const saved: ShadowCounters = { phaseVersion: c.phaseVersion, comparisons: c.comparisons, mismatches: c.mismatches };
    await saveCheckpoint(this.#control, this.name, CHECKPOINTS.shadow(this.instanceId), saved);
  }

  /**
   * Queues a comparison off the served path: the call that served the answer
   * only pushes a record; the queue is drained once per turn of the event
   * loop, after the answers of that turn have gone back to their callers.
   */
  #scheduleShadow(key: K, answer: E | undefined, servedFrom: Side, state: PhaseState): void {
    const shadow = this.#shadow;
    if (shadow.sampleRate !== undefined && Math.random() >= shadow.sampleRate) return;
    if (this.#shadowInFlight >= (shadow.maxInFlight ?? 64)) {
      this.stats.comparisonsDropped++;
      return;
    }
    this.#shadowInFlight++;
    this.#shadowQueue.push({ key, answer, servedFrom, state });
    if (this.#shadowQueue.length === 1) setImmediate(this.#drainShadows);
  }

  readonly #drainShadows = (): void => {
    const jobs = this.#shadowQueue;
    this.#shadowQueue = [];
    for (const job of jobs) void this.#runShadow(job);
  };

  /** One comparison, counted in flight from when it was queued until it ends (settle() waits for them all). */
  async #runShadow(job: ShadowJob<K, E>): Promise<void> {
    try {
      await this.#compareShadow(job);
    } catch (error) {
      this.#events.emit('error', { operation: 'background', error });
    } finally {
      if (--this.#shadowInFlight === 0 && this.#shadowsIdle) {
        this.#shadowsIdle.resolve();
        this.#shadowsIdle = undefined;
      }
    }
  }

  async #compareShadow({ key, answer, servedFrom, state }: ShadowJob<K, E>): Promise<void> {
    const shadow = this.#shadow;
    const other = servedFrom === 'old' ? this.#o.new : this.#o.old;
    const served = servedFrom === 'old' ? this.#o.old : this.#o.new;
    const read = (s: Store<K, E>): Promise<E | undefined> => withTimeout((signal) => s.get(key, { signal }), this.#o.timeoutMs, 'shadow read');
    let mine = answer;
    let theirs: E | undefined;
    try {
      theirs = await read(other);
      this.#secondaryWindow.record(false);
    } catch {
      this.stats.secondaryFailures++;
      this.#secondaryWindow.record(true);
      this.#checkHalt();
      return;
    }
    const pair = (): [E | undefined, E | undefined] => (servedFrom === 'old' ? [mine, theirs] : [theirs, mine]);
    let fields = compareAnswers(...pair(), shadow);
    const recheck = shadow.recheckMs ?? 50;
    if (fields.length > 0 && recheck > 0) {
      await sleep(recheck);
      [mine, theirs] = await Promise.all([read(served), read(other)]);
      fields = compareAnswers(...pair(), shadow);
    }
    this.stats.comparisons++;
    this.#countShadow(state.version, fields.length > 0);
    this.#mismatchWindow.record(fields.length > 0);
    if (fields.length > 0) {
      this.stats.mismatches++;
      const [oldE, newE] = pair();
      this.#events.emit('mismatch', {
        keyId: keyId(key),
        fields,
        phase: state.phase,
        ...(shadow.includeValues ? { values: { old: oldE, new: newE } } : {}),
      });
      this.#checkHalt();
    }
  }
}

/** A comparison waiting to run: the key, the answer served, and where and under which phase it was served. */
interface ShadowJob<K, E> {
  readonly key: K;
  readonly answer: E | undefined;
  readonly servedFrom: Side;
  readonly state: PhaseState;
}

function directionOf(state: PhaseState): RepairDirection {
  return PHASE_RULES[state.phase].authoritative === 'old' ? 'old-to-new' : 'new-to-old';
}

function checkPercent(p: number): number {
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new MidairError('INVALID_ARGUMENT', 'a ramp percentage must be between 0 and 100');
  return p;
}


function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
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
