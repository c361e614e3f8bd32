import {
  defineMigration,
  memoryControlStore,
  PHASE_RULES,
  type Phase,
  type PhaseState,
  type Side,
  type Store,
} from '../../src/index.js';
import { faultyStore } from '../support/faulty-store.js';
import { rng } from '../support/rng.js';
import { simNow, simulate } from '../support/sim-clock.js';
import { checkErrors, checkFinal, checkReads, type OpRecord, type Violation } from './checker.js';
import { disrupt } from './disruptions.js';
import { instanceFaults, MODEL_OPTIONS, startInstance, TIMING, type Instance } from './instances.js';
import { tasks, walk, type OperatorContext } from './operator.js';
import { recorded } from './recorder.js';
import { sabotaged, sabotagedControl, type Sabotage } from './sabotage.js';

export { rng };
export type { Sabotage };

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

/** Parts of the workload beyond the base one (faults, hangs, reordering, short pauses, backfill crashes, advances and rollbacks); each defaults to on. */
export interface Workload {
  /** (a) Instances paused far past every grace, lease and expiry, also between a write's first and second store. */
  readonly longPauses?: boolean;
  /** (b) Instances killed at any point, also between a write's two stores; they never come back. */
  readonly kills?: boolean;
  /** (c) Keys deleted and re-created while reads fall back to old; the operator walks into old-read-only and complete. */
  readonly deleteRecreate?: boolean;
  /** (d) Writes that time out and commit later. */
  readonly lateCommits?: boolean;
  /** (e) The new store fails a third of its calls while the fleet is in shadow-read, ramp or new-primary. */
  readonly flakyNew?: boolean;
  /** (f) Strict mode switched on and off, with writers racing on one key. */
  readonly strict?: boolean;
  /** (g) Backfill, sweep, verify (with and without repair) and repair started in any phase. */
  readonly operatorTasks?: boolean;
  /** (h) A share of the puts made as read-modify-writes through `update`, under the key's lock in the authority. */
  readonly updates?: boolean;
}

export const WORKLOAD_PARTS = [
  'longPauses',
  'kills',
  'deleteRecreate',
  'lateCommits',
  'flakyNew',
  'strict',
  'operatorTasks',
  'updates',
] as const;

export interface HistoryOptions {
  readonly seed: number;
  readonly stores: ModelStores;
  readonly instances?: number;
  readonly clients?: number;
  readonly opsPerClient?: number;
  readonly keys?: number;
  readonly faultRate?: number;
  readonly workload?: Workload;
  readonly sabotage?: Sabotage;
  /** Replaces the backfill (run once the fleet writes both stores, before reads may come from new). Default: the real one, crashed and resumed. */
  readonly backfill?: (old: Store<number, Doc>, target: Store<number, Doc>) => Promise<void>;
  /** Collects a line per event: the printed history of a seed. */
  readonly trace?: string[];
}

export interface HistoryResult {
  readonly seed: number;
  readonly ops: number;
  readonly faults: number;
  readonly transitions: number;
  /** Phase changes and operator tasks that refused cleanly. */
  readonly refusals: number;
  readonly kills: number;
  readonly pauses: number;
  readonly phases: readonly Phase[];
  readonly violations: readonly Violation[];
  /** Backfill runs (each crash adds one). */
  readonly backfills: number;
  /** Every client call, for explaining a violation. */
  readonly log: readonly OpRecord[];
  /** On the simulated clock: timer firings and simulated milliseconds. */
  readonly steps?: number;
  readonly simulatedMs?: number;
}

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What a history has gathered so far (read back when it never settles). */
export interface Progress {
  ops: OpRecord[];
  faults: () => number;
  phases: Phase[];
  violations: Violation[];
  kills: number;
  pauses: number;
  ctx?: OperatorContext;
}

function resultOf(seed: number, p: Progress): HistoryResult {
  return {
    seed,
    ops: p.ops.length,
    faults: p.faults(),
    transitions: p.ctx?.transitions ?? 0,
    refusals: p.ctx?.refusals ?? 0,
    kills: p.kills,
    pauses: p.pauses,
    phases: p.phases,
    violations: p.violations,
    backfills: p.ctx?.backfills ?? 0,
    log: p.ops,
  };
}

