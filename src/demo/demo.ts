import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { diffEntities } from '../core/compare.js';
import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { GateThresholds } from '../migration/gates.js';
import { defineMigration, type Migration } from '../migration/migration.js';
import { openSqlite, sqliteControlStore, sqliteStore } from '../sqlite/index.js';
import type { Store } from '../core/store.js';
import type { VerifyReport } from '../verify/verify-options.js';
import type { DemoOptions, DemoResult, PhaseFigures } from './demo-types.js';
import { rowsBar } from './progress.js';
import { withFaults, type FaultSwitch } from './faults.js';
import { percentile, startLoad, type LoadStats, type OpSample } from './load.js';
import { demoReportHtml } from './report-html.js';
import { makeUser, NEW_SCHEMA, newUsers, OLD_SCHEMA, oldUsers, rng, type DemoUser } from './users.js';
import { sleep } from '../core/sleep.js';

/**
 * One application instance, with new behind the demo's fault switch. The
 * instances of this one process share each SQLite file's connection: SQLite
 * allows one writer at a time, and a second connection in the same process
 * would wait for the lock synchronously, stalling every instance (separate
 * processes each have their own, as the CLI tests do).
 */
async function instance(
  stores: { old: Store<bigint, DemoUser>; new: Store<bigint, DemoUser>; control: ControlStore },
  id: string,
  faults: FaultSwitch,
): Promise<Migration<bigint, DemoUser>> {
  return defineMigration<bigint, DemoUser>({
    name: 'users',
    old: stores.old,
    new: withFaults(stores.new, faults),
    control: stores.control,
    instanceId: id,
    pollMs: 50,
    instanceExpiryMs: 2000,
    timeoutMs: 1000,
    shadow: { recheckMs: 20 },
    repair: { intervalMs: 100 },
    autoHalt: { windowMs: 3000, maxErrorRate: 0.2, minSamples: 20 },
  }).start();
}

/** Settings and stores shared by every step of one demo run. */
interface DemoSetup {
  readonly options: DemoOptions;
  readonly rows: number;
  readonly dwell: number;
  readonly began: number;
  readonly note: (event: string) => void;
  readonly faults: FaultSwitch;
  readonly thresholds: GateThresholds;
  readonly operatorOld: Store<bigint, DemoUser>;
  readonly operatorNew: Store<bigint, DemoUser>;
  readonly control: ControlStore;
}

/** A demo run: its setup, the operator's migration, the application fleet and how often it halted. */
interface DemoRun extends DemoSetup {
  readonly operator: Migration<bigint, DemoUser>;
  readonly fleet: Migration<bigint, DemoUser>[];
  halts: number;
}

type DemoStores = Pick<DemoSetup, 'operatorOld' | 'operatorNew' | 'control'>;

/** Old, seeded; new, empty, in another schema; the control store in a third file. */
async function openDemoStores(dir: string, rows: number, note: (event: string) => void): Promise<DemoStores> {
  const oldDb = await openSqlite(join(dir, 'old.sqlite'));
  oldDb.exec(OLD_SCHEMA);
  const newDb = await openSqlite(join(dir, 'new.sqlite'));
  for (const sql of NEW_SCHEMA) newDb.exec(sql);
  const operatorOld: Store<bigint, DemoUser> = sqliteStore(oldDb, oldUsers, {
    name: 'old (sqlite users)',
    ownsDatabase: true,
  });
  const operatorNew: Store<bigint, DemoUser> = sqliteStore(newDb, newUsers, {
    name: 'new (sqlite users + user_profiles)',
    ownsDatabase: true,
  });
  const control: ControlStore = sqliteControlStore(await openSqlite(join(dir, 'control.sqlite')), {
    ownsDatabase: true,
  });
  await Promise.all([operatorOld.setup(), operatorNew.setup(), control.setup()]);
  for (let i = 1; i <= rows; i += 2000)
    await operatorOld.writeIfNewer(Array.from({ length: Math.min(2000, rows - i + 1) }, (_, j) => makeUser(i + j, 1)));
  note(`seeded ${rows} users into old (SQLite users); new is users + user_profiles with name → full_name`);
  return { operatorOld, operatorNew, control };
}

/** The operator's migration and the application instances, each noting when auto-halt steps back. */
async function startFleet(setup: DemoSetup): Promise<DemoRun> {
  const { options, note, faults, operatorOld, operatorNew, control } = setup;
  const operator = defineMigration<bigint, DemoUser>({
    name: 'users',
    old: operatorOld,
    new: operatorNew,
    control,
    instanceId: 'operator',
    actor: 'demo-operator',
    pollMs: 50,
    instanceExpiryMs: 2000,
  });
  const fleet: Migration<bigint, DemoUser>[] = [];
  for (let i = 0; i < (options.instances ?? 3); i++)
    fleet.push(await instance({ old: operatorOld, new: operatorNew, control }, `app-${i + 1}`, faults));
  const run: DemoRun = { ...setup, operator, fleet, halts: 0 };
  for (const f of fleet) {
    f.on('halted', ({ from, to, reason }) => {
      run.halts++;
      faults.down = false; // the burst ends once auto-halt has stepped back
      note(`AUTO-HALT ${from} → ${to}: ${reason}`);
    });
  }
  note(`${fleet.length} application instances serving ${fleet.length * (options.clients ?? 2)} clients`);
  return run;
}

