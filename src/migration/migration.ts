import { hostname } from 'node:os';
import { userInfo } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AuditAction, AuditEntry, ControlStore, InstanceInfo, PhaseSetting, PhaseState, RepairDirection } from '../control/control-store.js';
import { REPAIR_DIRECTIONS } from '../control/control-store.js';
import { MidairError } from '../errors.js';
import { keyId, parseKeyId, type Key } from '../keys.js';
import type { Store } from '../store.js';
import { TypedEvents, type MigrationEventName, type MigrationEvents } from './events.js';
import { crossesAuthority, HALT_TARGET, nextPhase, PHASE_RULES, previousPhase, type Phase, type Side } from './phases.js';
import { RateWindow } from './rate-window.js';
import { FACT_NAMES, readFacts, resetFactsForNew, type ShadowCounters } from './facts.js';
import { checkGates, type GateCheck, type GateThresholds, type MigrationFacts, type VerificationSummary } from './gates.js';
import { createRepository, type QueryDefs, type Repository } from './repository.js';
import type { Runtime, WriteTicket } from './runtime.js';
import { compareAnswers, rampBucket, type ShadowOptions } from './shadow.js';
import { withTimeout } from './timeout.js';
import { acceptDeadLetters, backfillControlName, checkKeyMappings, refusedResult, retryDeadLetters, runBackfill, type BackfillControl, type BackfillOptions, type BackfillResult, type KeyMappings } from '../backfill/backfill.js';
import { phaseRefusal } from '../backfill/guards.js';
import { repairKeys } from '../verify/repair.js';
import { runVerify } from '../verify/verify.js';
import type { RepairReport, VerifyOptions, VerifyReport } from '../verify/verify-options.js';

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
  /**
   * Before authority changes hands, instances seen this recently must also
   * have acknowledged the freeze: one that stalled past its expiry may still
   * hold an acknowledged write not yet copied. Default 10 × instanceExpiryMs.
   */
  readonly crossingGraceMs?: number;
  /** How long a write waits out a cutover freeze before failing with TIMEOUT. Default 30 000 ms. */
  readonly pauseTimeoutMs?: number;
  /** Copy an entity into new when a read misses there and finds it in old. */
  readonly lazy?: boolean;
  /** Keys always read from new during the ramp, whatever the percentage. */
  readonly rampAllow?: readonly K[];
  readonly shadow?: ShadowOptions<E>;
  /** `false` turns auto-halt off. */
  readonly autoHalt?: AutoHaltOptions | false;
  /** Run a repairer in this instance. Default true, every 500 ms. */
  readonly repair?: { readonly enabled?: boolean; readonly intervalMs?: number; readonly batch?: number };
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

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  readonly #localPending = new Set<string>();
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
  #started = false;
  #closed = false;
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
    this.instanceId = options.instanceId ?? `${this.#host}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#actor = options.actor ?? `${safeUser()}@${this.#host}`;
    this.#rampAllow = new Set((options.rampAllow ?? []).map((k) => keyId(k)));
    this.#shadow = options.shadow ?? {};
    this.#halt = options.autoHalt === false ? undefined : { windowMs: 60_000, maxErrorRate: 0.2, maxMismatchRate: 0.05, minSamples: 50, ...options.autoHalt };
    this.#secondaryWindow = new RateWindow(this.#halt?.windowMs ?? 60_000);
    this.#mismatchWindow = new RateWindow(this.#halt?.windowMs ?? 60_000);
  }

  // ── lifecycle ───────────────────────────────────────────────────────────

  /** Joins the fleet: reads (or creates) the phase, heartbeats, and starts polling and repairing. */
  async start(): Promise<this> {
    if (this.#started) return this;
    this.#started = true;
    await this.#control.setup();
    this.#applyState(await this.#control.init(this.name, this.#actor));
    await this.#refresh();
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

  /** Leaves the fleet: stops timers, waits for background work, removes this instance's heartbeat. Stores stay open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#unsubscribe?.().catch(() => undefined);
    await this.settle();
    await this.#saveShadowCounters(true).catch(() => undefined);
    if (this.#started) await this.#control.removeInstance(this.name, this.instanceId).catch(() => undefined);
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
        const state = await this.#control.getState(this.name);
        if (!state) throw new MidairError('SCHEMA_MISMATCH', `migration ${this.name} has no state in the control store`);
        if (state.version !== this.#state?.version) this.#applyState(state);
        await this.#heartbeat();
        await this.#saveShadowCounters();
        this.#lastRefresh = Date.now();
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
    if (this.#started && !this.#closed) void this.#heartbeat().catch(() => undefined);
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
    // The common case answers at once, with no promise of its own.
    if (this.#started && Date.now() - this.#lastRefresh <= this.#o.instanceExpiryMs / 2) return this.state;
    return this.#currentAfterRefresh();
  }

  async #currentAfterRefresh(): Promise<PhaseState> {
    if (!this.#started) await this.start();
    if (Date.now() - this.#lastRefresh > this.#o.instanceExpiryMs / 2) {
      try {
        return await this.#refresh();
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
   * Moves back one phase. From `new-primary` it first re-syncs old from new
   * (the repair queue), under the cutover freeze. Refused, with nothing
   * written, in `old-only` (nothing to roll back) and in `complete` (old no
   * longer gets writes and its tombstones may be gone: there is no way back).
   * Back in `old-only`, what was known about new is forgotten (facts.ts).
   */
  async rollback(options: TransitionOptions): Promise<PhaseState> {
    const refuse = (s: PhaseState | undefined): void => {
      if (!s || s.phase === 'old-only') throw new MidairError('INVALID_ARGUMENT', `migration ${this.name} is in old-only: there is nothing to roll back`);
      if (s.phase === 'complete') {
        throw new MidairError('INVALID_ARGUMENT', `migration ${this.name} is complete: old no longer gets writes and its tombstones may be purged, so there is no rollback from complete; nothing changed`);
      }
    };
    refuse(await this.#control.getState(this.name)); // validated before anything is written
    const next = await this.#transition('rollback', options, (s) => {
      refuse(s);
      if (s.phase === 'old-read-only' && !options.force) {
        throw new MidairError(
          'INVALID_ARGUMENT',
          `migration ${this.name}: old has received no writes since entering old-read-only; rolling back needs a reverse backfill first (then force the rollback with a reason)`,
        );
      }
      return { phase: previousPhase(s.phase) };
    });
    if (next.phase === 'old-only') await resetFactsForNew(this.#control, this.name, options.actor ?? this.#actor, `rollback to old-only (${options.reason})`);
    return next;
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
      await this.#waitForFleet(s.version);
      if (crossesAuthority(s.phase, target.phase)) {
        if (!s.writesPaused) {
          const paused = await this.#control.compareAndSet(this.name, s.version, { ...s, writesPaused: true }, {
            ...audit,
            action: 'pause',
            reason: `cutover freeze: ${s.phase} → ${target.phase} changes the authoritative store (${options.reason})`,
          });
          if (!paused) throw this.#conflict();
          continue; // wait until every instance holds its writes
        }
        await this.#waitForFleet(s.version, this.#o.crossingGraceMs ?? this.#o.instanceExpiryMs * 10);
        try {
          await this.drainRepairs(s, Date.now() + this.#o.ackTimeoutMs);
        } catch (error) {
          await this.#control.compareAndSet(this.name, s.version, { ...s, writesPaused: false }, { ...audit, action: 'pause', reason: `cutover aborted: the repair queue did not drain` });
          throw error;
        }
      }
      const next = await this.#control.compareAndSet(this.name, s.version, target, audit);
      if (!next) throw this.#conflict();
      if (this.#started) this.#applyState(next);
      return next;
    }
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
    // No instance may still write old alone, nor hold a second write it began before a stall.
    await this.awaitFleet({ withinMs: this.#o.crossingGraceMs ?? this.#o.instanceExpiryMs * 10 });
    return runBackfill(this.name, this.#o.old, this.#o.new, this.#control, options);
  }

  /** Copies what new still lacks (keys in old, absent in new): after a lazy migration, also in old-read-only. */
  async sweep(options: Omit<BackfillOptions<E>, 'missingOnly' | 'tombstonesWin'> = {}): Promise<BackfillResult> {
    const state = await this.#control.getState(this.name);
    const newRules = state !== undefined && PHASE_RULES[state.phase].authoritative === 'new';
    return this.backfill({ ...options, missingOnly: true, tombstonesWin: newRules });
  }

  /** Pauses, resumes or retunes a running backfill (any process that shares the control store). */
  async controlBackfill(settings: BackfillControl, name = 'backfill'): Promise<void> {
    await this.#control.saveCheckpoint(this.name, backfillControlName(name), JSON.stringify(settings));
  }

  /** Copies the dead letters' keys again, after the code that failed them was fixed (copies only: it never deletes). */
  async retryDeadLetters(options: Pick<BackfillOptions<E>, 'transform' | 'signal' | 'keyMappings'> = {}): Promise<{ retried: number; copied: number; stillFailing: number }> {
    const refusal = await phaseRefusal(this.#control, this.name, 'sweep');
    if (refusal) throw refusal;
    if (options.keyMappings) await checkKeyMappings(options.keyMappings, this.#o.old, { signal: options.signal });
    return retryDeadLetters(this.name, this.#o.old, this.#o.new, this.#control, options);
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
      const repair = await this.repair(differing, merged);
      const clean = repair.stillDifferent.total === 0 && report.untracked === 0;
      final = { ...report, status: clean ? 'equal' : 'different', repair };
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
    await this.#control.saveCheckpoint(this.name, FACT_NAMES.lastVerification, JSON.stringify(summary));
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
      return await repairKeys(ticket.state, keyIds, { old: this.#o.old, new: this.#o.new }, options);
    } finally {
      ticket.end();
    }
  }

  // ── repairs ─────────────────────────────────────────────────────────────

  /** Re-syncs queued keys from the store authoritative under `state`, until the queue is empty. */
  async drainRepairs(state?: PhaseState, deadline = Date.now() + this.#o.ackTimeoutMs): Promise<number> {
    let done = 0;
    for (;;) {
      const s = state ?? (await this.#current());
      const n = await this.#repairBatch(s, 500);
      done += n;
      if ((await this.#control.repairDepth(this.name)) === 0) return done;
      if (Date.now() > deadline) throw new MidairError('TIMEOUT', `migration ${this.name}: the repair queue did not drain in time`);
      if (n === 0) await sleep(50);
    }
  }

  async #repairTick(): Promise<void> {
    if (this.#closed || !this.#state || this.#repairing) return; // never two batches at once
    this.#repairing = true;
    let ticket: WriteTicket | undefined;
    try {
      if (this.#localPending.size > 0) await this.#flushLocalPending();
      if (this.#state.writesPaused) return;
      ticket = await this.#beginWrite();
      await this.#repairBatch(ticket.state, this.#o.repair?.batch ?? 100);
    } catch (error) {
      this.#events.emit('error', { operation: 'repair', error });
    } finally {
      ticket?.end();
      this.#repairing = false;
    }
  }

  async #repairBatch(state: PhaseState, limit: number): Promise<number> {
    const from: Side = PHASE_RULES[state.phase].authoritative;
    const source = from === 'old' ? this.#o.old : this.#o.new;
    const target = from === 'old' ? this.#o.new : this.#o.old;
    let done = 0;
    for (const direction of REPAIR_DIRECTIONS) {
      for (const entry of await this.#control.peekRepairs(this.name, direction, limit)) {
        const key = parseKeyId(entry.keyId) as K;
        try {
          const result = await withTimeout(
            (signal) => target.syncKey(key, () => withTimeout((s) => source.get(key, { signal: s }), this.#o.timeoutMs, 'repair read'), { signal }),
            this.#o.timeoutMs,
            `repair sync of ${target.name}`,
          );
          if (await this.#control.completeRepair(this.name, direction, entry.keyId, entry.seq)) {
            done++;
            this.stats.repaired++;
            this.#events.emit('repaired', { keyId: entry.keyId, result });
          }
        } catch (error) {
          await this.#control.failRepair(this.name, direction, entry.keyId, entry.seq).catch(() => undefined);
          this.#events.emit('error', { operation: `repair of ${entry.keyId}`, error });
        }
      }
    }
    return done;
  }

  async #flushLocalPending(): Promise<void> {
    const state = this.state;
    const keys = [...this.#localPending];
    await this.#control.enqueueRepairs(this.name, directionOf(state), keys.map((k) => ({ keyId: k, reason: 'QUEUED_LATE' })));
    for (const k of keys) this.#localPending.delete(k);
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
      reason = `the ${other} store failed ${errors.failed} of ${errors.total} calls in ${windowS} s (${pct(errors.rate)}, limit ${pct(halt.maxErrorRate)})`;
    } else if (mismatches.total >= halt.minSamples && mismatches.rate > halt.maxMismatchRate) {
      reason = `${mismatches.failed} of ${mismatches.total} shadow comparisons mismatched in ${windowS} s (${pct(mismatches.rate)}, limit ${pct(halt.maxMismatchRate)})`;
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
        if (this.#localPending.has(id)) return true;
        const pending = await this.#control.pendingRepairs(this.name, direction, [id]);
        return pending.has(id);
      },
      enqueueRepair: async (id, reason, state, mustQueue) => {
        this.stats.repairsEnqueued++;
        try {
          await this.#control.enqueueRepairs(this.name, directionOf(state), [{ keyId: id, reason }]);
          this.#events.emit('repair-enqueued', { keyId: id, reason });
        } catch (error) {
          this.#localPending.add(id); // retried by the repair loop
          if (mustQueue) {
            throw new MidairError('CONNECTION', `migration ${this.name}: the second write failed and its repair could not be queued; the write reached the authoritative store but may not be visible on every instance yet`, {
              cause: error,
            });
          }
          this.#events.emit('error', { operation: 'enqueue repair', error });
        }
      },
      recordSecondary: (ok) => {
        if (!ok) this.stats.secondaryFailures++;
        this.#secondaryWindow.record(!ok);
        if (!ok) this.#checkHalt();
      },
      shadow: (key, answer, servedFrom, state) => this.#scheduleShadow(key, answer, servedFrom, state),
      lazyCopy: async (key, into) => {
        const target = into === 'new' ? o.new : o.old;
        const source = into === 'new' ? o.old : o.new;
        const value = await withTimeout((signal) => source.get(key, { signal }), o.timeoutMs, 'lazy read');
        if (value === undefined) return;
        const r = await withTimeout((signal) => target.writeIfNewer([value], { signal }), o.timeoutMs, 'lazy copy');
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
    await this.#control.saveCheckpoint(this.name, FACT_NAMES.shadow(this.instanceId), JSON.stringify(saved));
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

function pct(rate: number): string {
  return `${(rate * 100).toFixed(1)} %`;
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
