import type { ControlStore, PhaseState, RepairDirection, RepairEntry } from '../control/control-store.js';
import { INTENT_REASON, REPAIR_DIRECTIONS, STICKY_REPAIR_REASON } from '../control/control-store.js';
import { errorSummary, MidairError } from '../core/errors.js';
import { parseKeyId, type Key } from '../core/keys.js';
import type { Fence, Store } from '../core/store.js';
import type { TypedEvents } from './events.js';
import { PHASE_RULES } from '../core/phases.js';
import { mapLimit } from '../core/collections.js';
import { withTimeout } from './timeout.js';
import type { Notify } from '../hooks/webhook-types.js';

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

/** The reason of a write that failed but may still commit. */
export const UNKNOWN_OUTCOME = STICKY_REPAIR_REASON;

export interface RoundOptions {
  /** The fence epoch of the round's writes (default: the state's version). */
  readonly epoch?: number;
  /** Entries of writes issued under a lower version can no longer land (default: the state's version − 1). */
  readonly fencedBelow?: number;
  readonly includeDelayed?: boolean;
  readonly takeOver?: boolean;
  readonly limit?: number;
}

/** Entries are named `direction:keyId`: a drain re-syncs a key once, however often it is queued again meanwhile. */
export interface RoundResult {
  done: number;
  /** Re-synced (completed or kept). */
  readonly claimed: string[];
  readonly failed: string[];
}

