import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { GateThresholds } from '../migration/gates.js';
import { defineMigration, type Migration } from '../migration/migration.js';
import type { Store } from '../core/store.js';
import type { VerifyReport } from '../verify/verify-options.js';
import { createDemoStores } from './demo-stores.js';
import { countLostWrites, demoResult } from './demo-result.js';
import { phaseLabel, Recorder, type DemoRun, type DemoSetup } from './demo-run.js';
import type { DemoOptions, DemoResult } from './demo-types.js';
import { rowsBar } from './progress.js';
import { withFaults, type FaultSwitch } from './faults.js';
import { startJobs } from './jobs-client.js';
import { startLoad } from './load.js';
import { newUsers, oldUsers, rng, type DemoUser } from './users.js';
import { sleep } from '../core/sleep.js';

/**
 * One application instance, with new behind the demo's fault switch. The
 * instances share this thread's connection to each SQLite file: SQLite
 * allows one writer at a time, and a second connection on the same thread
 * would wait for the lock synchronously, stalling every instance. The
 * operator's long jobs have connections of their own on the job thread.
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
    // Small rounds: the repairs after the fault burst share the serving thread with the clients.
    repair: { intervalMs: 100, batch: 25, concurrency: 2 },
    autoHalt: { windowMs: 3000, maxErrorRate: 0.2, minSamples: 20 },
  }).start();
}

/** Ends the fault burst, once. */
function endBurst(run: DemoRun): void {
  if (!run.faults.down) return;
  run.faults.down = false;
  run.record.mark('fault-burst-end', 'fault burst ends');
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
      run.record.phase(to);
      run.record.mark('auto-halt', `auto-halt ${from} → ${to}`);
      endBurst(run); // the burst ends once auto-halt has stepped back
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
      run.record.phase(phaseLabel(s));
      note(`→ ${phaseLabel(s)} (${label})`);
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
  run.record.phase(phaseLabel(s));
  run.note(`→ ${phaseLabel(s)}`);
}

/** Old-only for a baseline, dual writes, the backfill beside live writes, and a first verification. */
async function backfillAndVerify(run: DemoRun): Promise<void> {
  const { options, rows, dwell, jobs, record, note } = run;
  note('old-only: the application serves from old alone (the throughput baseline)');
  await sleep(Math.max(dwell, 2000));
  await advance(run, 'start dual writes');
  await sleep(dwell / 2);
  const bar = rowsBar(options.progressBar, 'backfill', '         ');
  bar.start(rows);
  const backfill = await record.job('backfill', () =>
    jobs.backfill((done, rowsPerSecond) => bar.update(done, rowsPerSecond)),
  );
  bar.stop();
  note(
    `backfill ${backfill.status} (on the job thread): ${backfill.inserted} inserted, ${backfill.updated} updated, ${backfill.deleted} deleted beside live writes, in ${backfill.durationMs} ms`,
  );
  const first = await record.job('verification', () => jobs.verify());
  note(
    `verification: ${first.status}, ${first.matched} entities matched, ${first.missing.total + first.extra.total + first.different.total} differences, ${first.changedDuringRun.total} changed while it ran`,
  );
}

/** Shadow reads, the ramp's first step, and a fault burst on new that auto-halt catches; back to the ramp. */
async function shadowRampAndFaultBurst(run: DemoRun): Promise<void> {
  const { dwell, faults, control, jobs, record, note } = run;
  await advance(run, 'compare reads off the hot path');
  await sleep(dwell);
  await advance(run, 'read 10 % of keys from new', { rampPercent: 10 });
  await sleep(dwell / 2);
  note('fault burst: the new store fails every call until auto-halt steps back');
  record.mark('fault-burst-start', 'fault burst starts');
  faults.down = true;
  const burstStart = Date.now();
  while (run.halts === 0 && Date.now() - burstStart < 10_000) await sleep(20);
  endBurst(run);
  note(`fault burst over (${faults.injected} calls failed in new; none reached a client)`);
  const repaired = await record.job('repair drain', () => jobs.drainRepairs());
  note(
    `repair queue drained (on the job thread; ${repaired} keys still queued for it): new caught up with the writes it missed`,
  );
  await sleep(dwell / 2);
  while ((await control.getState('users'))?.phase !== 'ramp')
    await advance(run, 'back to the ramp after the halt', { rampPercent: 10 });
}

