import {
  STICKY_REPAIR_REASON,
  type ParkedRepair,
  type RepairDirection,
  type RepairEntry,
  type RepairQueue,
} from './repair-queue.js';
import { MidairError } from '../core/errors.js';
import { repairToken } from './repair-token.js';

/** A pending entry as the memory store keeps it: the entry, its due time and its claim. */
interface Pending {
  readonly migration: string;
  readonly direction: RepairDirection;
  readonly keyId: string;
  readonly reason: string;
  readonly seq: number;
  readonly enqueuedAt: number;
  readonly attempts: number;
  readonly due: number;
  readonly owner: string | undefined;
  readonly leasedUntil: number;
  readonly epoch?: number | undefined;
}

const invalid = (operation: string, what: string): MidairError =>
  new MidairError('INVALID_ARGUMENT', `${operation} on memory: ${what}`, { details: { store: 'memory', operation } });
const checkLimit = (operation: string, limit: number): void => {
  if (!(Number.isSafeInteger(limit) && limit >= 0)) throw invalid(operation, 'limit must be a non-negative integer');
};
/** Milliseconds as a whole number ≥ 0, or undefined when it is not one. */
const wholeMs = (ms: number | undefined): number | undefined =>
  ms === undefined ? 0 : Number.isFinite(ms) && ms >= 0 ? Math.ceil(ms) : undefined;
const byAge = (a: Pending, b: Pending): number =>
  a.enqueuedAt - b.enqueuedAt || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0);
const id = (m: string, d: RepairDirection, k: string): string => `${m}\u0000${d}\u0000${k}`;
const entry = (p: Pending, at: number): RepairEntry => ({
  migration: p.migration,
  direction: p.direction,
  keyId: p.keyId,
  reason: p.reason,
  seq: p.seq,
  enqueuedAt: new Date(p.enqueuedAt),
  attempts: p.attempts,
  ...(p.due > at ? { delayMs: p.due - at } : {}),
  ...(p.epoch === undefined ? {} : { epoch: p.epoch }),
});

/** The memory queue's state, and what reads and changes it. */
interface MemoryRepairs {
  readonly now: () => number;
  readonly pending: Map<string, Pending>;
  readonly parked: Map<string, ParkedRepair>;
  readonly queued: (migration: string, direction?: RepairDirection) => Pending[];
  readonly put: (
    migration: string,
    direction: RepairDirection,
    keyId: string,
    reason: string,
    due: number,
    attempts?: number,
    epoch?: number,
  ) => number;
  readonly parkedOf: (migration: string) => ParkedRepair[];
}

function memoryRepairs(now: () => number): MemoryRepairs {
  const pending = new Map<string, Pending>();
  const parked = new Map<string, ParkedRepair>();
  const queued = (migration: string, direction?: RepairDirection): Pending[] =>
    [...pending.values()]
      .filter((r) => r.migration === migration && (direction === undefined || r.direction === direction))
      .sort(byAge);
  /** Adds or bumps one pending entry: a new seq and reason, the earlier due time, the first enqueuedAt. */
  const put = (
    migration: string,
    direction: RepairDirection,
    keyId: string,
    reason: string,
    due: number,
    attempts?: number,
    epoch?: number,
  ): number => {
    const key = id(migration, direction, keyId);
    const prev = pending.get(key);
    const seq = repairToken();
    pending.set(key, {
      migration,
      direction,
      keyId,
      reason: prev?.reason === STICKY_REPAIR_REASON ? prev.reason : reason,
      seq,
      enqueuedAt: prev?.enqueuedAt ?? now(),
      attempts: attempts ?? prev?.attempts ?? 0,
      due: Math.min(due, prev?.due ?? Infinity),
      owner: undefined, // a re-enqueue frees the entry for the next claim at once
      leasedUntil: 0,
      epoch: prev?.epoch === undefined ? epoch : epoch === undefined ? prev.epoch : Math.max(prev.epoch, epoch),
    });
    return seq;
  };
  const parkedOf = (migration: string): ParkedRepair[] =>
    [...parked.values()]
      .filter((p) => p.migration === migration)
      .sort(
        (a, b) => a.parkedAt.getTime() - b.parkedAt.getTime() || (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0),
      );

  return { now, pending, parked, queued, put, parkedOf };
}

