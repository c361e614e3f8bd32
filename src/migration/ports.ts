import type { ControlStore } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import type { AutoHalt } from './auto-halt.js';
import type { Background } from './background.js';
import type { TypedEvents } from './events.js';
import type { MigrationStats, Settings } from './options.js';
import type { PhaseFollower } from './phase-follower.js';
import { createRepairLog } from './repair-log.js';
import type { RepositoryPorts } from './repository-ports.js';
import { createServing } from './serving.js';
import type { ShadowComparator } from './shadow-comparator.js';
import { createSidelines } from './sidelines.js';
import { withTimeout } from './timeout.js';
import type { WriteTickets } from './write-tickets.js';

export interface PortDeps<K extends Key, E extends object> {
  readonly settings: Settings<K, E>;
  readonly control: ControlStore;
  readonly follower: PhaseFollower;
  readonly tickets: WriteTickets;
  readonly halt: AutoHalt;
  readonly comparator: ShadowComparator<K, E>;
  readonly background: Background;
  readonly stats: MigrationStats;
  readonly events: TypedEvents;
  /** Where served writes' latencies go (the heartbeat reports them). */
  readonly servedWrites: { record(ms: number): void };
  readonly close: () => Promise<void>;
}

/** The repository's ports, made from the instance's pieces. */
export function createPorts<K extends Key, E extends object>(d: PortDeps<K, E>): RepositoryPorts<K, E> {
  const o = d.settings;
  const { name } = o;
  const { stats, events } = d;
  const track = (work: Promise<unknown>): void => d.background.track(work);
  return {
    stores: {
      name,
      old: o.old,
      new: o.new,
      lazy: o.lazy ?? false,
      queries: o.queries,
      timed: (operation, fn) => withTimeout(fn, o.timeoutMs, `${operation} (migration ${name})`),
    },
    serving: createServing({ name, follower: d.follower, tickets: d.tickets, rampAllow: o.rampAllow, stats, events }),
    repairs: createRepairLog({
      name,
      control: d.control,
      intentDelayMs: o.intentDelayMs ?? o.timeoutMs * 5,
      stats,
      events,
      track,
    }),
    sidelines: createSidelines({ settings: o, halt: d.halt, comparator: d.comparator, stats, events, track }),
    events,
    servedWrite: (ms) => d.servedWrites.record(ms),
    close: d.close,
  };
}
