import {
  defineMigration,
  memoryControlStore,
  PHASE_RULES,
  type ControlStore,
  type Migration,
  type Phase,
  type PhaseState,
  type Side,
  type Store,
} from '../../src/index.js';
import { faultyStore, noFaults, type Faults } from '../support/faulty-store.js';
import { rng } from '../support/rng.js';

export { rng };
import { checkErrors, checkFinal, checkReads, type OpRecord, type Violation } from './checker.js';

/** The entity of the model: no version field, so convergence rests on sync by key and tombstones alone. */
export interface Doc {
  id: number;
  tag: string;
}

export interface ModelStores {
  readonly old: Store<number, Doc>;
  readonly new: Store<number, Doc>;
  /** Empties both stores (real databases are reused across histories). */
  reset?(): Promise<void>;
}

/** A deliberately broken variant, to show the harness catches what it claims to. */
export interface Sabotage {
  /** The new store forgets its tombstones after every delete and sync. */
  readonly noTombstones?: boolean;
  /** Failed second writes are not queued for repair. */
  readonly noRepairQueue?: boolean;
}

export interface HistoryOptions {
  readonly seed: number;
  readonly stores: ModelStores;
  readonly instances?: number;
  readonly clients?: number;
  readonly opsPerClient?: number;
  readonly keys?: number;
  readonly faultRate?: number;
  readonly sabotage?: Sabotage;
  /** Replaces the backfill (run once the fleet writes both stores, before reads may come from new). Default: the real one, crashed and resumed. */
  readonly backfill?: (old: Store<number, Doc>, target: Store<number, Doc>) => Promise<void>;
  /** Collects a line per event (debugging a failing seed). */
  readonly trace?: string[];
}

export interface HistoryResult {
  readonly seed: number;
  readonly ops: number;
  readonly faults: number;
  readonly transitions: number;
  readonly phases: readonly Phase[];
  readonly violations: readonly Violation[];
  /** Backfill runs (each crash adds one). */
  readonly backfills: number;
  /** Every client call, for explaining a violation. */
  readonly log: readonly OpRecord[];
}


const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The real backfill, killed at random chunks (an abort, or a store fault
 * ending the run) and started again until it completes — invariant 5.
 * Resolves how many runs it took.
 */
async function crashingBackfill(operator: Migration<number, Doc>, random: () => number): Promise<{ runs: number; complete: boolean }> {
  for (let runs = 1; ; runs++) {
    const controller = new AbortController();
    const killAt = Math.floor(random() * 4);
    let chunks = 0;
    const result = await operator.backfill({
      name: 'model-backfill',
      restart: runs === 1,
      // The histories leave new with keys old lacks on purpose (a stale copier, deletes whose second write failed),
      // on a handful of keys: any prune is above the default share. The invariants check what it deletes.
      allowDeletes: true,
      chunkSize: 2,
      targetChunkMs: 0,
      signal: controller.signal,
      onProgress: () => {
        if (++chunks === killAt) controller.abort();
      },
    });
    if (result.status === 'complete') return { runs, complete: true };
    // An auto-halt moved the phase out from under it (back to old-only): that copy no longer counts; the walk backfills again.
    if (result.status === 'refused' || (result.status === 'stopped' && result.error?.code === 'BLOCKED')) return { runs, complete: false };
    if (runs > 50) throw new Error(`backfill did not complete: ${result.status} ${result.error?.message ?? ''}`);
  }
}

function sabotaged(store: Store<number, Doc>, sabotage: Sabotage | undefined): Store<number, Doc> {
  if (!sabotage?.noTombstones) return store;
  return {
    ...store,
    keyOf: (e) => store.keyOf(e),
    versionOf: (e) => store.versionOf(e),
    get: (k, o) => store.get(k, o),
    getMany: (k, o) => store.getMany(k, o),
    put: (e, o) => store.put(e, o),
    count: (o) => store.count(o),
    scan: (o) => store.scan(o),
    sampleKeys: (n, o) => store.sampleKeys(n, o),
    writeIfNewer: (e, o) => store.writeIfNewer(e, o),
    getTombstone: (k, o) => store.getTombstone(k, o),
    delete: async (k, o) => {
      const r = await store.delete(k, o);
      await store.purgeTombstones();
      return r;
    },
    syncKey: async (k, read, o) => {
      const r = await store.syncKey(k, read, o);
      await store.purgeTombstones();
      return r;
    },
    syncMany: async (k, read, o) => {
      const r = await store.syncMany(k, read, o);
      await store.purgeTombstones();
      return r;
    },
  };
}