export interface RepairerDeps<K extends Key, E extends object> {
  readonly name: string;
  readonly owner: string;
  readonly control: ControlStore;
  readonly old: Store<K, E>;
  readonly new: Store<K, E>;
  readonly events: TypedEvents;
  /** Announces a parked repair (its webhook): the repairer that parked it, once. */
  readonly notify: Notify;
  readonly timeoutMs: number;
  /** How long an unknown-outcome write's entry is kept (re-synced as its lease ends) while its version is not fenced out. */
  readonly lateLandingMs: number;
  /** How long a kept entry rests, as an intent, before it is re-synced. */
  readonly intentDelayMs: number;
  readonly now: () => number;
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
   * version). An entry carrying the epoch of a write that may still land is
   * completed only once that epoch is below `fencedBelow` (default: the
   * state's version − 1, the authority's fence since this version was
   * published); until then it is re-synced and kept, resting under its lease.
   */
  async round(state: PhaseState, options: RoundOptions = {}): Promise<RoundResult> {
    const fence: Fence = { migration: this.#d.name, epoch: options.epoch ?? state.version };
    const fencedBelow = options.fencedBelow ?? state.version - 1;
    const result: RoundResult = { done: 0, claimed: [], failed: [] };
    for (const direction of REPAIR_DIRECTIONS) {
      const entries = await this.#d.control.claimRepairs(this.#d.name, direction, {
        owner: this.#d.owner,
        limit: options.limit ?? this.#batch,
        leaseMs: this.#leaseMs,
        includeDelayed: options.includeDelayed ?? false,
        takeOver: options.takeOver ?? false,
      });
      const outcomes = await mapLimit(entries, this.#concurrency, (entry) =>
        this.#repairOne(state, fence, fencedBelow, direction, entry),
      );
      entries.forEach((entry, i) => {
        const id = `${direction}:${entry.keyId}`;
        if (outcomes[i] === 'failed') result.failed.push(id);
        else result.claimed.push(id);
        if (outcomes[i] === 'done') result.done++;
      });
    }
    return result;
  }

  /**
   * Rounds (delayed entries included, others' claims taken over) until every
   * key has been re-synced at least once, or `deadline` passes (regression:
   * an entry kept as an intent came back with a new seq every round, and the
   * drain looped without end, never yielding). Resolves
   * how many were completed and how many are left: entries that kept failing,
   * and entries kept for a write that may still land.
   */
  async drain(
    state: PhaseState,
    options: {
      readonly epoch?: number;
      readonly fencedBelow?: number;
      readonly deadline: number;
      readonly now: () => number;
      readonly wait: () => Promise<void>;
    },
  ): Promise<{ done: number; left: number; failing: number }> {
    let done = 0;
    let limit = this.#batch * 5;
    const seen = new Set<string>();
    for (;;) {
      const r = await this.round(state, {
        epoch: options.epoch,
        fencedBelow: options.fencedBelow,
        includeDelayed: true,
        takeOver: true,
        limit,
      });
      done += r.done;
      const fresh = r.claimed.filter((id) => !seen.has(id));
      for (const id of r.claimed) seen.add(id);
      // A full round of entries re-synced already (kept: their writes may still land) may hide entries behind them:
      // the next round claims twice as many (regression: a queue of 620 kept 120 keys never re-synced).
      const full = r.claimed.length + r.failed.length >= limit;
      if (fresh.length === 0 && r.failed.length === 0 && full && options.now() <= options.deadline) {
        limit *= 2;
        continue;
      }
      if ((fresh.length === 0 && r.failed.length === 0) || options.now() > options.deadline) {
        return { done, left: await this.#d.control.repairDepth(this.#d.name), failing: r.failed.length };
      }
      if (fresh.length === 0) await options.wait();
    }
  }

  async #repairOne(
    state: PhaseState,
    fence: Fence,
    fencedBelow: number,
    direction: RepairDirection,
    entry: RepairEntry,
  ): Promise<'done' | 'kept' | 'failed'> {
    const d = this.#d;
    const fromOld = PHASE_RULES[state.phase].authoritative === 'old';
    const source = fromOld ? d.old : d.new;
    const target = fromOld ? d.new : d.old;
    const key = parseKeyId(entry.keyId) as K;
    try {
      const result = await withTimeout(
        (signal) =>
          target.syncKey(key, () => withTimeout((s) => source.get(key, { signal: s }), d.timeoutMs, 'repair read'), {
            signal,
            fence,
          }),
        d.timeoutMs,
        `repair sync of ${target.name}`,
      );
      d.events.emit('repaired', { keyId: entry.keyId, result });
      // A write that may still land keeps its entry: it is re-synced when its lease ends, until the write is fenced
      // out — or, for an unknown outcome, until `lateLandingMs` passed (the one bound left to a clock).
      const mayLand = entry.epoch !== undefined && entry.epoch >= fencedBelow;
      const expired = entry.reason === UNKNOWN_OUTCOME && d.now() - entry.enqueuedAt.getTime() >= d.lateLandingMs;
      if (mayLand && !expired) {
        // Synced, so it is no missed write any more (gates leave intents out); but a write of the key may still be
        // in flight, so it stays queued as an intent of that epoch, re-synced when due (regression: a failed second
        // write kept its writer's epoch and blocked the gates until a phase change the gates themselves blocked).
        if (entry.reason !== UNKNOWN_OUTCOME && entry.reason !== INTENT_REASON) {
          await d.control.enqueueRepairs(d.name, direction, [
            { keyId: entry.keyId, reason: INTENT_REASON, delayMs: d.intentDelayMs, epoch: entry.epoch },
          ]);
        }
        return 'kept';
      }
      if (!(await d.control.completeRepair(d.name, direction, entry.keyId, entry.seq))) return 'kept';
      d.onRepaired();
      return 'done';
    } catch (error) {
      const attempts = await d.control.failRepair(d.name, direction, entry.keyId, entry.seq).catch(() => 0);
      const { code, message } = errorSummary(error);
      if (PERMANENT.has(code) && attempts >= this.#maxAttempts) {
        const constraint = error instanceof MidairError ? error.details.constraint : undefined;
        const parked = await d.control
          .parkRepair(d.name, direction, entry.keyId, entry.seq, { code, store: target.name, constraint, message })
          .catch(() => false);
        if (parked) {
          const side = fromOld ? 'new' : 'old';
          d.events.emit('repair-parked', { keyId: entry.keyId, code, store: target.name, side });
          d.notify('repair-parked', {
            keyId: entry.keyId,
            side,
            store: target.name,
            code,
            ...(constraint ? { constraint } : {}),
          });
        }
      }
      d.events.emit('error', { operation: `repair of ${entry.keyId}`, error });
      return 'failed';
    }
  }
}
