import type { ControlStore, PhaseState, RepairDirection, RepairEntry } from '../control/control-store.js';
import { REPAIR_DIRECTIONS } from '../control/control-store.js';
import { MidairError } from '../errors.js';
import { parseKeyId, type Key } from '../keys.js';
import type { Fence, Store } from '../store.js';
import type { TypedEvents } from './events.js';
import { PHASE_RULES } from './phases.js';
import { mapLimit } from './repository-calls.js';
import { withTimeout } from './timeout.js';

export interface RepairSettings {
  /** Entries claimed per round and direction. Default 100. */
  readonly batch?: number;
  /** Keys re-synced at once. Default 8. */
  readonly concurrency?: number;
  /** How long a claim keeps other repairers off its entries. Default 10 × the store-call timeout. */
  readonly leaseMs?: number;
  /** Failed attempts after which a constraint failure is parked for the operator. Default 5. */
  readonly maxAttempts?: number;
}

/** Codes that no retry can fix until someone changes the data: such a repair is parked after `maxAttempts`. */
const PERMANENT = new Set(['UNIQUE_VIOLATION', 'CONSTRAINT', 'INVALID_VALUE', 'ENCODING']);

/** Reasons of entries whose write may still land after it failed: re-checked once more, later. */
export const UNKNOWN_OUTCOME = 'UNKNOWN_OUTCOME';
export const LATE_LANDING_RECHECK = 'LATE_LANDING_RECHECK';

export interface RepairerDeps<K extends Key, E extends object> {
  readonly name: string;
  readonly owner: string;
  readonly control: ControlStore;
  readonly old: Store<K, E>;
  readonly new: Store<K, E>;
  readonly events: TypedEvents;
  readonly timeoutMs: number;
  /** How long after an unknown-outcome write its key is re-synced once more (the longest it could still land). */
  readonly lateLandingMs: number;
  readonly onRepaired: () => void;
}

/**
 * Re-syncs queued keys from the store authoritative under a phase state:
 * each instance claims disjoint entries (a lease, so repairers spread the
 * work; two syncs of one key would still converge), several keys at once,
 * every write fenced by the phase version it runs under. A failure that no
 * retry can fix (a constraint) is parked after a few attempts, named, for
 * the operator (`midair repairs`).
 */
export class Repairer<K extends Key, E extends object> {
  readonly #d: RepairerDeps<K, E>;
  readonly #batch: number;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #maxAttempts: number;

  constructor(deps: RepairerDeps<K, E>, settings: RepairSettings = {}) {
    this.#d = deps;
    this.#batch = settings.batch ?? 100;
    this.#concurrency = settings.concurrency ?? 8;
    this.#leaseMs = settings.leaseMs ?? deps.timeoutMs * 10;
    this.#maxAttempts = settings.maxAttempts ?? 5;
  }

  /**
   * One round: claims up to a batch of entries per direction and re-syncs
   * them under `state`, writes fenced at `epoch` (default the state's
   * version). Resolves how many entries were completed.
   */
  async round(state: PhaseState, options: { readonly epoch?: number; readonly includeDelayed?: boolean; readonly limit?: number } = {}): Promise<number> {
    const fence: Fence = { migration: this.#d.name, epoch: options.epoch ?? state.version };
    let done = 0;
    for (const direction of REPAIR_DIRECTIONS) {
      const entries = await this.#d.control.claimRepairs(this.#d.name, direction, {
        owner: this.#d.owner,
        limit: options.limit ?? this.#batch,
        leaseMs: this.#leaseMs,
        includeDelayed: options.includeDelayed ?? false,
      });
      const results = await mapLimit(entries, this.#concurrency, (entry) => this.#repairOne(state, fence, direction, entry));
      done += results.filter(Boolean).length;
    }
    return done;
  }

  /**
   * Rounds until the queue is empty (delayed entries included) or `deadline`
   * passes. Resolves how many were completed and how many are left.
   */
  async drain(state: PhaseState, options: { readonly epoch?: number; readonly deadline: number; readonly now: () => number; readonly wait: () => Promise<void> }): Promise<{ done: number; left: number }> {
    let done = 0;
    for (;;) {
      const n = await this.round(state, { epoch: options.epoch, includeDelayed: true, limit: this.#batch * 5 });
      done += n;
      const left = await this.#d.control.repairDepth(this.#d.name);
      if (left === 0 || options.now() > options.deadline) return { done, left };
      if (n === 0) await options.wait();
    }
  }

  async #repairOne(state: PhaseState, fence: Fence, direction: RepairDirection, entry: RepairEntry): Promise<boolean> {
    const d = this.#d;
    const fromOld = PHASE_RULES[state.phase].authoritative === 'old';
    const source = fromOld ? d.old : d.new;
    const target = fromOld ? d.new : d.old;
    const key = parseKeyId(entry.keyId) as K;
    try {
      const result = await withTimeout(
        (signal) => target.syncKey(key, () => withTimeout((s) => source.get(key, { signal: s }), d.timeoutMs, 'repair read'), { signal, fence }),
        d.timeoutMs,
        `repair sync of ${target.name}`,
      );
      const completed = await d.control.completeRepair(d.name, direction, entry.keyId, entry.seq);
      if (entry.reason === UNKNOWN_OUTCOME) {
        // The write that failed may still commit after this sync: look once more when it no longer can.
        await d.control.enqueueRepairs(d.name, direction, [{ keyId: entry.keyId, reason: LATE_LANDING_RECHECK, delayMs: d.lateLandingMs }]);
      }
      if (!completed) return false;
      d.onRepaired();
      d.events.emit('repaired', { keyId: entry.keyId, result });
      return true;
    } catch (error) {
      const attempts = await d.control.failRepair(d.name, direction, entry.keyId, entry.seq).catch(() => 0);
      const code = error instanceof MidairError ? error.code : 'UNKNOWN';
      if (PERMANENT.has(code) && attempts >= this.#maxAttempts) {
        const parked = await d.control
          .parkRepair(d.name, direction, entry.keyId, entry.seq, {
            code,
            store: target.name,
            constraint: error instanceof MidairError ? error.details.constraint : undefined,
            message: error instanceof Error ? error.message : String(error),
          })
          .catch(() => false);
        if (parked) d.events.emit('repair-parked', { keyId: entry.keyId, code, store: target.name });
      }
      d.events.emit('error', { operation: `repair of ${entry.keyId}`, error });
      return false;
    }
  }
}