function sabotagedControl(control: ControlStore, sabotage: Sabotage | undefined): ControlStore {
  if (!sabotage?.noRepairQueue) return control;
  return new Proxy(control, {
    get(target, prop, receiver) {
      if (prop === 'enqueueRepairs') return async () => Promise.resolve();
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The control store as one instance sees it: every call waits while that instance is paused. */
function pausable(control: ControlStore, faults: Faults): ControlStore {
  return new Proxy(control, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        for (let gate = faults.gate; gate; gate = faults.gate) await gate;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/**
 * One random history: several application instances, several clients each
 * using any instance, random puts, deletes and reads on a few hot keys; both
 * stores inject errors, late errors, hangs and reordering; instances pause
 * past their expiry; an operator advances and rolls back phases (with a
 * backfill before reads may reach new). Then the repair queue drains and the
 * invariants are checked.
 */
export async function runHistory(options: HistoryOptions): Promise<HistoryResult> {
  const random = rng(options.seed);
  const nInstances = options.instances ?? 3;
  const nClients = options.clients ?? 4;
  const nOps = options.opsPerClient ?? 20;
  const nKeys = options.keys ?? 6;
  const rate = options.faultRate ?? 0.04;
  await options.stores.reset?.();
  const rawOld = options.stores.old;
  const rawNew = sabotaged(options.stores.new, options.sabotage);
  const control = sabotagedControl(memoryControlStore(), options.sabotage);
  let latest: PhaseState = await control.init('model', 'harness');
  const authority = (): Side => PHASE_RULES[latest.phase].authoritative;
  const violations: Violation[] = [];
  const allFaults: Faults[] = [];
  const phases: Phase[] = [latest.phase];

  let clock = 0;
  const instances: { migration: Migration<number, Doc>; faults: Faults }[] = [];
  for (let i = 0; i < nInstances; i++) {
    const faults: Faults = { ...noFaults(random), errorRate: rate, lateErrorRate: rate / 2, hangRate: rate / 2, hangMs: 40, maxDelayTurns: 3 };
    allFaults.push(faults);
    const migration = defineMigration<number, Doc>({
      name: 'model',
      instanceId: `i${i}`,
      old: faultyStore(rawOld, faults),
      new: faultyStore(rawNew, faults),
      control: pausable(control, faults),
      pollMs: 5,
      instanceExpiryMs: 60,
      timeoutMs: 25,
      ackTimeoutMs: 5000,
      pauseTimeoutMs: 3000,
      autoHalt: false,
      shadow: { recheckMs: 0 },
      repair: { intervalMs: 10 },
    });
    const trace = options.trace;
    if (trace) {
      migration.on('phase-changed', ({ to }) => trace.push(`t${clock} i${i} sees ${to.phase}${to.writesPaused ? '(paused)' : ''}@${to.version}`));
      migration.on('second-write-failed', (e) => trace.push(`t${clock} i${i} second write failed ${e.keyId} ${e.code}`));
      migration.on('repair-enqueued', (e) => trace.push(`t${clock} i${i} enqueued ${e.keyId} ${e.reason}`));
      migration.on('repaired', (e) => trace.push(`t${clock} i${i} repaired ${e.keyId} ${e.result}`));
      migration.on('error', (e) => trace.push(`t${clock} i${i} error in ${e.operation}: ${e.error instanceof Error ? `${e.error.message} / ${String(e.error.cause)}` : String(e.error)}`));
    }
    migration.on('served', ({ phaseVersion }) => {
      if (phaseVersion < latest.version - 1) {
        violations.push({ invariant: 6, message: `instance i${i} served with phase version ${phaseVersion} while the fleet was at ${latest.version}` });
      }
    });
    instances.push({ migration: await migration.start(), faults });
  }
  const operator = instances[0]?.migration as Migration<number, Doc>;
  const track = (s: PhaseState): void => {
    if (s.version > latest.version) {
      latest = s;
      if (phases.at(-1) !== s.phase) phases.push(s.phase);
    }
  };
  operator.on('phase-changed', ({ to }) => track(to));

  // Clients
  const ops: OpRecord[] = [];
  let tagN = 0;
  const clients = Array.from({ length: nClients }, async (_, c) => {
    for (let n = 0; n < nOps; n++) {
      const inst = Math.floor(random() * nInstances);
      const { migration } = instances[inst] as { migration: Migration<number, Doc> };
      const repo = migration.repository();
      // Invariant 4 is about the authority the serving instance used, which may be one phase behind the fleet.
      const view = (): Side => PHASE_RULES[migration.state.phase].authoritative;
      const key = Math.floor(random() * nKeys);
      const roll = random();
      const kind = roll < 0.45 ? 'put' : roll < 0.6 ? 'delete' : 'get';
      const tag = kind === 'put' ? `c${c}.${++tagN}` : undefined;
      const rec: OpRecord = { client: c, instance: inst, kind, key, tag, start: ++clock, end: 0, ok: false, authAtStart: view(), phaseAtStart: `${latest.phase}${latest.writesPaused ? '(paused)' : ''}@${latest.version}` };
      ops.push(rec);
      try {
        if (kind === 'put') await repo.put({ id: key, tag: tag as string });
        else if (kind === 'delete') await repo.delete(key);
        else rec.result = (await repo.get(key))?.tag ?? null;
        rec.ok = true;
      } catch (error) {
        rec.error = error;
      }
      rec.end = ++clock;
      rec.authAtEnd = view();
      if (random() < 0.3) await sleep(random() * 3);
    }
  });

  // Pauses: an instance stops (store calls and heartbeats hang) past its expiry, then resumes.
  let running = true;
  const pauser = (async () => {
    while (running) {
      await sleep(10 + random() * 40);
      if (!running || random() < 0.5) continue;
      const victim = instances[Math.floor(random() * nInstances)] as { faults: Faults };
      let release = (): void => undefined;
      victim.faults.gate = new Promise<void>((resolve) => (release = resolve));
      await sleep(30 + random() * 80);
      victim.faults.gate = undefined;
      release();
    }
  })();

  // A slow copier still running beside live traffic: it writes chunks of old into new insert-only, stale by
  // the time they land. Only tombstones stop it from bringing deleted keys back.
  let backfilled = false;
  const stale = (async () => {
    while (running) {
      await sleep(2 + random() * 6);
      if (!backfilled) continue;
      for await (const chunk of rawOld.scan({ chunkSize: 3, after: Math.floor(random() * nKeys) - 1 })) {
        await sleep(random() * 4); // live writes and deletes overtake the chunk here
        if (!backfilled) break;
        const r = await rawNew.writeIfNewer(chunk);
        options.trace?.push(`t${clock} copier wrote ${chunk.map((d) => `${d.id}=${d.tag}`).join(' ')} → ${JSON.stringify(r)}`);
        break;
      }
    }
  })();

  // The operator walks the phases (never into old-read-only: rolling back from there needs a reverse backfill).
  let transitions = 0;
  let backfills = 0;
  const walk = (async () => {
    while (running) {
      await sleep(5 + random() * 15);
      if (!running) break;
      const s = latest;
      const back = s.phase !== 'old-only' && (s.phase === 'new-primary' || random() < 0.3);
      try {
        if (back) {
          const st = await operator.rollback({ reason: 'model: roll back' });
          track(st);
          if (st.phase === 'old-only') backfilled = false; // new misses writes from here on: copy again before reads may reach it
        } else {
          if (s.phase === 'dual-write' && !backfilled) {
            if (options.backfill) {
              await operator.awaitFleet();
              await options.backfill(rawOld, rawNew);
            } else {
              options.trace?.push(`t${clock} backfill starts`);
              const b = await crashingBackfill(operator, random);
              backfills += b.runs;
              options.trace?.push(`t${clock} backfill ${b.complete ? 'done' : 'given up: the phase moved'}`);
              if (!b.complete) continue;
            }
            backfilled = true;
          }
          track(await operator.advance({ reason: 'model: advance', rampPercent: Math.floor(random() * 101) }));
        }
        transitions++;
      } catch (error) {
        violations.push({ invariant: 6, message: `phase change failed: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
  })();

  await Promise.all(clients);
  running = false;
  await Promise.all([pauser, walk, stale]);
  for (const f of allFaults) {
    f.errorRate = 0;
    f.lateErrorRate = 0;
    f.hangRate = 0;
    f.gate = undefined;
  }
  // Quiesce: background work settles, the repair queue drains.
  for (const { migration } of instances) await migration.settle();
  await operator.drainRepairs(undefined, Date.now() + 5000);
  for (const { migration } of instances) await migration.settle();

  const finalOf = async (s: Store<number, Doc>): Promise<Map<number, string | null>> => {
    const m = new Map<number, string | null>();
    for await (const chunk of s.scan({ chunkSize: 100 })) for (const d of chunk) m.set(d.id, d.tag);
    return m;
  };
  const a = authority() === 'old' ? rawOld : rawNew;
  const b = authority() === 'old' ? rawNew : rawOld;
  const converges = latest.phase !== 'old-only' && !(latest.phase === 'dual-write' && !backfilled);
  violations.push(...checkReads(ops), ...checkFinal(ops, await finalOf(a), converges ? await finalOf(b) : undefined), ...checkErrors(ops));
  await Promise.all(instances.map(({ migration }) => migration.close()));
  const faults = allFaults.reduce((n, f) => n + f.injected.errors + f.injected.lateErrors + f.injected.hangs, 0);
  return { seed: options.seed, ops: ops.length, faults, transitions, phases, violations, backfills, log: ops };
}
