import type * as LaunchDarkly from '@launchdarkly/node-server-sdk';
import { defineMigration, diffEntities, memoryControlStore, memoryStore, type Store } from '../src/index.js';
import { median, type BenchCase, type BenchContext } from './harness.js';

/**
 * Repository call overhead: what routing a `get`/`put` through a migration
 * layer costs per call on top of the store calls it makes, for midair's
 * repository and for LaunchDarkly's server SDK migration support, on the same
 * in-memory stores, in the two phases where both touch both stores.
 *
 * Overhead = (time per call through the layer) − (time per the same call made
 * on the stores directly). The direct call is what the phase itself requires:
 * a write is old.put + new.put; a read is old.get in dual-write, and old.get +
 * new.get in shadow-read. The shadow comparison is overhead on both sides (both
 * compare with `diffEntities`).
 */

const PHASES = ['dual-write', 'shadow-read'] as const;
type Phase = (typeof PHASES)[number];

export const KEYS = 1000;
/** Calls per timed batch: the clock is read per batch, never per call. */
export const BATCH = 1000;
const FLAG = 'accounts-migration';

export interface Account {
  id: bigint;
  email: string;
  name: string;
  plan: string;
  visits: number;
}

export interface Op {
  readonly read: boolean;
  readonly key: bigint;
  readonly row: Account;
}

const account = (i: number): Account => ({
  id: BigInt(i),
  email: `user${i}@example.com`,
  name: `User ${i}`,
  plan: i % 3 === 0 ? 'pro' : 'free',
  visits: i * 7,
});

/**
 * One batch of calls, the same for every side and run: reads and writes
 * alternate, keys drawn by a seeded xorshift. A write puts the entity the
 * stores already hold, so old and new stay equal and every shadow comparison
 * matches (a mismatch would add a delayed re-check to midair's side only).
 */
export function batchOps(): readonly Op[] {
  let s = 0x2545f491;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const rows = Array.from({ length: KEYS }, (_, i) => account(i));
  return Array.from({ length: BATCH }, (_, i) => {
    const k = Math.floor(next() * KEYS);
    return { read: i % 2 === 0, key: BigInt(k), row: rows[k] as Account };
  });
}

export async function filledStores(): Promise<{ old: Store<bigint, Account>; neu: Store<bigint, Account> }> {
  const old = memoryStore<bigint, Account>({ key: 'id', name: 'old' });
  const neu = memoryStore<bigint, Account>({ key: 'id', name: 'new' });
  for (let i = 0; i < KEYS; i++) {
    await old.put(account(i));
    await neu.put(account(i));
  }
  return { old, neu };
}

/** The same call made on the stores directly: what the phase requires, with no layer in between. */
function directCall(
  phase: Phase,
  old: Store<bigint, Account>,
  neu: Store<bigint, Account>,
): (op: Op) => Promise<unknown> {
  const readsBoth = phase === 'shadow-read';
  return async (op) => {
    if (op.read) {
      const answer = await old.get(op.key);
      if (readsBoth) await neu.get(op.key);
      return answer;
    }
    await old.put(op.row);
    await neu.put(op.row);
    return undefined;
  };
}

/** A migration layer under test, set up on a pair of stores in one phase. */
interface Subject {
  readonly call: (op: Op) => Promise<unknown>;
  /** Waits out work the layer left in the background (counted in the batch's time). */
  readonly settle: () => Promise<void>;
  /** Throws unless the layer did all the work of its phase (both writes, every comparison). */
  readonly check: (reads: number, writes: number) => void;
  readonly close: () => Promise<void>;
}

interface PhaseFigures {
  /** µs per call, made on the stores directly. */
  readonly direct: number;
  /** µs per call, through the layer. */
  readonly through: number;
}

