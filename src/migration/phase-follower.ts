import type { ControlStore, PhaseState, ServedLatency } from '../control/control-store.js';
import type { StoreCallFigures } from '../control/fleet.js';
import { MidairError } from '../core/errors.js';
import type { TypedEvents } from './events.js';
import type { Lifecycle } from './lifecycle.js';

/** The writes this instance runs, as the acknowledgement needs them. */
export interface InFlightWrites {
  olderThan(version: number): boolean;
  total(): number;
}

export interface FollowerDeps {
  readonly name: string;
  readonly instanceId: string;
  readonly host: string;
  readonly control: ControlStore;
  readonly events: TypedEvents;
  readonly life: Lifecycle;
  readonly pollMs: number;
  readonly instanceExpiryMs: number;
  readonly inFlight: InFlightWrites;
  /** Starts the instance (a call served before start() joins the fleet first). */
  readonly start: () => Promise<unknown>;
  /** The phase served changed (not only its version). */
  readonly onPhaseChange: () => void;
  /** The latency of the writes this instance served lately, which each heartbeat reports (jobs pace on it). */
  readonly servedWrites: () => ServedLatency | undefined;
  /** The calls this instance made on each store in phase version `version` (each heartbeat reports them; the capacity gate sums them). */
  readonly storeCalls: (version: number) => StoreCallFigures;
  /** After each refresh's heartbeat (the shadow counters are saved there). */
  readonly afterRefresh: () => Promise<void>;
}

/**
 * Follows the fleet-wide phase: refreshes it from the control store, applies
 * newer versions, acknowledges one once no older write still runs, heartbeats,
 * and lets a caller wait for the next change.
 */
export class PhaseFollower {
  readonly #d: FollowerDeps;
  #state: PhaseState | undefined;
  #acked = 0;
  #lastRefresh = 0;
  #waiters: (() => void)[] = [];
  #refreshing: Promise<PhaseState> | undefined;

  constructor(deps: FollowerDeps) {
    this.#d = deps;
  }

  /** The phase this instance serves with (as of its last refresh). */
  get state(): PhaseState {
    if (!this.#state) throw new MidairError('INVALID_ARGUMENT', `migration ${this.#d.name}: call start() first`);
    return this.#state;
  }

  /** The phase last applied, if any. */
  get known(): PhaseState | undefined {
    return this.#state;
  }

  /** The refresh in flight, if any. */
  get refreshing(): Promise<PhaseState> | undefined {
    return this.#refreshing;
  }

  async refresh(): Promise<PhaseState> {
    this.#refreshing ??= (async () => {
      try {
        // Fresh as of when the state was read, not when the call came back: a refresh that stalled is stale on arrival.
        const readAt = Date.now();
        const state = await this.#d.control.getState(this.#d.name);
        if (!state)
          throw new MidairError('SCHEMA_MISMATCH', `migration ${this.#d.name} has no state in the control store`);
        if (state.version !== this.#state?.version) this.apply(state);
        if (this.#d.life.heartbeats) await this.#heartbeat();
        await this.#d.afterRefresh();
        this.#lastRefresh = Math.max(this.#lastRefresh, readAt);
        return state;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  apply(state: PhaseState): void {
    const from = this.#state;
    if (from && state.version <= from.version) return;
    this.#state = state;
    // Rates measure the phase being served: failures counted under the previous one must not halt this one too.
    if (from && from.phase !== state.phase) this.#d.onPhaseChange();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
    this.#d.events.emit('phase-changed', { from, to: state });
    this.maybeAck();
  }

  /** Acknowledge the newest phase once no write started under an older one is still running. */
  maybeAck(): void {
    const v = this.#state?.version ?? 0;
    if (v <= this.#acked) return;
    if (this.#d.inFlight.olderThan(v)) return;
    this.#acked = v;
    if (this.#d.life.heartbeats) void this.#heartbeat().catch(() => undefined);
  }

  async #heartbeat(): Promise<void> {
    const { control, name, instanceId, host } = this.#d;
    await control.heartbeat({
      migration: name,
      instanceId,
      host,
      phaseVersion: this.#acked,
      inFlightWrites: this.#d.inFlight.total(),
      servedWrites: this.#d.servedWrites(),
      ...(this.#state ? { storeCalls: this.#d.storeCalls(this.#state.version) } : {}),
    });
  }

  /**
   * The phase to serve with. An instance whose last successful refresh is
   * older than half the expiry may already be out of the fleet: it refreshes
   * before serving, and fails the call if it cannot (fencing).
   */
  current(): PhaseState | Promise<PhaseState> {
    const life = this.#d.life;
    life.assertServing();
    // The common case answers at once, with no promise of its own.
    if (life.serving && Date.now() - this.#lastRefresh <= this.#d.instanceExpiryMs / 2) return this.state;
    return this.#currentAfterRefresh();
  }

  async #currentAfterRefresh(): Promise<PhaseState> {
    const { life, name, instanceExpiryMs } = this.#d;
    if (!life.serving) await this.#d.start();
    life.assertServing();
    for (let tries = 0; Date.now() - this.#lastRefresh > instanceExpiryMs / 2; tries++) {
      if (tries >= 3) {
        throw new MidairError(
          'CONNECTION',
          `migration ${name}: the control store answers too slowly to know the current phase (three reads each older than half the instance expiry); refusing to serve`,
        );
      }
      try {
        await this.refresh();
      } catch (cause) {
        throw new MidairError(
          'CONNECTION',
          `migration ${name}: the control store is unreachable, so this instance cannot know the phase; refusing to serve`,
          { cause },
        );
      }
    }
    return this.state;
  }

  /** Resolves at the next phase change, after a poll interval, or at `deadline`, whichever comes first. */
  async waitForChange(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(left, this.#d.pollMs));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
