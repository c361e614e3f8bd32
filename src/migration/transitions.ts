import type {
  AuditAction,
  AuditInput,
  ControlStore,
  InstanceInfo,
  PhaseSetting,
  PhaseState,
} from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import { crossesAuthority, PHASE_RULES, type Side } from '../core/phases.js';
import { sleep } from '../core/sleep.js';
import { secondsUntil, type WaitNotice } from '../core/waits.js';
import type { TypedEvents } from './events.js';
import { resetFactsForNew } from './facts.js';
import { raiseFences } from './fencing.js';
import type { Settings, TransitionOptions } from './options.js';
import type { Repairer } from './repairer.js';
import { requireReason } from './operator-rules.js';
import { phaseSummary } from '../hooks/payloads.js';
import type { Notify } from '../hooks/webhook-types.js';

export interface TransitionDeps<K extends Key, E extends object> {
  readonly settings: Settings<K, E>;
  readonly control: ControlStore;
  readonly actor: string;
  readonly events: TypedEvents;
  readonly repairer: Repairer<K, E>;
  /** A change this instance published (applied at once when the instance runs). */
  readonly published: (state: PhaseState) => void;
  /** Announces a change this process published: every instance hears it, only the one that made it sends its webhook. */
  readonly notify: Notify;
}

/**
 * How the fleet-wide phase changes: wait for the fleet, fence out older
 * writes, freeze writes across a change of authority, drain the repair
 * queue under the freeze (or resume), then publish with compare-and-set.
 */
export class Transitions<K extends Key, E extends object> {
  readonly #d: TransitionDeps<K, E>;
  readonly #name: string;

  constructor(deps: TransitionDeps<K, E>) {
    this.#d = deps;
    this.#name = deps.settings.name;
  }

