import type { PhaseState } from '../control/control-store.js';
import { keyId, type Key } from '../core/keys.js';
import { PHASE_RULES } from '../core/phases.js';
import type { Fence } from '../core/store.js';
import type { TypedEvents } from './events.js';
import type { MigrationStats } from './options.js';
import type { PhaseFollower } from './phase-follower.js';
import type { Serving, WriteTicket } from './repository-ports.js';
import { rampBucket } from './shadow.js';
import type { WriteTickets } from './write-tickets.js';

export interface ServingDeps<K extends Key> {
  readonly name: string;
  readonly follower: PhaseFollower;
  readonly tickets: WriteTickets;
  readonly rampAllow: readonly K[] | undefined;
  readonly stats: MigrationStats;
  readonly events: TypedEvents;
}

/** The phase each repository call is served under, counted and announced. */
export function createServing<K extends Key>(d: ServingDeps<K>): Serving {
  const rampAllow: ReadonlySet<string> = new Set((d.rampAllow ?? []).map((k) => keyId(k)));
  return {
    currentState: async () => {
      d.stats.reads++;
      const state = await d.follower.current();
      d.events.emit('served', { phaseVersion: state.version, write: false });
      return state;
    },
    beginWrite: async (): Promise<WriteTicket> => {
      const ticket = await d.tickets.begin();
      d.events.emit('served', { phaseVersion: ticket.state.version, write: true });
      return ticket;
    },
    stillValid: (state) => {
      const valid = (now: PhaseState): boolean =>
        now.version <= state.version + 1 &&
        PHASE_RULES[now.phase].authoritative === PHASE_RULES[state.phase].authoritative;
      const now = d.follower.current();
      return now instanceof Promise ? now.then(valid) : valid(now);
    },
    inRamp: (id, percent) => rampAllow.has(id) || rampBucket(d.name, id) < percent * 100,
    fence: (state): Fence => ({ migration: d.name, epoch: state.version }),
  };
}