export const nextTurn = async (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Times `calls` calls (whole batches, after a warm-up) directly and through the subject, batch by batch in alternating order. */
async function measurePhase(
  phase: Phase,
  calls: number,
  make: (phase: Phase, old: Store<bigint, Account>, neu: Store<bigint, Account>) => Promise<Subject>,
): Promise<PhaseFigures> {
  const { old, neu } = await filledStores();
  const subject = await make(phase, old, neu);
  const direct = directCall(phase, old, neu);
  const ops = batchOps();
  const reads = ops.filter((op) => op.read).length;
  const run = async (call: (op: Op) => Promise<unknown>, settle?: () => Promise<void>): Promise<number> => {
    const t0 = performance.now();
    for (const op of ops) await call(op);
    await settle?.();
    return performance.now() - t0;
  };
  const batches = Math.max(1, Math.ceil(calls / BATCH));
  const warmUp = Math.max(10, Math.ceil(batches / 5));
  let directMs = 0;
  let throughMs = 0;
  try {
    for (let i = 0; i < warmUp; i++) {
      await run(direct);
      await run(subject.call, subject.settle);
    }
    subject.check(reads * warmUp, (BATCH - reads) * warmUp);
    for (let i = 0; i < batches; i++) {
      // Timers and I/O get their turn between batches, outside the timed part.
      await nextTurn();
      if (i % 2 === 0) {
        directMs += await run(direct);
        throughMs += await run(subject.call, subject.settle);
      } else {
        throughMs += await run(subject.call, subject.settle);
        directMs += await run(direct);
      }
    }
    subject.check(reads * (warmUp + batches), (BATCH - reads) * (warmUp + batches));
  } finally {
    await subject.close();
  }
  const perCall = (ms: number): number => (ms * 1000) / (batches * BATCH);
  return { direct: perCall(directMs), through: perCall(throughMs) };
}

async function midairSubject(phase: Phase, old: Store<bigint, Account>, neu: Store<bigint, Account>): Promise<Subject> {
  // Comparisons in flight are capped at a batch's reads or more, so none is dropped: each read is compared, as on LaunchDarkly's side.
  const m = await defineMigration({
    name: 'overhead',
    old,
    new: neu,
    control: memoryControlStore(),
    autoHalt: false,
    shadow: { maxInFlight: BATCH },
  }).start();
  while (m.state.phase !== phase) await m.advance({ reason: 'bench' });
  const repo = m.repository();
  return {
    call: (op) => (op.read ? repo.get(op.key) : repo.put(op.row)),
    settle: () => m.settle(),
    check: (reads, writes) => {
      const s = m.stats;
      const compared = phase === 'shadow-read' ? reads : 0;
      // `writes` also counts the repairer's ticks (one write each, every 500 ms).
      if (
        s.reads !== reads ||
        s.writes < writes ||
        s.comparisons !== compared ||
        s.mismatches !== 0 ||
        s.comparisonsDropped !== 0 ||
        s.secondaryFailures !== 0 ||
        s.repairsEnqueued !== 0
      ) {
        throw new Error(
          `midair did not do its phase's work: ${JSON.stringify(s)} for ${reads} reads, ${writes} writes`,
        );
      }
    },
    close: () => m.close(),
  };
}

type LD = typeof LaunchDarkly;
interface LaunchDarklyRig {
  readonly ld: LD;
  readonly client: LaunchDarkly.LDClient;
  readonly td: LaunchDarkly.integrations.TestData;
}
let rig: LaunchDarklyRig | undefined;

const must = <T>(value: T | undefined): T => {
  if (value === undefined) throw new Error('the migration was called without its payload');
  return value;
};

/** LaunchDarkly's migration on the same stores, its flag served by TestData at the stage matching `phase`. */
async function launchDarklySubject(
  phase: Phase,
  old: Store<bigint, Account>,
  neu: Store<bigint, Account>,
): Promise<Subject> {
  if (!rig) throw new Error('setup did not create the LaunchDarkly client');
  const { ld, client, td } = rig;
  await td.update(
    td.flag(FLAG).valueForAll(phase === 'dual-write' ? ld.LDMigrationStage.DualWrite : ld.LDMigrationStage.Shadow),
  );
  const counts = { newWrites: 0, checks: 0, mismatches: 0, failures: 0 };
  const migration = ld.createMigration<Account | undefined, void, bigint, Account>(client, {
    readOld: async (key) => ld.LDMigrationSuccess(await old.get(must(key))),
    readNew: async (key) => ld.LDMigrationSuccess(await neu.get(must(key))),
    writeOld: async (row) => ld.LDMigrationSuccess(await old.put(must(row))),
    writeNew: async (row) => {
      counts.newWrites++;
      return ld.LDMigrationSuccess(await neu.put(must(row)));
    },
    check: (a, b) => {
      counts.checks++;
      const same = a === undefined || b === undefined ? a === b : diffEntities(a, b).length === 0;
      if (!same) counts.mismatches++;
      return same;
    },
  });
  const context = { kind: 'user', key: 'bench' };
  // The default stage is `off`: a flag that failed to evaluate would show as missing new writes and checks.
  const off = ld.LDMigrationStage.Off;
  return {
    call: async (op) => {
      if (op.read) {
        const r = await migration.read(FLAG, context, off, op.key);
        if (!r.success) counts.failures++;
        return r;
      }
      const r = await migration.write(FLAG, context, off, op.row);
      if (!r.authoritative.success || !r.nonAuthoritative?.success) counts.failures++;
      return r;
    },
    settle: async () => Promise.resolve(),
    check: (reads, writes) => {
      const compared = phase === 'shadow-read' ? reads : 0;
      if (
        counts.newWrites !== writes ||
        counts.checks !== compared ||
        counts.mismatches !== 0 ||
        counts.failures !== 0
      ) {
        throw new Error(
          `LaunchDarkly's migration did not do its stage's work: ${JSON.stringify(counts)} for ${reads} reads, ${writes} writes`,
        );
      }
    },
    close: async () => Promise.resolve(),
  };
}

type Figures = Record<Phase, { direct: number[]; overhead: number[] }>;
const emptyFigures = (): Figures => ({
  'dual-write': { direct: [], overhead: [] },
  'shadow-read': { direct: [], overhead: [] },
});
let midairFigures = emptyFigures();
let launchDarklyFigures = emptyFigures();

/** Mean over the two phases of (through − direct), µs per call; each phase's figures kept for the notes. */
async function overhead(ctx: BenchContext, make: typeof midairSubject, into: Figures): Promise<number> {
  const calls = ctx.quick ? 20_000 : 200_000;
  let sum = 0;
  for (const phase of PHASES) {
    const f = await measurePhase(phase, calls, make);
    into[phase].direct.push(f.direct);
    into[phase].overhead.push(f.through - f.direct);
    sum += f.through - f.direct;
  }
  return sum / PHASES.length;
}

const us = (n: number): string => `${n.toFixed(2)} µs`;

export const repositoryOverhead: BenchCase = {
  name: 'repository call overhead',
  what: 'per-call overhead (through the repository − the same store calls made directly) of an even get/put mix over 1 000 keys on memory stores, mean of dual-write and shadow-read (the row count does not apply)',
  baselineWhat:
    'the same for LaunchDarkly’s server SDK migration (`createMigration`, stages dualwrite and shadow, flag served by TestData, consistency check with `diffEntities`)',
  target: 0.5,
  unit: 'µs',
  async setup(ctx) {
    midairFigures = emptyFigures();
    launchDarklyFigures = emptyFigures();
    let ld: LD;
    try {
      ld = await import('@launchdarkly/node-server-sdk');
    } catch (error) {
      return `@launchdarkly/node-server-sdk cannot be loaded (${error instanceof Error ? error.message : String(error)})`;
    }
    const td = new ld.integrations.TestData();
    await td.update(td.flag(FLAG).valueForAll(ld.LDMigrationStage.Off));
    // Not `offline`: offline mode ignores the data source and answers every evaluation with the default, so the flag
    // would never be evaluated. TestData replaces the streaming connection; with events and diagnostics off nothing
    // goes to the network.
    const client = ld.init('sdk-key-not-used', {
      updateProcessor: td.getFactory(),
      sendEvents: false,
      diagnosticOptOut: true,
      logger: ld.basicLogger({ level: 'none' }),
    });
    try {
      await client.waitForInitialization({ timeout: 10 });
    } catch (error) {
      client.close();
      return `the LaunchDarkly client did not initialise from TestData (${error instanceof Error ? error.message : String(error)})`;
    }
    rig = { ld, client, td };
    const calls = ctx.quick ? 20_000 : 200_000;
    ctx.note(
      `${calls} calls per phase and side (batches of ${BATCH}, after a warm-up), half get, half put; direct = old.put + new.put per put, old.get (dual-write) or old.get + new.get (shadow-read) per get; midair's background work (second writes, shadow comparisons) is awaited inside each timed batch.`,
    );
    ctx.note(
      'LaunchDarkly: default options of `createMigration` (concurrent reads, latency and error tracking on), events off (`sendEvents: false`), TestData as the data source; midair: memory control store, auto-halt off, comparisons in flight capped at a batch so none is dropped.',
    );
    return true;
  },
  midair: async (ctx) => overhead(ctx, midairSubject, midairFigures),
  baseline: async (ctx) => overhead(ctx, launchDarklySubject, launchDarklyFigures),
  teardown(ctx) {
    rig?.client.close();
    rig = undefined;
    for (const phase of PHASES) {
      const m = midairFigures[phase];
      const l = launchDarklyFigures[phase];
      if (m.overhead.length === 0 && l.overhead.length === 0) continue;
      ctx.note(
        `${phase} (medians over runs): midair +${us(median(m.overhead))}/call, LaunchDarkly (${phase === 'dual-write' ? 'dualwrite' : 'shadow'}) +${us(median(l.overhead))}/call; the direct calls ${us(median([...m.direct, ...l.direct]))}/call.`,
      );
    }
    return Promise.resolve();
  },
};
