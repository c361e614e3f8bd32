import type {
  AuditEntry,
  DeadLetter,
  RangeLease,
  AuditInput,
  ControlStore,
  HeartbeatInput,
  InstanceInfo,
  PhaseSetting,
  PhaseState,
} from './control-store.js';
import { settingOf } from './control-store.js';
import { CHECKPOINTS } from './checkpoints.js';
import { MidairError } from '../core/errors.js';
import { memoryRepairQueue } from './memory-repair-queue.js';
import type { RepairQueue } from './repair-queue.js';
import { nextToken } from './range-leases.js';
import { storeCallsProblem } from './store-calls.js';

/** The state a new migration starts in. */
export const INITIAL_SETTING: PhaseSetting = Object.freeze({
  phase: 'old-only',
  rampPercent: 0,
  writesPaused: false,
  strict: false,
});

export interface MemoryControlStoreOptions {
  /** The clock, in epoch milliseconds, for every time the store computes (leases, due times, heartbeats, audit times). Default `Date.now`. */
  readonly now?: () => number;
}

/** The memory store's state, and the audit log's writer. */
interface MemoryControl {
  readonly clock: () => number;
  readonly states: Map<string, PhaseState>;
  readonly audits: Map<string, AuditEntry[]>;
  readonly instances: Map<string, InstanceInfo>;
  readonly checkpoints: Map<string, string>;
  readonly dead: Map<string, DeadLetter & { migration: string }>;
  readonly rangeSets: Map<string, RangeLease[]>;
  readonly log: (migration: string, from: PhaseSetting | undefined, state: PhaseState, audit: AuditInput) => void;
}

function memoryControl(options: MemoryControlStoreOptions): MemoryControl {
  const clock = options.now ?? Date.now;
  const states = new Map<string, PhaseState>();
  const audits = new Map<string, AuditEntry[]>();
  const instances = new Map<string, InstanceInfo>();
  const checkpoints = new Map<string, string>();
  const dead = new Map<string, DeadLetter & { migration: string }>();
  const rangeSets = new Map<string, RangeLease[]>();
  let auditSeq = 0;
  const log = (migration: string, from: PhaseSetting | undefined, state: PhaseState, audit: AuditInput): void => {
    const list = audits.get(migration) ?? [];
    list.push({
      seq: ++auditSeq,
      migration,
      at: state.changedAt,
      ...audit,
      from: from && settingOf(from),
      to: settingOf(state),
      version: state.version,
    });
    audits.set(migration, list);
  };
  return { clock, states, audits, instances, checkpoints, dead, rangeSets, log };
}

/** The lifecycle's setup and the phase log. */
function phaseMethods(
  s: MemoryControl,
): Pick<ControlStore, 'name' | 'setup' | 'init' | 'getState' | 'compareAndSet' | 'appendAudit' | 'auditLog'> {
  const { clock, states, audits, log } = s;
  return {
    name: 'memory',
    setup: async () => Promise.resolve(),
    async init(migration, actor) {
      let state = states.get(migration);
      if (!state) {
        state = { migration, ...INITIAL_SETTING, version: 1, changedAt: new Date(clock()) };
        states.set(migration, state);
        log(migration, undefined, state, { actor, action: 'init', reason: 'migration created', forced: false });
      }
      return Promise.resolve(state);
    },
    getState: async (migration) => Promise.resolve(states.get(migration)),
    async compareAndSet(migration, expectedVersion, next, audit) {
      const current = states.get(migration);
      if (!current || current.version !== expectedVersion) return Promise.resolve(undefined);
      const state: PhaseState = {
        migration,
        ...settingOf(next),
        version: current.version + 1,
        changedAt: new Date(clock()),
      };
      states.set(migration, state);
      log(migration, current, state, audit);
      return Promise.resolve(state);
    },
    async appendAudit(migration, audit) {
      const current = states.get(migration);
      if (!current)
        throw new MidairError(
          'INVALID_ARGUMENT',
          'appendAudit on memory: the migration has no state yet (init it first)',
          { details: { store: 'memory', operation: 'appendAudit' } },
        );
      log(migration, current, { ...current, changedAt: new Date(clock()) }, audit);
      return Promise.resolve();
    },
    async auditLog(migration, options) {
      const list = [...(audits.get(migration) ?? [])].reverse();
      return Promise.resolve(options?.limit === undefined ? list : list.slice(0, options.limit));
    },
  };
}

/** The fleet, the repair queue and the dead letters. */
function fleetMethods(
  s: MemoryControl,
  repairs: RepairQueue,
): Pick<
  ControlStore,
  | 'heartbeat'
  | 'instances'
  | 'removeInstance'
  | keyof RepairQueue
  | 'addDeadLetters'
  | 'deadLetters'
  | 'removeDeadLetters'
  | 'deadLetterCount'