/**
 * One history on the simulated clock (in-memory stores): the seed alone
 * decides it. A history that never settles is a violation of invariant 6.
 */
export async function runSimulatedHistory(options: HistoryOptions): Promise<HistoryResult> {
  const progress: Progress = { ops: [], faults: () => 0, phases: [], violations: [], kills: 0, pauses: 0 };
  const outcome = await simulate(options.seed, () => runHistory(options, progress));
  if (outcome.settled) return { ...outcome.value, steps: outcome.steps, simulatedMs: outcome.simulatedMs };
  options.trace?.push(`t${outcome.simulatedMs} history hung: ${outcome.reason}`);
  const violations = [
    ...progress.violations,
    { invariant: 6 as const, message: `the history never settled: ${outcome.reason}` },
  ];
  return {
    ...resultOf(options.seed, { ...progress, violations }),
    steps: outcome.steps,
    simulatedMs: outcome.simulatedMs,
  };
}

/**
 * One random history: several application instances, several clients each
 * using any live instance, random puts, deletes and reads on a few hot keys;
 * both stores inject errors, late errors, hangs, late commits and
 * reordering; instances pause (some far past their expiry, some mid-write)
 * and die; an operator advances and rolls back phases (with a backfill before
 * reads may reach new), switches strict mode and runs its tools in any phase.
 * Then the repair queue drains and the invariants are checked.
 */
