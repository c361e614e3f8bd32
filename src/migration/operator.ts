import type { AuditEntry, ControlStore, InstanceInfo, PhaseState } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import { nextPhase, type Phase } from '../core/phases.js';
import type { VerifyOptions, VerifyReport } from '../verify/verify-options.js';
import type { TypedEvents } from './events.js';
import { readFacts } from './facts.js';
import { raiseFences } from './fencing.js';
import { checkGates, type GateCheck, type GateThresholds, type MigrationFacts } from './gates.js';
import { advanceChange, passGates, rampChange, requireReason, rollbackChange } from './operator-rules.js';
import type { RollbackResult, Settings, TransitionOptions } from './options.js';
import type { Transitions } from './transitions.js';
import type { Notify } from '../hooks/webhook-types.js';

export interface OperatorDeps<K extends Key, E extends object> {
  readonly settings: Settings<K, E>;
  readonly control: ControlStore;
  readonly instanceId: string;
  readonly events: TypedEvents;
  readonly transitions: Transitions<K, E>;
  /** Announces a gated advance this process refused (its webhook). */
  readonly notify: Notify;
  /** The verification the rollback re-syncs old with (a job). */
  readonly verify: (options: VerifyOptions<E>) => Promise<VerifyReport>;
}

/**
 * The operator's calls: phase changes (advance, rollback with its re-sync
 * of old, ramp, strict, the auto-halt's step back), and what they are
 * decided on (gates, facts, the fleet, the audit log).
 */
export class Operator<K extends Key, E extends object> {
  readonly #d: OperatorDeps<K, E>;
  readonly #name: string;

  constructor(deps: OperatorDeps<K, E>) {
    this.#d = deps;
    this.#name = deps.settings.name;
  }

  async advance(options: TransitionOptions & { readonly rampPercent?: number }): Promise<PhaseState> {
    requireReason(options.reason, `migration ${this.#name}: advance`);
    if (options.gated) {
      const state = await this.#d.control.getState(this.#name);
      const to = state && nextPhase(state.phase);
      const thresholds = typeof options.gated === 'object' ? options.gated : {};
      if (to) options = { ...options, reason: await this.passGates(to, thresholds, options) };
    }
    return this.#d.transitions.transition('advance', options, (s) => advanceChange(this.#name, s, options.rampPercent));
  }

  async facts(): Promise<MigrationFacts> {
    return readFacts(this.#d.control, this.#name, this.#d.settings.instanceExpiryMs);
  }

  async gates(to?: Phase, thresholds: GateThresholds = {}): Promise<GateCheck[]> {
    const facts = await this.facts();
    const target = to ?? nextPhase(facts.state.phase);
    return target ? checkGates(target, facts, thresholds) : [];
  }

  /** The audit reason when the gates into `to` pass (or are forced); BLOCKED, announced as `gate-refused`, when not. */
  async passGates(
    to: Phase,
    thresholds: GateThresholds,
    options: { readonly reason: string; readonly force?: boolean },
  ): Promise<string> {
    const facts = await this.facts();
    const checks = checkGates(to, facts, thresholds);
    try {
      return passGates(this.#name, to, checks, options);
    } catch (error) {
      const gates = checks.filter((g) => !g.ok).map((g) => ({ gate: g.gate, detail: g.detail }));
      this.#d.notify('gate-refused', { from: facts.state.phase, to, gates });
      throw error;
    }
  }

  async rollback(options: TransitionOptions & { readonly resync?: VerifyOptions<E> | false }): Promise<RollbackResult> {
    // Refused before the re-sync writes anything.
    options = { ...options, reason: requireReason(options.reason, `migration ${this.#name}: rollback`) };
    const from = (await this.#d.control.getState(this.#name))?.phase ?? 'old-only';
    const resyncOptions: VerifyOptions<E> | undefined =
      options.resync === false ? undefined : { mode: 'full', ...options.resync, repair: true };
    const step = (reason: string, force: boolean): Promise<PhaseState> =>
      this.#d.transitions.transition('rollback', { ...options, reason, force }, (s) =>
        rollbackChange(this.#name, s, force),
      );
    if (from === 'old-read-only' && resyncOptions) {
      const next = await step(`${options.reason} [old re-synced from new right after]`, true);
      // Writes issued under old-read-only reach new alone: the re-sync must come after the last of them (regression:
      // one still in flight landed after the re-sync and old never got it). Live instances finish theirs; a stalled
      // one's is refused at new from here on.
      // The switch is made: whatever fails here is reported, and the re-sync (which reports for itself) still runs.
      await this.awaitFleet().catch((error: unknown) =>
        this.#d.events.emit('error', { operation: 'wait for the fleet before the re-sync', error }),
      );
      const o = this.#d.settings;
      await raiseFences(
        { old: o.old, new: o.new },
        this.#name,
        next.version,
        { old: false, new: false },
        o.timeoutMs,
        (side, error) => this.#d.events.emit('error', { operation: `raise the fence of ${side}`, error }),
      );
      return { ...next, resync: await this.#d.verify(resyncOptions) };
    }
    if (from === 'new-primary' && resyncOptions) {
      const resync = await this.#d.verify(resyncOptions);
      if (resync.status !== 'equal' && !options.force) {
        const left = resync.repair?.stillDifferent.total ?? resync.different.total;
        const why =
          resync.status === 'different'
            ? `${left} key(s) still differ`
            : `the verification ${resync.status}${resync.error ? `: ${resync.error.code}: ${resync.error.message}` : ''}`;
        throw new MidairError(
          'BLOCKED',
          `migration ${this.#name}: old could not be re-synced from new (${why}); nothing changed. Try again, or force it with a reason if you must.`,
        );
      }
      return { ...(await step(options.reason, options.force ?? false)), resync };
    }
    return step(options.reason, options.force ?? false);
  }

  async setRamp(percent: number, options: TransitionOptions): Promise<PhaseState> {
    requireReason(options.reason, `migration ${this.#name}: setRamp`);
    return this.#d.transitions.transition('set', options, (s) => rampChange(this.#name, s, percent));
  }

  async setStrict(strict: boolean, options: TransitionOptions): Promise<PhaseState> {
    requireReason(options.reason, `migration ${this.#name}: setStrict`);
    return this.#d.transitions.transition('strict', options, () => ({ strict }));
  }

  /** Auto-halt's step back from `from` to `to`, refused (CONFLICT) if the phase moved meanwhile. */
  async halt(from: Phase, to: Phase, reason: string): Promise<PhaseState> {
    const transitions = this.#d.transitions;
    return transitions.transition(
      'halt',
      { reason: `auto-halt: ${reason}`, actor: `auto-halt@${this.#d.instanceId}` },
      (s) =>
        s.phase === from
          ? { phase: to }
          : (() => {
              throw transitions.conflict();
            })(),
    );
  }

  async awaitFleet(options: { readonly withinMs?: number } = {}): Promise<void> {
    const state = await this.#d.control.getState(this.#name);
    if (state) await this.#d.transitions.waitForFleet(state.version, options.withinMs);
  }

  async auditLog(limit?: number): Promise<AuditEntry[]> {
    return this.#d.control.auditLog(this.#name, { limit });
  }

  async fleet(): Promise<InstanceInfo[]> {
    return this.#d.control.instances(this.#name, new Date(Date.now() - this.#d.settings.instanceExpiryMs));
  }
}
