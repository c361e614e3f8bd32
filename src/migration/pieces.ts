import type { ControlStore, PhaseState } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import { AutoHalt } from './auto-halt.js';
import { Background } from './background.js';
import type { TypedEvents } from './events.js';
import { Jobs } from './jobs.js';
import { Lifecycle } from './lifecycle.js';
import { Operator } from './operator.js';
import type { MigrationStats, Settings } from './options.js';
import { PhaseFollower } from './phase-follower.js';
import { RepairTick } from './repair-tick.js';
import { Repairer } from './repairer.js';
import { ShadowComparator } from './shadow-comparator.js';
import { Transitions } from './transitions.js';
import { InFlight, WriteTickets } from './write-tickets.js';
import { LatencyWindow } from './latency-window.js';
import type { Notify } from '../hooks/webhook-types.js';
import { CapacityRecorder } from './capacity.js';

/** The pieces one migration instance is made of (docs/decisions/0010). */
export interface Pieces<K extends Key, E extends object> {
  readonly life: Lifecycle;
  readonly background: Background;
  readonly repairer: Repairer<K, E>;
  readonly halt: AutoHalt;
  readonly shadow: ShadowComparator<K, E>;
  readonly follower: PhaseFollower;
  readonly tickets: WriteTickets;
  readonly operator: Operator<K, E>;
  readonly jobs: Jobs<K, E>;
  readonly repairTick: RepairTick<K, E>;
  /** The latency of the writes the repository served lately (reported with each heartbeat). */
  readonly servedWrites: LatencyWindow;
}

/**
 * The window each heartbeat's served-write latency covers: a second, in
 * quarters, so a backfill that pushes it up sees it within a heartbeat or
 * two and sees it fall again a second after it eased off.
 */
const SERVED_WINDOW_MS = 1000;
const SERVED_WINDOW_SLICES = 4;

/** Who the instance is and what it shares with its pieces. */
export interface Identity {
  readonly name: string;
  readonly instanceId: string;
  readonly host: string;
  readonly actor: string;
  readonly control: ControlStore;
  readonly stats: MigrationStats;
  readonly events: TypedEvents;
  /** Announces what this process did (its webhooks): the piece that acted calls it, once per event. */
  readonly notify: Notify;
  /** Starts the instance (the follower starts it on first use). */
  readonly start: () => Promise<unknown>;
}

/**
 * Builds the pieces in order and passes each what it needs as values or
 * callbacks; callbacks, not imports, close the loops between them (auto-halt
 * calls the operator, the jobs wait for the fleet through it, the operator's
 * rollback verifies through the jobs).
 */
export function assemblePieces<K extends Key, E extends object>(o: Settings<K, E>, id: Identity): Pieces<K, E> {
  const { name, instanceId, control, stats, events, actor, notify } = id;
  const life = new Lifecycle(`migration ${name}`);
  const background = new Background(events);
  const track = (work: Promise<unknown>): void => background.track(work);
  const repairer = newRepairer(o, id);
  // Filled in below; the callbacks that read it run only after construction.
  const late: { operator?: Operator<K, E>; follower?: PhaseFollower } = {};
  const op = (): Operator<K, E> => late.operator as Operator<K, E>;
  const halt = new AutoHalt({
    options: o.autoHalt,
    phase: () => (late.follower as PhaseFollower).known,
    // The instance whose auto-halt fired announces it (its phase change is announced by the transition).
    halt: async (from, to, reason) => {
      const state = await op().halt(from, to, reason);
      notify('halted', { from, to, reason });
      return state;
    },
    stats,
    events,
    track,
  });
  const shadow = new ShadowComparator({
    name,
    instanceId,
    control,
    old: o.old,
    new: o.new,
    timeoutMs: o.timeoutMs,
    shadow: o.shadow ?? {},
    stats,
    events,
    halt,
  });
  const inFlight = new InFlight();
  const servedWrites = new LatencyWindow(SERVED_WINDOW_MS, SERVED_WINDOW_SLICES);
  // The capacity gate's figures: every call the repository and the shadow reads make on a store, for the heartbeat.
  const capacity = new CapacityRecorder();
  events.on('store-call', (call) => capacity.record(call));
  const { pollMs, instanceExpiryMs } = o;
  const f = (late.follower = new PhaseFollower({
    name,
    instanceId,
    host: id.host,
    control,
    events,
    life,
    pollMs,
    instanceExpiryMs,
    inFlight,
    start: id.start,
    onPhaseChange: () => halt.reset(),
    servedWrites: () => servedWrites.report(),
    storeCalls: (version) => capacity.report(version),
    afterRefresh: async () => shadow.saveCounters(),
  }));
  const tickets = new WriteTickets({ name, pauseTimeoutMs: o.pauseTimeoutMs, follower: f, inFlight, stats });
  const published = (state: PhaseState): void => {
    if (life.started) f.apply(state);
  };
  const transitions = new Transitions({ settings: o, control, actor, events, repairer, published, notify });
  const jobs = new Jobs({
    settings: o,
    control,
    actor,
    repairer,
    awaitFleet: async () => op().awaitFleet(),
    current: () => f.current(),
    beginWrite: async () => tickets.begin(),
    notify,
  });
  const operator = (late.operator = new Operator({
    settings: o,
    control,
    instanceId,
    events,
    transitions,
    notify,
    verify: async (v) => jobs.verify(v),
  }));
  const repairTick = new RepairTick(life, f, repairer, events);
  return { life, background, repairer, halt, shadow, follower: f, tickets, operator, jobs, repairTick, servedWrites };
}

function newRepairer<K extends Key, E extends object>(o: Settings<K, E>, id: Identity): Repairer<K, E> {
  const { name, instanceId, control, events, stats, notify } = id;
  return new Repairer(
    {
      name,
      owner: instanceId,
      control,
      old: o.old,
      new: o.new,
      events,
      notify,
      timeoutMs: o.timeoutMs,
      lateLandingMs: o.lateLandingMs ?? 60_000,
      intentDelayMs: o.intentDelayMs ?? o.timeoutMs * 5,
      now: () => Date.now(),
      onRepaired: () => stats.repaired++,
    },
    o.repair,
  );
}