/** Enqueueing, looking at and claiming pending entries. */
function pendingMethods(
  s: MemoryRepairs,
): Pick<RepairQueue, 'enqueueRepairs' | 'pendingRepairs' | 'peekRepairs' | 'claimRepairs'> {
  const { now, pending, queued, put } = s;
  return {
    async enqueueRepairs(migration, direction, entries) {
      const delays = entries.map((e) => wholeMs(e.delayMs));
      if (delays.some((d) => d === undefined))
        throw invalid('enqueueRepairs', 'delayMs must be a non-negative number of milliseconds');
      if (entries.some((e) => e.epoch !== undefined && !(Number.isSafeInteger(e.epoch) && e.epoch >= 0)))
        throw invalid('enqueueRepairs', 'epoch must be a non-negative integer');
      const at = now();
      const seqs = new Map<string, number>();
      entries.forEach((e, i) =>
        seqs.set(e.keyId, put(migration, direction, e.keyId, e.reason, at + (delays[i] ?? 0), undefined, e.epoch)),
      );
      return Promise.resolve(entries.map((e) => seqs.get(e.keyId) ?? 0));
    },
    async pendingRepairs(migration, direction, keyIds) {
      return Promise.resolve(new Set(keyIds.filter((k) => pending.has(id(migration, direction, k)))));
    },
    async peekRepairs(migration, direction, limit) {
      checkLimit('peekRepairs', limit);
      const at = now();
      return Promise.resolve(
        queued(migration, direction)
          .slice(0, limit)
          .map((p) => entry(p, at)),
      );
    },
    async claimRepairs(migration, direction, options) {
      checkLimit('claimRepairs', options.limit);
      if (typeof options.owner !== 'string' || options.owner === '')
        throw invalid('claimRepairs', 'owner must be a non-empty string');
      const lease = wholeMs(options.leaseMs);
      if (lease === undefined || lease === 0)
        throw invalid('claimRepairs', 'leaseMs must be a positive number of milliseconds');
      const at = now();
      const claimable = queued(migration, direction)
        .filter(
          (p) =>
            (options.includeDelayed === true || p.due <= at) &&
            (options.takeOver === true || p.owner === undefined || p.leasedUntil < at),
        )
        .slice(0, options.limit);
      for (const p of claimable)
        pending.set(id(migration, direction, p.keyId), { ...p, owner: options.owner, leasedUntil: at + lease });
      return Promise.resolve(claimable.map((p) => entry(p, at)));
    },
  };
}

/** Settling claimed entries, counting them, and parking one that failed for good. */
function settleMethods(
  s: MemoryRepairs,
): Pick<RepairQueue, 'completeRepair' | 'failRepair' | 'repairDepth' | 'parkRepair'> {
  const { now, pending, parked, queued } = s;
  return {
    async completeRepair(migration, direction, keyId, seq) {
      const key = id(migration, direction, keyId);
      if (pending.get(key)?.seq !== seq) return Promise.resolve(false);
      pending.delete(key);
      return Promise.resolve(true);
    },
    async failRepair(migration, direction, keyId, seq) {
      const key = id(migration, direction, keyId);
      const p = pending.get(key);
      if (p?.seq !== seq) return Promise.resolve(p?.attempts ?? 0);
      pending.set(key, { ...p, attempts: p.attempts + 1, owner: undefined, leasedUntil: 0 });
      return Promise.resolve(p.attempts + 1);
    },
    repairDepth: async (migration, direction, options) => {
      const excluded = new Set(options?.excludeReasons ?? []);
      return Promise.resolve(queued(migration, direction).filter((p) => !excluded.has(p.reason)).length);
    },
    async parkRepair(migration, direction, keyId, seq, problem) {
      const key = id(migration, direction, keyId);
      const p = pending.get(key);
      if (p?.seq !== seq) return Promise.resolve(false);
      pending.delete(key);
      const { code, store, constraint, message } = problem;
      parked.set(key, {
        migration,
        direction,
        keyId,
        reason: p.reason,
        attempts: p.attempts,
        parkedAt: new Date(now()),
        problem: { code, store, ...(constraint === undefined ? {} : { constraint }), message },
      });
      return Promise.resolve(true);
    },
  };
}

/** Reading parked entries, and retrying or resolving them. */
function parkedMethods(
  s: MemoryRepairs,
): Pick<RepairQueue, 'parkedRepairs' | 'parkedCount' | 'retryParked' | 'resolveParked'> {
  const { now, parked, put, parkedOf } = s;
  return {
    async parkedRepairs(migration, options) {
      if (options?.limit !== undefined) checkLimit('parkedRepairs', options.limit);
      const list = parkedOf(migration);
      return Promise.resolve(options?.limit === undefined ? list : list.slice(0, options.limit));
    },
    parkedCount: async (migration) => Promise.resolve(parkedOf(migration).length),
    async retryParked(migration, keyIds) {
      const wanted = keyIds && new Set(keyIds);
      const at = now();
      let n = 0;
      for (const p of parkedOf(migration)) {
        if (wanted && !wanted.has(p.keyId)) continue;
        parked.delete(id(migration, p.direction, p.keyId));
        put(migration, p.direction, p.keyId, p.reason, at, 0);
        n++;
      }
      return Promise.resolve(n);
    },
    async resolveParked(migration, keyIds) {
      const wanted = new Set(keyIds);
      let n = 0;
      for (const p of parkedOf(migration))
        if (wanted.has(p.keyId) && parked.delete(id(migration, p.direction, p.keyId))) n++;
      return Promise.resolve(n);
    },
  };
}

/** The repair queue of `memoryControlStore()`: the same semantics as the SQL one, on the store's clock. */
export function memoryRepairQueue(now: () => number): RepairQueue & { forget: (migration: string) => void } {
  const s = memoryRepairs(now);
  const forget = (migration: string): void => {
    for (const map of [s.pending, s.parked] as Map<string, { migration: string }>[])
      for (const [key, entry] of map) if (entry.migration === migration) map.delete(key);
  };
  return { ...pendingMethods(s), ...settleMethods(s), ...parkedMethods(s), forget };
}