export async function runHistory(options: HistoryOptions, progress?: Progress): Promise<HistoryResult> {
  const p: Progress = progress ?? { ops: [], faults: () => 0, phases: [], violations: [], kills: 0, pauses: 0 };
  const random = rng(options.seed);
  const workload: Required<Workload> = {
    longPauses: true,
    kills: true,
    deleteRecreate: true,
    lateCommits: true,
    flakyNew: true,
    strict: true,
    operatorTasks: true,
    updates: true,
    ...options.workload,
  };
  const nInstances = options.instances ?? 3;
  const nClients = options.clients ?? 4;
  const nOps = options.opsPerClient ?? 20;
  const nKeys = options.keys ?? 6;
  const rate = options.faultRate ?? 0.04;
  const trace = options.trace;
  const note = (line: string): void => void trace?.push(`t${simNow()} ${line}`);
  await options.stores.reset?.();
  const rawOld = recorded(options.stores.old, note);
  const rawNew = recorded(sabotaged(options.stores.new, options.sabotage), note);
  const control = sabotagedControl(memoryControlStore(), options.sabotage);
  let latest: PhaseState = await control.init('model', 'harness');
  const authority = (): Side => PHASE_RULES[latest.phase].authoritative;
  const violations = p.violations;
  const phases = p.phases;
  phases.push(latest.phase);
  let flakyNew = workload.flakyNew;
  const flaky = (): number => (flakyNew && ['shadow-read', 'ramp', 'new-primary'].includes(latest.phase) ? 1 / 3 : 0);

  const instances: Instance[] = [];
  for (let i = 0; i < nInstances; i++) {
    const faults = instanceFaults(random, rate, workload.lateCommits);
    faults.note = (line) => note(`i${i} ${line}`);
    const inst = await startInstance({
      id: `i${i}`,
      old: rawOld,
      new: rawNew,
      control,
      faults,
      newErrorRate: flaky,
      trace,
    });
    // A read may always be delivered late (it took effect when it read the store); a write acknowledged under a
    // phase the fleet left two versions ago escaped the fencing.
    inst.migration.on('served', ({ phaseVersion, write }) => {
      if (write && phaseVersion < latest.version - 1) {
        violations.push({
          invariant: 6,
          message: `instance i${i} acknowledged a write under phase version ${phaseVersion} while the fleet was at ${latest.version}`,
        });
        note(`i${i} acknowledged a write under phase version ${phaseVersion}; the fleet is at ${latest.version}`);
      }
    });
    instances.push(inst);
  }
  // The operator: its own process, with faulty stores (its backfills crash), never paused or killed.
  const opFaults = instanceFaults(random, rate, false);
  const operator = await defineMigration<number, Doc>({
    name: 'model',
    instanceId: 'op',
    actor: 'operator',
    old: faultyStore(rawOld, opFaults),
    new: faultyStore(rawNew, opFaults, { extraErrorRate: flaky }),
    control,
    ...MODEL_OPTIONS,
  }).start();
  const allFaults = [...instances.map((x) => x.faults), opFaults];
  p.faults = () =>
    allFaults.reduce(
      (n, f) => n + f.injected.errors + f.injected.lateErrors + f.injected.hangs + (f.injected.lateCommits ?? 0),
      0,
    );
  const track = (s: PhaseState): void => {
    if (s.version > latest.version) {
      latest = s;
      if (phases.at(-1) !== s.phase) phases.push(s.phase);
    }
  };
  operator.on('phase-changed', ({ to }) => track(to));
  const live = (): Instance[] => instances.filter((x) => !x.killed);

  // Clients
  const ops = p.ops;
  let tagN = 0;
  let clock = 0;
  const clients = Array.from({ length: nClients }, async (_, c) => {
    for (let n = 0; n < nOps; n++) {
      const pool = live();
      const inst = pool[Math.floor(random() * pool.length)] as Instance;
      const repo = inst.migration.repository();
      // Invariant 4 is about the authority the serving instance used, which may be one phase behind the fleet.
      const view = (): Side => PHASE_RULES[inst.migration.state.phase].authoritative;
      // (c) client 0 deletes and re-creates the hottest keys; (f) writers race on key 0.
      const churn = workload.deleteRecreate && c === 0;
      const key = churn
        ? n % 2 === 0
          ? Math.floor(random() * 2)
          : (ops.at(-1)?.key ?? 0)
        : workload.strict && random() < 0.3
          ? 0
          : Math.floor(random() * nKeys);
      const roll = random();
      const kind = churn ? (n % 2 === 0 ? 'delete' : 'put') : roll < 0.45 ? 'put' : roll < 0.6 ? 'delete' : 'get';
      const tag = kind === 'put' ? `c${c}.${++tagN}` : undefined;
      // The entity an update writes does not depend on what it read: to the checker it is a put of `tag`.
      const viaUpdate = kind === 'put' && workload.updates && random() < 0.3;
      const rec: OpRecord = {
        client: c,
        instance: Number(inst.id.slice(1)),
        kind,
        key,
        tag,
        start: ++clock,
        end: 0,
        ok: false,
        authAtStart: view(),
        phaseAtStart: `${latest.phase}${latest.writesPaused ? '(paused)' : ''}@${latest.version}`,
      };
      ops.push(rec);
      const killed = inst.dead.then(() => {
        throw new Error('the instance was killed during the call');
      });
      try {
        if (viaUpdate)
          await Promise.race([
            repo.update(key, (current) => ({ ...(current ?? { id: key }), tag: tag as string })),
            killed,
          ]);
        else if (kind === 'put') await Promise.race([repo.put({ id: key, tag: tag as string }), killed]);
        else if (kind === 'delete') await Promise.race([repo.delete(key), killed]);
        else rec.result = (await Promise.race([repo.get(key), killed]))?.tag ?? null;
        rec.ok = true;
      } catch (error) {
        rec.error = error;
      }
      rec.end = ++clock;
      rec.authAtEnd = view();
      // A killed process's clients never hear back: whatever the call returned, its outcome is unknown.
      if (inst.killed) {
        rec.ok = false;
        rec.error = new Error('the instance was killed during the call');
      }
      note(
        `c${c} ${inst.id} ${viaUpdate ? 'update' : kind} k${key}${tag ? `=${tag}` : ''} [#${rec.start}–#${rec.end}] → ${rec.ok ? (kind === 'get' ? (rec.result ?? 'absent') : 'ok') : `failed ${errorCode(rec.error)}`}`,
      );
      if (random() < 0.6) await sleep(random() * 20); // think time: the history lasts long enough for pauses, kills and phase walks to meet it
    }
  });

  let running = true;
  const disruption = disrupt({ instances, workload, random, running: () => running, note, counts: p });
  const ctx: OperatorContext = {
    operator,
    random,
    workload,
    violations,
    trace,
    running: () => running,
    latest: () => latest,
    track,
    backfill: options.backfill,
    rawOld,
    rawNew,
    backfilled: false,
    oldStale: false,
    transitions: 0,
    refusals: 0,
    backfills: 0,
    tasks: 0,
  };
  p.ctx = ctx;

  // A slow copier still running beside live traffic: it writes chunks of old into new insert-only, stale by
  // the time they land. Only tombstones stop it from bringing deleted keys back.
  const copying = (): boolean => ctx.backfilled && !ctx.oldStale && PHASE_RULES[latest.phase].secondWrite;
  const stale = (async () => {
    while (running) {
      await sleep(2 + random() * 6);
      if (!copying()) continue;
      for await (const chunk of rawOld.scan({ chunkSize: 3, after: Math.floor(random() * nKeys) - 1 })) {
        await sleep(random() * 4); // live writes and deletes overtake the chunk here
        if (!copying()) break;
        const r = await rawNew.writeIfNewer(chunk);
        note(`copier wrote ${chunk.map((d) => `${d.id}=${d.tag}`).join(' ')} → ${JSON.stringify(r)}`);
        break;
      }
    }
  })();

  const walker = walk(ctx);
  const toolbox = workload.operatorTasks ? tasks(ctx, nKeys) : Promise.resolve();

  await Promise.all(clients);
  running = false;
  await Promise.all([disruption.done, walker, toolbox, stale]);
  disruption.releaseAll();
  for (const f of allFaults) {
    f.errorRate = 0;
    f.lateErrorRate = 0;
    f.hangRate = 0;
    f.lateCommitRate = 0;
    f.afterApply = undefined;
  }
  flakyNew = false;
  note('faults off');
  // Quiesce: background work settles, the repair queue drains.
  for (const { migration } of live()) await migration.settle();
  await operator.settle();
  try {
    await operator.drainRepairs(undefined, Date.now() + 5000);
  } catch (error) {
    note(`repair queue did not drain: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const { migration } of live()) await migration.settle();
  await sleep(TIMING.timeoutMs * 20); // late commits land
  // On real servers a stalled write can outlast that sleep (the machine is slow, a lock is held): wait for every
  // store call that has begun applying, so none lands after the final read. (Simulated histories never wait here.)
  while (allFaults.some((f) => (f.applying ?? 0) > 0)) await sleep(TIMING.pollMs);
  for (const { migration } of live()) await migration.settle();

  const finalOf = async (s: Store<number, Doc>): Promise<Map<number, string | null>> => {
    const m = new Map<number, string | null>();
    for await (const chunk of s.scan({ chunkSize: 100 })) for (const d of chunk) m.set(d.id, d.tag);
    return m;
  };
  const a = authority() === 'old' ? rawOld : rawNew;
  const b = authority() === 'old' ? rawNew : rawOld;
  // The other store must equal the authority where it still gets every write and holds a full copy.
  const converges =
    PHASE_RULES[latest.phase].secondWrite && !(latest.phase === 'dual-write' && !ctx.backfilled) && !ctx.oldStale;
  const finalA = await finalOf(a);
  const finalB = converges ? await finalOf(b) : undefined;
  note(
    `final ${latest.phase}@${latest.version}: ${authority()} ${[...finalA].map(([k, v]) => `${k}=${v ?? '-'}`).join(' ')}${finalB ? ` | other ${[...finalB].map(([k, v]) => `${k}=${v ?? '-'}`).join(' ')}` : ''}`,
  );
  violations.push(...checkReads(ops), ...checkFinal(ops, finalA, finalB), ...checkErrors(ops));
  await Promise.all([...live().map(({ migration }) => migration.close()), operator.close()]);
  return resultOf(options.seed, p);
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) return String(error.code);
  return error instanceof Error ? error.message : String(error);
}