  async transition(
    action: AuditAction,
    options: TransitionOptions,
    change: (s: PhaseState) => Partial<PhaseSetting>,
  ): Promise<PhaseState> {
    const reason = requireReason(options.reason, `migration ${this.#name}: a phase change (${action})`);
    const { control } = this.#d;
    const actor = options.actor ?? this.#d.actor;
    const audit = { actor, action, reason, forced: options.force ?? false };
    for (;;) {
      const s = (await control.getState(this.#name)) ?? (await control.init(this.#name, actor));
      const target: PhaseSetting = {
        phase: s.phase,
        rampPercent: s.rampPercent,
        writesPaused: false,
        strict: s.strict,
        ...change(s),
      };
      // Liveness, not safety: live instances finish what they began under older versions; a stalled one is fenced below.
      await this.waitForFleet(s.version);
      if (crossesAuthority(s.phase, target.phase)) {
        if (!s.writesPaused) {
          await this.#freeze(s, target, audit, reason);
          continue; // wait until every instance holds its writes
        }
        await this.#cutOver(s, target, audit);
      } else {
        await this.fence(s.version, PHASE_RULES[target.phase].authoritative);
      }
      const next = await control.compareAndSet(this.#name, s.version, target, audit);
      if (!next) throw this.conflict();
      this.#d.published(next);
      this.#d.notify('phase-changed', {
        from: phaseSummary(s),
        to: phaseSummary(next),
        action,
        actor,
        reason,
        forced: audit.forced,
      });
      // Back in old-only, new stops getting writes: what was known about it (backfill, verification, shadow counts) is stale.
      if (next.phase === 'old-only' && s.phase !== 'old-only') {
        await resetFactsForNew(control, this.#name, actor, `${action} to old-only (${reason})`).catch(
          (error: unknown) => this.#d.events.emit('error', { operation: 'reset facts', error }),
        );
      }
      return next;
    }
  }

  /** Enters the cutover freeze at `s` (refused while the repair backlog is too deep), after fencing the authority at `s`. */
  async #freeze(s: PhaseState, target: PhaseSetting, audit: AuditInput, reason: string): Promise<void> {
    const { control, settings } = this.#d;
    const backlog = await control.repairDepth(this.#name);
    const max = settings.maxFreezeBacklog ?? 1000;
    if (backlog > max) {
      throw new MidairError(
        'BLOCKED',
        `migration ${this.#name}: ${backlog} repairs are queued, more than maxFreezeBacklog (${max}); entering the cutover freeze now would hold writes while they drain. Let the repairers catch up (midair status shows the queue), then try again; nothing changed`,
      );
    }
    await this.fence(s.version, PHASE_RULES[s.phase].authoritative);
    const paused = await control.compareAndSet(
      this.#name,
      s.version,
      { ...s, writesPaused: true },
      {
        ...audit,
        action: 'pause',
        reason: `cutover freeze: ${s.phase} → ${target.phase} changes the authoritative store (${reason})`,
      },
    );
    if (!paused) throw this.conflict();
  }

  /**
   * Fences out every write issued under a version below `epoch` before the
   * change is published: the authority's fence must rise; the other's is
   * best effort (a write landing there is a sync from the authority).
   */
  async fence(epoch: number, authority: Side): Promise<void> {
    const o = this.#d.settings;
    await raiseFences(
      { old: o.old, new: o.new },
      this.#name,
      epoch,
      { old: authority === 'old', new: authority === 'new' },
      o.timeoutMs,
      (side, error) => this.#d.events.emit('error', { operation: `raise the fence of ${side}`, error }),
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
    const o = this.#d.settings;
    const epoch = s.version + 1;
    const drainMs = o.freezeDrainMs ?? Math.floor(o.pauseTimeoutMs / 3);
    const started = Date.now();
    let left: number;
    try {
      await raiseFences(
        { old: o.old, new: o.new },
        this.#name,
        epoch,
        { old: true, new: true },
        o.timeoutMs,
        () => undefined,
      );
      ({ left } = await this.#d.repairer.drain(s, {
        epoch,
        fencedBelow: epoch,
        deadline: started + drainMs,
        now: () => Date.now(),
        wait: async () => sleep(Math.min(o.pollMs, 50)),
      }));
    } catch (error) {
      // Never leave the fleet frozen (regression: a fence that could not rise left writes paused, and the fence
      // already raised on the other store refused every repair of the frozen version).
      const code = error instanceof MidairError ? error.code : 'UNKNOWN';
      await this.#resume(
        s,
        audit,
        `cutover ${s.phase} → ${target.phase} abandoned: ${code} while fencing or draining; writes resumed under the same authority`,
      );
      throw error;
    }
    if (left === 0) return;
    const reason = `cutover ${s.phase} → ${target.phase} abandoned: ${left} repair(s) still queued after ${Date.now() - started} ms of the freeze (freezeDrainMs ${drainMs}); writes resumed under the same authority`;
    await this.#resume(s, audit, reason);
    throw new MidairError(
      'BLOCKED',
      `migration ${this.#name}: ${reason}. Let the repairers catch up (or fix what keeps failing: midair repairs list), then try again`,
    );
  }

  /** Ends the freeze at `s` without changing authority; the next version (the one the raised fences allow) serves again. */
  async #resume(s: PhaseState, audit: AuditInput, reason: string): Promise<void> {
    const resumed = await this.#d.control
      .compareAndSet(this.#name, s.version, { ...s, writesPaused: false }, { ...audit, action: 'pause', reason })
      .catch((error: unknown) => {
        this.#d.events.emit('error', { operation: 'resume writes after an abandoned cutover', error });
        return undefined;
      });
    if (resumed) this.#d.published(resumed);
  }

  conflict(): MidairError {
    return new MidairError(
      'CONFLICT',
      `migration ${this.#name}: another phase change happened at the same time; read the status and try again`,
    );
  }

  /** Waits until every instance seen within `withinMs` (default: the live ones) acknowledged `version`. */
  async waitForFleet(version: number, withinMs = this.#d.settings.instanceExpiryMs): Promise<void> {
    const o = this.#d.settings;
    const deadline = Date.now() + o.ackTimeoutMs;
    const said = new Set<string>();
    for (;;) {
      const seen = await this.#d.control.instances(this.#name, new Date(Date.now() - withinMs));
      const behind = seen.filter((i) => i.phaseVersion < version);
      if (behind.length === 0) return;
      for (const i of behind.filter((b) => !said.has(b.instanceId))) {
        said.add(i.instanceId);
        this.#d.events.emit('waiting', fleetWait(i, version, new Date(deadline)));
      }
      if (Date.now() > deadline) {
        throw new MidairError(
          'TIMEOUT',
          `migration ${this.#name}: instances have not acknowledged phase version ${version}: ${behind
            .map((i) => `${i.instanceId} (at ${i.phaseVersion}, last seen ${Date.now() - i.lastSeen.getTime()} ms ago)`)
            .join(', ')}; wait for them, or stop them cleanly (a clean stop leaves the fleet)`,
        );
      }
      await sleep(Math.min(o.pollMs, 100));
    }
  }
}

/** An instance behind on the phase, as a wait for it is said: who, where it stands, and when the wait gives up. */
function fleetWait(i: InstanceInfo, version: number, until: Date): WaitNotice {
  const now = Date.now();
  const seen = Math.max(0, Math.round((now - i.lastSeen.getTime()) / 1000));
  return {
    on: 'instance',
    holder: i.instanceId,
    until,
    message: `waiting for instance ${i.instanceId} (host ${i.host}, at phase version ${i.phaseVersion}, last seen ${seen} s ago) to acknowledge phase version ${version}; giving up at ${until.toISOString()} (in ${secondsUntil(until, now)} s): an instance that is gone can be evicted with \`midair fleet evict\``,
  };
}
