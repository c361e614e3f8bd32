import { Registry } from 'prom-client';
import { defineMigration, memoryControlStore, type Migration, type Store } from '../src/index.js';
import { prometheusMetrics } from '../src/prometheus/index.js';
import type { BenchCase, BenchContext } from './harness.js';
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
  /** µs per call with metrics on and off. */
  readonly on: number;
  readonly off: number;
}

/** µs per call through a migration with metrics and one without, on the same stores, batches alternating. */
async function measurePhase(phase: Phase, calls: number, note: (text: string) => void): Promise<Pair> {
  const { old, neu } = await filledStores();
  const registry = new Registry();
  const on = await migrationIn(phase, old, neu, registry);
  const off = await migrationIn(phase, old, neu);
  const ops = batchOps();
  const run = async (m: Migration<bigint, Account>): Promise<number> => {
    const repo = m.repository();
    const t0 = performance.now();
    for (const op of ops) await (op.read ? repo.get(op.key) : repo.put(op.row));
    await m.settle();
    return performance.now() - t0;
  };
  const batches = Math.max(1, Math.ceil(calls / BATCH));
  const warmUp = Math.max(10, Math.ceil(batches / 5));
  let onMs = 0;
  let offMs = 0;
  try {
    for (let i = 0; i < warmUp; i++) {
      await run(off);
      await run(on);
    }
    for (let i = 0; i < batches; i++) {
      await nextTurn();
      if (i % 2 === 0) {
        offMs += await run(off);
        onMs += await run(on);
      } else {
        onMs += await run(on);
        offMs += await run(off);
      }
    }
    // The metrics were on: every call of the migration is in the scrape (and what a scrape takes, for the notes).
    const t0 = performance.now();
    const text = await registry.metrics();
    const scrapeMs = performance.now() - t0;
    const counted = [...text.matchAll(/^midair_store_calls_total\{[^}]*side="old"[^}]*\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    const expected = (warmUp + batches) * BATCH;
    if (counted !== expected) throw new Error(`the scrape counted ${counted} calls on old, not ${expected}`);
    note(`${phase}: a scrape of the registry took ${scrapeMs.toFixed(1)} ms (${text.split('\n').length} lines).`);
  } finally {
    await on.close();
    await off.close();
  }
  const perCall = (ms: number): number => (ms * 1000) / (batches * BATCH);
  return { on: perCall(onMs), off: perCall(offMs) };
}

/** Both figures of one measurement: whichever of the case's two sides is asked first measures, the other takes its figure. */
let pending: { readonly on: number; readonly off: number; taken: 'on' | 'off' } | undefined;

async function measure(ctx: BenchContext): Promise<Pair> {
  const calls = ctx.quick ? 20_000 : 200_000;
  let on = 0;
  let off = 0;
  for (const phase of PHASES) {
    const f = await measurePhase(phase, calls, ctx.note);
    ctx.note(`${phase}: ${f.on.toFixed(2)} µs/call with metrics, ${f.off.toFixed(2)} µs/call without.`);
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
  what: 'µs per repository call with Prometheus metrics on (`prometheusMetrics` on a registry, scraped after each phase): an even get/put mix over 1 000 keys on memory stores, mean of dual-write and shadow-read',
  baselineWhat:
    'the same calls on the same stores through a migration without metrics, batch by batch alternating with the one with them',
  target: 1.1,
  unit: 'µs',
  setup: async (ctx) => {
    pending = undefined;
    ctx.note(
      `${ctx.quick ? 20_000 : 200_000} calls per phase and side (batches of ${BATCH}, after a warm-up), background work awaited inside each batch; each run measures both sides, interleaved.`,
    );
    return Promise.resolve(true);
  },
  midair: async (ctx) => side(ctx, 'on'),
  baseline: async (ctx) => side(ctx, 'off'),
};
