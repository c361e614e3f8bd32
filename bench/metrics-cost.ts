import { Registry } from 'prom-client';
import { defineMigration, memoryControlStore, type Migration, type Store } from '../src/index.js';
import { prometheusMetrics } from '../src/prometheus/index.js';
import { median, type BenchCase, type BenchContext } from './harness.js';
import { BATCH, batchOps, filledStores, nextTurn, type Account } from './overhead.js';

/**
 * What Prometheus metrics cost per repository call: the same even get/put
 * mix as the repository-overhead case, on the same memory stores, through a
 * migration with `prometheusMetrics` attached and through one without, batch
 * by batch in alternating order (so drift of a shared machine hits both
 * alike), in dual-write and shadow-read. Memory stores answer in about a
 * microsecond, so the figure is the metrics' share of midair's own work: on a
 * real database the same cost is a far smaller share of a call.
 */

const PHASES = ['dual-write', 'shadow-read'] as const;
type Phase = (typeof PHASES)[number];

async function migrationIn(
  phase: Phase,
  old: Store<bigint, Account>,
  neu: Store<bigint, Account>,
  registry?: Registry,
): Promise<Migration<bigint, Account>> {
  const m = await defineMigration({
    name: 'metrics-cost',
    old,
    new: neu,
    control: memoryControlStore(),
    autoHalt: false,
    shadow: { maxInFlight: BATCH },
    ...(registry ? { metrics: prometheusMetrics({ registry }) } : {}),
  }).start();
  while (m.state.phase !== phase) await m.advance({ reason: 'bench' });
  return m;
}

interface Pair {
  /** µs of CPU per call with metrics on and off. */
  readonly on: number;
  readonly off: number;
}

/** One batch's cost: the process's CPU time (user + system) and the wall time it took. */
interface BatchCost {
  readonly cpuUs: number;
  readonly wallMs: number;
}

/**
 * µs per call through a migration with metrics and one without, on the same
 * stores, batches alternating. The figure is CPU time: memory stores do no
 * I/O, so a call's cost is the CPU it takes, and on a shared machine the wall
 * time also holds however long the scheduler gave the cores to others (the
 * notes give it too).
 */
async function measurePhase(phase: Phase, calls: number, note: (text: string) => void): Promise<Pair> {
  const { old, neu } = await filledStores();
  const registry = new Registry();
  const on = await migrationIn(phase, old, neu, registry);
  const off = await migrationIn(phase, old, neu);
  // A third, whose only listener does nothing: what the repository's timing of each store call costs by itself.
  const heard = await migrationIn(phase, old, neu);
  heard.on('store-call', () => undefined);
  const ops = batchOps();
  const run = async (m: Migration<bigint, Account>): Promise<BatchCost> => {
    const repo = m.repository();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const op of ops) await (op.read ? repo.get(op.key) : repo.put(op.row));
    await m.settle();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { cpuUs: cpu.user + cpu.system, wallMs };
  };
  const batches = Math.max(1, Math.ceil(calls / BATCH));
  const warmUp = Math.max(10, Math.ceil(batches / 5));
  const onCost: BatchCost[] = [];
  const offCost: BatchCost[] = [];
  const heardCost: BatchCost[] = [];
  try {
    for (let i = 0; i < warmUp; i++) {
      await run(off);
      await run(on);
      await run(heard);
    }
    for (let i = 0; i < batches; i++) {
      await nextTurn();
      if (i % 2 === 0) {
        offCost.push(await run(off));
        onCost.push(await run(on));
        heardCost.push(await run(heard));
      } else {
        heardCost.push(await run(heard));
        onCost.push(await run(on));
        offCost.push(await run(off));
      }
    }
    // The metrics were on: every put of the migration is in the scrape (and what a scrape takes, for the notes).
    const t0 = performance.now();
    const text = await registry.metrics();
    const scrapeMs = performance.now() - t0;
    const puts = /^midair_store_calls_total\{migration="metrics-cost",side="old",op="put",result="ok"\} (\d+)$/m.exec(
      text,
    );
    const expected = (warmUp + batches) * ops.filter((op) => !op.read).length;
    if (Number(puts?.[1]) !== expected) throw new Error(`the scrape counted ${puts?.[1]} puts on old, not ${expected}`);
    note(`${phase}: a scrape of the registry took ${scrapeMs.toFixed(1)} ms (${text.split('\n').length} lines).`);
  } finally {
    await on.close();
    await off.close();
    await heard.close();
  }
  // The median batch: one that a collection or a neighbour's burst on a shared core slowed counts once, not by its length.
  const cpuPerCall = (c: readonly BatchCost[]): number => median(c.map((b) => b.cpuUs)) / BATCH;
  const wallPerCall = (c: readonly BatchCost[]): number => (median(c.map((b) => b.wallMs)) * 1000) / BATCH;
  note(
    `${phase}: wall time of the median batch ${wallPerCall(onCost).toFixed(2)} µs/call with metrics, ${wallPerCall(offCost).toFixed(2)} without; CPU with a store-call listener that does nothing ${cpuPerCall(heardCost).toFixed(2)} µs/call (the repository timing each call).`,
  );
  return { on: cpuPerCall(onCost), off: cpuPerCall(offCost) };
}

/** Both figures of one measurement: whichever of the case's two sides is asked first measures, the other takes its figure. */
let pending: { readonly on: number; readonly off: number; taken: 'on' | 'off' } | undefined;

async function measure(ctx: BenchContext): Promise<Pair> {
  const calls = ctx.quick ? 20_000 : 200_000;
  let on = 0;
  let off = 0;
  for (const phase of PHASES) {
    const f = await measurePhase(phase, calls, ctx.note);
    ctx.note(`${phase}: CPU ${f.on.toFixed(2)} µs/call with metrics, ${f.off.toFixed(2)} µs/call without.`);
    on += f.on / PHASES.length;
    off += f.off / PHASES.length;
  }
  return { on, off };
}

async function side(ctx: BenchContext, which: 'on' | 'off'): Promise<number> {
  if (pending && pending.taken !== which) {
    const figure = pending[which];
    pending = undefined;
    return figure;
  }
  const pair = await measure(ctx);
  pending = { ...pair, taken: which };
  return pair[which];
}

export const metricsCost: BenchCase = {
  name: 'metrics cost',
  what: 'CPU µs per repository call with Prometheus metrics on (`prometheusMetrics` on a registry, scraped after each phase): an even get/put mix over 1 000 keys on memory stores, mean of dual-write and shadow-read',
  baselineWhat:
    'the same calls on the same stores through a migration without metrics, batch by batch alternating with the one with them',
  target: 1.1,
  unit: 'µs',
  setup: async (ctx) => {
    pending = undefined;
    ctx.note(
      `${ctx.quick ? 20_000 : 200_000} calls per phase and side (batches of ${BATCH}, after a warm-up), background work awaited inside each batch; each run measures both sides, interleaved; the figure is the process's CPU time (user + system) of the median batch per call, its wall time is in the notes.`,
    );
    return Promise.resolve(true);
  },
  midair: async (ctx) => side(ctx, 'on'),
  baseline: async (ctx) => side(ctx, 'off'),
};
