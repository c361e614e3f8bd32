import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeUser, NEW_SCHEMA, newUsers, OLD_SCHEMA, oldUsers, rng, type DemoUser } from '../demo/users.js';
import { openSqlite, sqliteControlStore, sqliteStore } from '../sqlite/index.js';
import { defineMigration, type Migration } from '../migration/migration.js';
import { rowsBar } from '../demo/progress.js';
import type { CheckReport } from '../core/check-report.js';
import type { Store } from '../core/store.js';
import type { VerifyReport } from '../verify/verify-options.js';
import type { BackfillResult } from '../backfill/backfill-options.js';

export type { DemoUser } from '../demo/users.js';

export interface SelfCheckOptions {
  readonly rows?: number;
  /** Folder for the two SQLite files; default a fresh temporary folder, removed afterwards. */
  readonly dir?: string;
  /** Called with each step's line of progress. */
  readonly log?: (line: string) => void;
  /** Draw a progress bar for the backfill (on a terminal). */
  readonly progressBar?: boolean;
  readonly seed?: number;
}

export interface SelfCheckStep {
  readonly step: string;
  readonly ms: number;
  readonly detail: Record<string, number | string | boolean>;
}

export interface SelfCheckResult {
  readonly ok: boolean;
  readonly rows: number;
  readonly steps: readonly SelfCheckStep[];
  readonly checks: readonly CheckReport[];
  readonly compare: {
    readonly equal: number;
    readonly missing: number;
    readonly extra: number;
    readonly different: number;
  };
  /** The last verification, after the damage was repaired. */
  readonly verify: VerifyReport;
  /** The verification that found the damage and repaired it. */
  readonly repairRun: VerifyReport;
  readonly liveUpdates: number;
  readonly liveDeletes: number;
  readonly resurrected: number;
}

type Detail = Record<string, number | string | boolean>;
type StepFn = <T>(name: string, fn: () => Promise<T>, detail: (t: T) => Detail) => Promise<T>;