/** Ramp to 100 %, new-primary and its final verification, old read-only, sweep, complete. */
async function cutOver(run: DemoRun): Promise<VerifyReport> {
  const { dwell, jobs, record, note } = run;
  await sleep(dwell / 2);
  await ramp(run, 50);
  await sleep(dwell / 2);
  await ramp(run, 100);
  await sleep(dwell / 2);
  await advance(run, 'new becomes authoritative');
  record.mark('cutover', 'cutover: new is authoritative');
  await sleep(dwell);
  const verification = await record.job('final verification', () => jobs.verify());
  note(
    `final verification (new-primary: the last phase where old still gets every write): ${verification.status}, ${verification.matched} matched, ${verification.missing.total + verification.extra.total + verification.different.total} differences`,
  );
  await advance(run, 'stop writing old');
  await sleep(dwell / 2);
  const sweep = await record.job('sweep', () => jobs.sweep());
  note(`sweep ${sweep.status}: ${sweep.inserted} copied (what new still lacked)`);
  await advance(run, 'the demo sets the rollback window to 0; the default is 48 h');
  await sleep(dwell / 4);
  return verification;
}

/** Starts the caller's watcher on the running demo; if it fails, everything the demo started is closed again. */
async function attachWatcher(run: DemoRun, dir: string): Promise<() => Promise<void>> {
  const { options, operatorOld, operatorNew, control, thresholds, fleet, operator, jobs } = run;
  if (!options.attach) return async () => Promise.resolve();
  const live = { name: 'users', dir, old: operatorOld, new: operatorNew, control, thresholds, fleet };
  try {
    const detach = await options.attach({ ...live, mappings: { old: oldUsers, new: newUsers } });
    return async () => detach().catch(() => undefined);
  } catch (err) {
    await jobs.close();
    for (const f of [...fleet, operator]) await f.close();
    await Promise.all([operatorOld.close(), operatorNew.close(), control.close()]);
    throw err;
  }
}

/**
 * The whole migration on embedded SQLite, in under a minute: several
 * application instances read, write and delete continuously while the demo
 * walks every phase through its gates — old-only, dual writes, backfill,
 * verification, shadow reads, ramp 10 → 50 → 100 %, new-primary,
 * old-read-only, sweep, complete — with one fault burst on the new store
 * that auto-halt catches. The backfill, the verifications, the repair drain
 * and the sweep run on a thread of their own, so the instances keep serving. Ends with the
 * operations served, client-visible errors, lost writes, latency and
 * throughput per phase, and an HTML report.
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
  const record = new Recorder(began);
  const timeline: { atMs: number; event: string }[] = [];
  const note = (event: string): void => {
    const atMs = record.now();
    timeline.push({ atMs, event });
    log(`${(atMs / 1000).toFixed(1).padStart(6)} s  ${event}`);
  };
  const faults: FaultSwitch = { down: false, injected: 0 };
  const thresholds: GateThresholds = {
    minComparisons: 30,
    maxMismatchRate: 0.05,
    minCapacityCalls: 200,
    rollbackWindowMs: 0,
  };

  const stores = await createDemoStores(dir, rows, note);
  const { old: operatorOld, new: operatorNew, control } = stores;
  const jobs = await startJobs(dir);
  const setup = { options, rows, dwell, began, note, faults, thresholds, jobs, record };
  const run = await startFleet({ ...setup, operatorOld, operatorNew, control });
  const { fleet, operator } = run;
  const detach = await attachWatcher(run, dir);
  const load = startLoad(fleet, {
    rows,
    clientsPerInstance: options.clients ?? 2,
    thinkMs: 5,
    began,
    random: rng(options.seed ?? 7),
  });
  const served = { fromMs: record.now(), toMs: 0 };
  record.phase('old-only');

  let verification: VerifyReport | undefined;
  try {
    await backfillAndVerify(run);
    await shadowRampAndFaultBurst(run);
    verification = await cutOver(run);
  } finally {
    served.toMs = record.now();
    await load.stop();
    for (const f of fleet) await f.settle();
    await jobs.close();
    await detach();
  }
  for (const f of fleet) await f.close();
  await operator.close();

  const lostWrites = await countLostWrites(operatorNew, load.expected);
  await Promise.all([operatorOld.close(), operatorNew.close(), control.close()]);
  note(`done: ${load.stats.ops} operations, ${load.stats.errors} client errors, ${lostWrites} lost writes`);

  const result = demoResult(run, { timeline, stats: load.stats, lostWrites, verification, served });
  if (!options.dir) rmSync(dir, { recursive: true, force: true });
  return result;
}