> {
  const { clock, instances, checkpoints, dead } = s;
  return {
    async heartbeat(info: HeartbeatInput) {
      const problem = storeCallsProblem(info.storeCalls);
      if (problem)
        throw new MidairError('INVALID_ARGUMENT', `heartbeat on memory: ${problem}`, {
          details: { store: 'memory', operation: 'heartbeat' },
        });
      const id = `${info.migration}\u0000${info.instanceId}`;
      const now = new Date(clock());
      instances.set(id, { ...info, lastSeen: now, startedAt: instances.get(id)?.startedAt ?? now });
      return Promise.resolve();
    },
    async instances(migration, since) {
      return Promise.resolve([...instances.values()].filter((i) => i.migration === migration && i.lastSeen >= since));
    },
    async removeInstance(migration, instanceId) {
      instances.delete(`${migration}\u0000${instanceId}`);
      checkpoints.delete(`${migration}\u0000${CHECKPOINTS.shadow(instanceId).name}`);
      return Promise.resolve();
    },
    ...repairs,
    async addDeadLetters(migration, entries) {
      for (const e of entries) {
        const id = `${migration}\u0000${e.keyId}`;
        const prev = dead.get(id);
        dead.set(id, {
          migration,
          keyId: e.keyId,
          reason: e.reason,
          at: prev?.at ?? new Date(clock()),
          attempts: (prev?.attempts ?? 0) + 1,
        });
      }
      return Promise.resolve();
    },
    async deadLetters(migration, limit) {
      const list = [...dead.values()].filter((d) => d.migration === migration).slice(0, limit);
      return Promise.resolve(list.map(({ keyId, reason, at, attempts }) => ({ keyId, reason, at, attempts })));
    },
    async removeDeadLetters(migration, keyIds) {
      let n = 0;
      for (const k of new Set(keyIds)) if (dead.delete(`${migration}\u0000${k}`)) n++;
      return Promise.resolve(n);
    },
    deadLetterCount: async (migration) =>
      Promise.resolve([...dead.values()].filter((d) => d.migration === migration).length),
  };
}

/** Range leases, checkpoints and the lifecycle's close. */
function rangeMethods(
  s: MemoryControl,
): Pick<
  ControlStore,
  | 'createRanges'
  | 'claimRange'
  | 'renewRange'
  | 'completeRange'
  | 'ranges'
  | 'dropRanges'
  | 'saveCheckpoint'
  | 'loadCheckpoint'
  | 'deleteCheckpoint'
  | 'close'
> {
  const { clock, checkpoints, rangeSets } = s;
  return {
    async createRanges(migration, name, ranges) {
      const id = `${migration}\u0000${name}`;
      if (rangeSets.has(id)) return Promise.resolve(false);
      rangeSets.set(
        id,
        ranges.map((r, rangeId) => ({
          rangeId,
          lo: r.lo,
          hi: r.hi,
          token: 0,
          leasedUntil: new Date(0),
          complete: false,
          rows: 0,
        })),
      );
      return Promise.resolve(true);
    },
    async claimRange(migration, name, owner, leaseMs, options) {
      const list = rangeSets.get(`${migration}\u0000${name}`) ?? [];
      const now = clock();
      const i = list.findIndex(
        (r) =>
          !r.complete &&
          r.leasedUntil.getTime() < now &&
          (options?.rangeId === undefined || r.rangeId === options.rangeId),
      );
      const free = list[i];
      if (!free) return Promise.resolve(undefined);
      const token = nextToken(free.token, options?.above);
      const claimed: RangeLease = { ...free, owner, token, leasedUntil: new Date(now + leaseMs) };
      list[i] = claimed;
      return Promise.resolve(claimed);
    },
    async renewRange(migration, name, rangeId, token, leaseMs, after, rows) {
      const list = rangeSets.get(`${migration}\u0000${name}`) ?? [];
      const r = list[rangeId];
      if (!r || r.token !== token || r.complete) return Promise.resolve(false);
      const more = { after: after ?? r.after, rows: r.rows + (rows ?? 0) };
      list[rangeId] = { ...r, ...more, leasedUntil: new Date(clock() + leaseMs) };
      return Promise.resolve(true);
    },
    async completeRange(migration, name, rangeId, token, rows) {
      const list = rangeSets.get(`${migration}\u0000${name}`) ?? [];
      const r = list[rangeId];
      if (!r || r.token !== token || r.complete) return Promise.resolve(false);
      list[rangeId] = { ...r, complete: true, leasedUntil: new Date(0), rows: r.rows + (rows ?? 0) };
      return Promise.resolve(true);
    },
    ranges: async (migration, name) => Promise.resolve([...(rangeSets.get(`${migration}\u0000${name}`) ?? [])]),
    async dropRanges(migration, name) {
      rangeSets.delete(`${migration}\u0000${name}`);
      return Promise.resolve();
    },
    async saveCheckpoint(migration, name, value) {
      checkpoints.set(`${migration}\u0000${name}`, value);
      return Promise.resolve();
    },
    loadCheckpoint: async (migration, name) => Promise.resolve(checkpoints.get(`${migration}\u0000${name}`)),
    async deleteCheckpoint(migration, name) {
      checkpoints.delete(`${migration}\u0000${name}`);
      return Promise.resolve();
    },
    close: async () => Promise.resolve(),
  };
}

/**
 * A control store in process memory: for simulations and tests of one
 * process. Every call is atomic. Not durable — use SQLite, PostgreSQL or
 * MySQL for a real migration.
 *
 * @example const control = memoryControlStore();
 */
export function memoryControlStore(options: MemoryControlStoreOptions = {}): ControlStore {
  const s = memoryControl(options);
  const { forget, ...queue } = memoryRepairQueue(s.clock);
  return {
    ...phaseMethods(s),
    ...fleetMethods(s, queue),
    ...rangeMethods(s),
    migrations: async () =>
      Promise.resolve([...s.states.values()].sort((a, b) => (a.migration < b.migration ? -1 : 1))),
    async removeMigration(migration) {
      forget(migration);
      const mine = `${migration}\u0000`;
      for (const map of [s.checkpoints, s.rangeSets, s.dead] as Map<string, unknown>[])
        for (const key of [...map.keys()]) if (key.startsWith(mine)) map.delete(key);
      for (const [key, info] of s.instances) if (info.migration === migration) s.instances.delete(key);
      s.audits.delete(migration);
      s.states.delete(migration);
      return Promise.resolve();
    },
  };
}