/** A step runner: times each step, records it and logs its line. */
function stepRunner(steps: SelfCheckStep[], log: (line: string) => void): StepFn {
  return async <T>(name: string, fn: () => Promise<T>, detail: (t: T) => Detail): Promise<T> => {
    const start = performance.now();
    const value = await fn();
    const s = { step: name, ms: Math.round(performance.now() - start), detail: detail(value) };
    steps.push(s);
    log(
      `${name.padEnd(38)} ${String(s.ms).padStart(6)} ms  ${Object.entries(s.detail)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    return value;
  };
}

/** What every step of the self-check works on. */
interface SelfCheckContext {
  readonly rows: number;
  readonly log: (line: string) => void;
  readonly random: () => number;
  readonly dir: string;
  readonly progressBar: boolean | undefined;
  readonly step: StepFn;
  readonly oldStore: Store<bigint, DemoUser>;
  readonly newStore: Store<bigint, DemoUser>;
}

/** Tombstone tables, old seeded, both mappings checked against the live schemas. */
async function prepareStores(ctx: SelfCheckContext): Promise<CheckReport[]> {
  const { rows, log, step, oldStore, newStore } = ctx;
  await step(
    'setup tombstone tables',
    async () => Promise.all([oldStore.setup(), newStore.setup()]),
    () => ({ created: 2 }),
  );
  await step(
    'seed old users',
    async () => {
      for (let i = 1; i <= rows; i += 1000) {
        await oldStore.writeIfNewer(Array.from({ length: Math.min(1000, rows - i + 1) }, (_, j) => makeUser(i + j, 1)));
      }
      return oldStore.count();
    },
    (count) => ({ rows: count }),
  );
  const checks = await step(
    'check mappings against schemas',
    async () => Promise.all([oldStore.check(), newStore.check()]),
    (reports) => ({ ok: reports.every((r) => r.ok), problems: reports.reduce((n, r) => n + r.problems.length, 0) }),
  );
  for (const report of checks)
    for (const p of report.problems) log(`  ${report.store}: ${p.severity} ${p.code}: ${p.message}`);
  return checks;
}

/** The migration itself: a control store in a third SQLite file, started and advanced to dual writes. */
async function startMigration(ctx: SelfCheckContext): Promise<Migration<bigint, DemoUser>> {
  const { dir, step, oldStore, newStore } = ctx;
  const controlDb = await openSqlite(join(dir, 'control.sqlite'));
  const migration = defineMigration({
    name: 'users',
    old: oldStore,
    new: newStore,
    control: sqliteControlStore(controlDb, { ownsDatabase: true }),
    actor: 'selfcheck',
    pollMs: 50,
  });
  await migration.start();
  await step(
    'advance to dual-write',
    async () => migration.advance({ reason: 'selfcheck: start dual writes' }),
    (s) => ({ phase: s.phase, version: s.version }),
  );
  return migration;
}

/** The backfill engine, while a live writer updates and deletes keys through the repository. */
async function backfillBesideLiveWrites(
  ctx: SelfCheckContext,
  migration: Migration<bigint, DemoUser>,
): Promise<{ backfill: BackfillResult; deleted: Set<bigint>; liveUpdates: number }> {
  const { rows, random, step } = ctx;
  const repo = migration.repository();
  const deleted = new Set<bigint>();
  let liveUpdates = 0;
  let copying = true;
  const live = (async () => {
    for (let op = 0; copying; op++) {
      const id = BigInt(1 + Math.floor(random() * rows));
      const current = await repo.get(id);
      if (current && random() < 0.2) {
        await repo.delete(id);
        deleted.add(id);
      } else if (current) {
        await repo.put({ ...current, name: `${current.name}*`, version: current.version + 1 });
        liveUpdates++;
      }
      if (op % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
    }
  })();

  const bar = rowsBar(ctx.progressBar, 'backfill');
  const backfill = await step(
    'backfill old → new beside live writes',
    async () => {
      try {
        bar.start(rows);
        return await migration.backfill({
          chunkSize: 500,
          onProgress: (p) => bar.update(p.rowsDone, p.rowsPerSecond, p.total),
        });
      } finally {
        bar.stop();
        copying = false;
        await live;
        await migration.settle();
        await migration.drainRepairs();
      }
    },
    (r) => ({
      status: r.status,
      inserted: r.inserted,
      updated: r.updated,
      deleted: r.deleted,
      deadLetters: r.deadLetters,
      liveUpdates,
      liveDeletes: deleted.size,
    }),
  );
  return { backfill, deleted, liveUpdates };
}

/** Backfills again (nothing changes) and verifies with hashes in each database. */
async function backfillAgainAndVerify(
  ctx: SelfCheckContext,
  migration: Migration<bigint, DemoUser>,
): Promise<{ again: BackfillResult; compare: SelfCheckResult['compare'] }> {
  const { step } = ctx;
  const again = await step(
    'backfill again (idempotent)',
    async () => migration.backfill({ restart: true, mode: 'conditional' }),
    (r) => ({
      status: r.status,
      inserted: r.inserted,
      updated: r.updated,
      skippedExisting: r.skippedExisting,
      skippedTombstoned: r.skippedTombstoned,
    }),
  );
  const verified = await step(
    'verify: hashes in each database',
    async () => migration.verify({ mode: 'full', recheckDelayMs: 100 }),
    (r) => ({
      status: r.status,
      matched: r.matched,
      missing: r.missing.total,
      extra: r.extra.total,
      different: r.different.total,
      hashedOld: r.old.hashing,
      hashedNew: r.new.hashing,
    }),
  );
  const compare = {
    equal: verified.matched,
    missing: verified.missing.total,
    extra: verified.extra.total,
    different: verified.different.total,
  };
  return { again, compare };
}

/** Damages new behind midair's back, as a bad script or a restore would, then lets verification find and repair it. */
async function damageAndRepair(
  ctx: SelfCheckContext,
  migration: Migration<bigint, DemoUser>,
): Promise<{ damage: number; repaired: VerifyReport; final: VerifyReport }> {
  const { step, newStore } = ctx;
  const victims = await newStore.sampleKeys(5);
  const damage = await step(
    'damage new: 3 lost, 2 altered',
    async () => {
      for (const id of victims.slice(0, 3)) await newStore.delete(id, { tombstone: false });
      for (const id of victims.slice(3)) {
        const u = await newStore.get(id);
        if (u) await newStore.put({ ...u, name: `${u.name} (altered)` });
      }
      return victims.length;
    },
    (n) => ({ keys: n }),
  );
  const repaired = await step(
    'verify finds it, repair, verify again',
    async () => migration.verify({ mode: 'full', repair: true, recheckDelayMs: 100 }),
    (r) => ({
      missing: r.missing.total,
      different: r.different.total,
      repaired: r.repair?.repaired ?? 0,
      stillDifferent: r.repair?.stillDifferent.total ?? 0,
      status: r.status,
    }),
  );
  const final = await step(
    'verify once more',
    async () => migration.verify({ mode: 'full', recheckDelayMs: 100 }),
    (r) => ({ status: r.status, matched: r.matched, segments: r.segments.hashed }),
  );
  return { damage, repaired, final };
}

/** Counts the deleted keys that came back (in either store, or without their tombstone in new). */
async function checkDeletedStayDeleted(ctx: SelfCheckContext, deleted: Set<bigint>): Promise<number> {
  const { step, oldStore, newStore } = ctx;
  return step(
    'check deleted keys stay deleted',
    async () => {
      let back = 0;
      for (const id of deleted)
        if ((await oldStore.get(id)) || (await newStore.get(id)) || !(await newStore.getTombstone(id))) back++;
      return back;
    },
    (n) => ({ deleted: deleted.size, resurrected: n }),
  );
}

async function runSteps(ctx: SelfCheckContext, steps: SelfCheckStep[]): Promise<SelfCheckResult> {
  const { rows } = ctx;
  const checks = await prepareStores(ctx);
  const migration = await startMigration(ctx);
  const { backfill, deleted, liveUpdates } = await backfillBesideLiveWrites(ctx, migration);
  const { again, compare } = await backfillAgainAndVerify(ctx, migration);
  const { damage, repaired, final } = await damageAndRepair(ctx, migration);
  await migration.close();

  const resurrected = await checkDeletedStayDeleted(ctx, deleted);
  const ok =
    checks.every((c) => c.ok) &&
    backfill.status === 'complete' &&
    again.status === 'complete' &&
    again.inserted + again.updated === 0 &&
    compare.missing + compare.extra + compare.different === 0 &&
    compare.equal === rows - deleted.size &&
    repaired.missing.total + repaired.different.total === damage &&
    repaired.status === 'equal' &&
    final.status === 'equal' &&
    resurrected === 0;
  return {
    ok,
    rows,
    steps,
    checks,
    compare,
    verify: final,
    repairRun: repaired,
    liveUpdates,
    liveDeletes: deleted.size,
    resurrected,
  };
}

/**
 * A self-check on three embedded SQLite files (old, new, control): seeds an
 * old `users` table, starts a migration into a new split schema, advances to
 * dual-write, runs the backfill engine while a live writer updates and
 * deletes the same keys through the repository, backfills again (nothing
 * changes: idempotent), then compares every entity and checks that no
 * deleted key came back. Real work, no server needed.
 *
 * @example
 * ```ts
 * const result = await runSelfCheck({ rows: 20_000, log: console.log });
 * if (!result.ok) process.exitCode = 1;
 * ```
 */
export async function runSelfCheck(options: SelfCheckOptions = {}): Promise<SelfCheckResult> {
  const rows = options.rows ?? 20_000;
  const log = options.log ?? (() => undefined);
  const random = rng(options.seed ?? 42);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'midair-selfcheck-'));
  const steps: SelfCheckStep[] = [];
  const step = stepRunner(steps, log);

  const oldDb = await openSqlite(join(dir, 'old.sqlite'));
  const newDb = await openSqlite(join(dir, 'new.sqlite'));
  oldDb.exec(OLD_SCHEMA);
  for (const sql of NEW_SCHEMA) newDb.exec(sql);
  const oldStore: Store<bigint, DemoUser> = sqliteStore(oldDb, oldUsers, {
    name: 'old (sqlite users)',
    ownsDatabase: true,
  });
  const newStore: Store<bigint, DemoUser> = sqliteStore(newDb, newUsers, {
    name: 'new (sqlite users + user_profiles)',
    ownsDatabase: true,
  });

  try {
    const ctx: SelfCheckContext = {
      rows,
      log,
      random,
      dir,
      progressBar: options.progressBar,
      step,
      oldStore,
      newStore,
    };
    return await runSteps(ctx, steps);
  } finally {
    await oldStore.close();
    await newStore.close();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
}