/** Advances through the gates, waiting while one is still filling (shadow comparisons, repairs). */
async function advance(run: DemoRun, label: string, extra: { rampPercent?: number } = {}): Promise<void> {
  const { operator, thresholds, note } = run;
  const deadline = Date.now() + 30_000;
  let said = false;
  for (;;) {
    try {
      const s = await operator.advance({ reason: `demo: ${label}`, gated: thresholds, ...extra });
      note(`→ ${s.phase}${s.phase === 'ramp' ? ` ${s.rampPercent} %` : ''} (${label})`);
      return;
    } catch (err) {
      if (!(err instanceof MidairError) || err.code !== 'BLOCKED' || Date.now() > deadline) throw err;
      if (!said) note(`gate: ${err.message.split('\n')[1]?.trim() ?? 'waiting'} — waiting`);
      said = true;
      await sleep(200);
    }
  }
}

async function ramp(run: DemoRun, percent: number): Promise<void> {
  const s = await run.operator.setRamp(percent, { reason: `demo: ramp to ${percent} %` });
  run.note(`→ ramp ${s.rampPercent} %`);
}

/** Dual writes, the backfill beside live writes, and a first verification. */
async function backfillAndVerify(run: DemoRun): Promise<void> {
  const { options, rows, dwell, operator, note } = run;
  await advance(run, 'start dual writes');
  await sleep(dwell / 2);
  const bar = rowsBar(options.progressBar, 'backfill', '         ');
  bar.start(rows);
  const backfill = await operator.backfill({
    chunkSize: 1000,
    onProgress: (p) => bar.update(p.rowsDone, p.rowsPerSecond, p.total),
  });
  bar.stop();
  note(
    `backfill ${backfill.status}: ${backfill.inserted} inserted, ${backfill.updated} updated, ${backfill.deleted} deleted beside live writes, in ${backfill.durationMs} ms`,
  );
  const first = await operator.verify({ recheckDelayMs: 100 });
  note(
    `verification: ${first.status}, ${first.matched} entities matched, ${first.missing.total + first.extra.total + first.different.total} differences, ${first.changedDuringRun.total} changed while it ran`,
  );
}

/** Shadow reads, the ramp's first step, and a fault burst on new that auto-halt catches; back to the ramp. */
async function shadowRampAndFaultBurst(run: DemoRun): Promise<void> {
  const { dwell, faults, control, operator, note } = run;
  await advance(run, 'compare reads off the hot path');
  await sleep(dwell);
  await advance(run, 'read 10 % of keys from new', { rampPercent: 10 });
  await sleep(dwell / 2);
  note('fault burst: the new store fails every call until auto-halt steps back');
  faults.down = true;
  const burstStart = Date.now();
  while (run.halts === 0 && Date.now() - burstStart < 10_000) await sleep(20);
  faults.down = false;
  note(`fault burst over (${faults.injected} calls failed in new; none reached a client)`);
  await operator.drainRepairs();
  note('repair queue drained: new caught up with the writes it missed');
  await sleep(dwell / 2);
  while ((await control.getState('users'))?.phase !== 'ramp')
    await advance(run, 'back to the ramp after the halt', { rampPercent: 10 });
}

/** Ramp to 100 %, new-primary and its final verification, old read-only, sweep, complete. */
async function cutOver(run: DemoRun): Promise<VerifyReport> {
  const { dwell, operator, note } = run;
  await sleep(dwell / 2);
  await ramp(run, 50);
  await sleep(dwell / 2);
  await ramp(run, 100);
  await sleep(dwell / 2);
  await advance(run, 'new becomes authoritative');
  await sleep(dwell);
  const verification = await operator.verify({ recheckDelayMs: 100 });
  note(
    `final verification (new-primary: the last phase where old still gets every write): ${verification.status}, ${verification.matched} matched, ${verification.missing.total + verification.extra.total + verification.different.total} differences`,
  );
  await advance(run, 'stop writing old');
  await sleep(dwell / 2);
  const sweep = await operator.sweep();
  note(`sweep ${sweep.status}: ${sweep.inserted} copied (what new still lacked)`);
  await advance(run, 'the demo sets the rollback window to 0; the default is 48 h');
  await sleep(dwell / 4);
  return verification;
}

