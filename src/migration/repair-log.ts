import type { ControlStore, PhaseState, RepairDirection } from '../control/control-store.js';
import { INTENT_REASON } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { PHASE_RULES } from '../core/phases.js';
import type { TypedEvents } from './events.js';
import type { MigrationStats } from './options.js';
import type { RepairLog } from './repository-ports.js';

export interface RepairLogDeps {
  readonly name: string;
  readonly control: ControlStore;
  readonly intentDelayMs: number;
  readonly stats: MigrationStats;
  readonly events: TypedEvents;
  readonly track: (work: Promise<unknown>) => void;
}

export function directionOf(state: PhaseState): RepairDirection {
  return PHASE_RULES[state.phase].authoritative === 'old' ? 'old-to-new' : 'new-to-old';
}

/** The repair queue in the control store, as the repository writes intents and repairs into it. */
export function createRepairLog(d: RepairLogDeps): RepairLog {
  const { name, control } = d;
  return {
    hasPendingRepair: async (id, direction) => {
      const pending = await control.pendingRepairs(name, direction, [id]);
      return pending.has(id);
    },
    recordIntent: async (id, state) => {
      try {
        const intent = { keyId: id, reason: INTENT_REASON, delayMs: d.intentDelayMs, epoch: state.version };
        const [seq] = await control.enqueueRepairs(name, directionOf(state), [intent]);
        if (seq === undefined) throw new MidairError('UNKNOWN', 'the control store queued no entry');
        return seq;
      } catch (cause) {
        throw new MidairError(
          'CONNECTION',
          `migration ${name}: the write's intent could not be queued in the control store, so the write was not started (nothing written); retry it`,
          {
            cause,
          },
        );
      }
    },
    completeIntent: (id, state, seq) => {
      d.track(control.completeRepair(name, directionOf(state), id, seq));
    },
    enqueueRepair: async (id, reason, state, mayLand) => {
      d.stats.repairsEnqueued++;
      try {
        await control.enqueueRepairs(name, directionOf(state), [
          { keyId: id, reason, ...(mayLand ? { epoch: state.version } : {}) },
        ]);
        d.events.emit('repair-enqueued', { keyId: id, reason });
      } catch (error) {
        // The intent queued before the first write stays: the key is repaired when it falls due.
        d.events.emit('error', { operation: 'enqueue repair', error });
      }
    },
  };
}