/** Every acknowledged write is in new: each key's last acknowledged state. */
async function countLostWrites(run: DemoRun, expected: Map<bigint, DemoUser | undefined>): Promise<number> {
  const keys = [...expected.keys()];
  const actual = await run.operatorNew.getMany(keys);
  let lostWrites = 0;
  keys.forEach((k, i) => {
    const want = expected.get(k);
    const got = actual[i];
    if ((want === undefined) !== (got === undefined) || (want && got && diffEntities(want, got).length > 0))
      lostWrites++;
  });
  return lostWrites;
}

function phaseFigures(samples: readonly OpSample[]): PhaseFigures[] {
  const byPhase = new Map<string, { ms: number[]; errors: number }>();
  for (const s of samples) {
    const p = byPhase.get(s.phase) ?? { ms: [], errors: 0 };
    p.ms.push(s.ms);
    if (s.error) p.errors++;
    byPhase.set(s.phase, p);
  }
  return [...byPhase].map(([phase, p]): PhaseFigures => ({
    phase,
    ops: p.ms.length,
    errors: p.errors,
    p50Ms: round(percentile(p.ms, 50)),
    p99Ms: round(percentile(p.ms, 99)),
  }));
}

/** The result, and the HTML report unless asked for none. */
function demoResult(
  run: DemoRun,
  o: {
    readonly timeline: { atMs: number; event: string }[];
    readonly stats: LoadStats;
    readonly lostWrites: number;
    readonly verification: VerifyReport;
  },
): DemoResult {
  const { options, rows, began, fleet, halts, faults } = run;
  const { timeline, stats, lostWrites } = o;
  const phases = phaseFigures(stats.samples);
  const final = o.verification;
  const result = {
    ok: stats.errors === 0 && lostWrites === 0 && stats.staleReads === 0 && final.status === 'equal' && halts > 0,
    durationMs: Math.round(performance.now() - began),
    rows,
    instances: fleet.length,
    timeline,
    phases,
    ops: stats.ops,
    clientErrors: stats.errors,
    staleReads: stats.staleReads,
    lostWrites,
    halts,
    faultsInjected: faults.injected,
    verification: final,
    reportPath: undefined as string | undefined,
  };
  if (options.report !== false) {
    const path = resolve(options.report ?? 'midair-demo-report.html');
    writeFileSync(path, demoReportHtml(result, stats.samples));
    result.reportPath = path;
  }
  return result;
}

/**
 * The whole migration on embedded SQLite, in under a minute: several
 * application instances read, write and delete continuously while the demo
 * walks every phase through its gates — dual writes, backfill, verification,
 * shadow reads, ramp 10 → 50 → 100 %, new-primary, old-read-only, sweep,
 * complete — with one fault burst on the new store that auto-halt catches.
 * Ends with the operations served, client-visible errors, lost writes,
 * latency per phase and an HTML report.
 *
 * @example
 * ```ts
 * const result = await runDemo({ log: console.log });
 * process.exitCode = result.ok ? 0 : 1;
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const rows = options.rows ?? 10_000;
  const dwell = (options.phaseSeconds ?? 3) * 1000;
  const log = options.log ?? (() => undefined);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'midair-demo-'));
  const began = performance.now();
  const timeline: { atMs: number; event: string }[] = [];
  const note = (event: string): void => {
    const atMs = Math.round(performance.now() - began);
    timeline.push({ atMs, event });
    log(`${(atMs / 1000).toFixed(1).padStart(6)} s  ${event}`);
  };
  const faults: FaultSwitch = { down: false, injected: 0 };
  const thresholds: GateThresholds = { minComparisons: 30, maxMismatchRate: 0.05, rollbackWindowMs: 0 };

  const stores = await openDemoStores(dir, rows, note);
  const run = await startFleet({ options, rows, dwell, began, note, faults, thresholds, ...stores });
  const { fleet, operator, operatorOld, operatorNew, control } = run;
  const load = startLoad(fleet, {
    rows,
    clientsPerInstance: options.clients ?? 2,
    thinkMs: 5,
    began,
    random: rng(options.seed ?? 7),
  });

  let verification: VerifyReport | undefined;
  try {
    await backfillAndVerify(run);
    await shadowRampAndFaultBurst(run);
    verification = await cutOver(run);
  } finally {
    await load.stop();
    for (const f of fleet) await f.settle();
  }
  for (const f of fleet) await f.close();
  await operator.close();

  const lostWrites = await countLostWrites(run, load.expected);
  await Promise.all([operatorOld.close(), operatorNew.close(), control.close()]);
  note(`done: ${load.stats.ops} operations, ${load.stats.errors} client errors, ${lostWrites} lost writes`);

  const result = demoResult(run, { timeline, stats: load.stats, lostWrites, verification });
  if (!options.dir) rmSync(dir, { recursive: true, force: true });
  return result;
}

const round = (n: number): number => Math.round(n * 100) / 100;
