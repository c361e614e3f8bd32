import { defineMigration } from '../src/index.js';
import { percentile } from '../src/demo/load.js';
import { openSides, type SidesSpec } from './app-sides.js';
import type { BenchUser } from './data.js';

/**
 * One application instance in a process of its own, for the load cases: it
 * joins the migration's fleet through the shared PostgreSQL control store and
 * writes through its repository on a fixed open-loop schedule, whatever the
 * earlier writes are doing: `rate` puts/s of random existing keys (1..rows),
 * plus `insertRate` puts/s of new keys past `rows` in increasing order, at
 * most `maxInFlight` at once. Each write is filed under the phase this
 * instance served it in.
 *
 * `jiti bench/app-child.ts '<AppLoadSpec as JSON>'`; over IPC it says
 * `{ type: 'ready' }` after its warm-up, and on `'stop'` waits for its writes
 * (and their background second writes), leaves the fleet and answers
 * `{ type: 'done', phases, errors, firstError }`.
 */
export interface AppLoadSpec {
  readonly sides: SidesSpec;
  readonly migration: string;
  readonly rows: number;
  readonly rate: number;
  readonly insertRate: number;
  readonly seed: number;
  readonly warmupMs: number;
  /** Connections per store pool. */
  readonly connections: number;
  /**
   * Writes in flight at most, as an application's request workers bound
   * them: a write scheduled beyond it waits for one to complete (its latency
   * still runs from its scheduled time), so an overloaded instance queues
   * instead of piling up connections and timeouts.
   */
  readonly maxInFlight: number;
  /** The instance's auto-halt (default on, as an application runs it). */
  readonly autoHalt?: boolean;
}

/** What one phase's writes saw, ms (latency from the scheduled time: timer lateness and queueing included). */
export interface PhaseLatency {
  readonly writes: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** p99 from the call to its completion. */
  readonly p99FromIssue: number;
}

export type ChildMessage =
  | { readonly type: 'ready' }
  | {
      readonly type: 'done';
      readonly phases: Readonly<Record<string, PhaseLatency>>;
      readonly inserted: number;
      /** Writes scheduled but never issued (still waiting for a free slot when the load stopped). */
      readonly unissued: number;
      /** Second writes that failed (each queued a repair), by error code. */
      readonly secondFailures: Readonly<Record<string, number>>;
      readonly firstError?: string;
    };

const spec = JSON.parse(process.argv[2] ?? '{}') as AppLoadSpec;
const send = (m: ChildMessage): void => void process.send?.(m);

let s = spec.seed >>> 0;
/** mulberry32: every run writes the same keys. */
const random = (): number => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const user = (id: number, n: number): BenchUser => ({
  id: BigInt(id),
  email: `user${id}@example.com`,
  name: `Name ${id} w${n}`,
  bio: `${'b'.repeat(190)}${n}`,
  prefs: { theme: n % 2 === 0 ? 'dark' : 'light', n: n % 100, tags: ['w', n % 7] },
  createdAt: new Date(Date.UTC(2020, 0, 1)),
  updatedAt: new Date(),
});

const sides = await openSides(spec.sides, spec.connections);
const migration = defineMigration<bigint, BenchUser>({
  name: spec.migration,
  instanceId: `bench-app-${process.pid}`,
  old: sides.old,
  new: sides.new,
  control: sides.control,
  ...(spec.autoHalt === false ? { autoHalt: false } : {}),
});
await migration.start();
const repo = migration.repository();
const secondFailures: Record<string, number> = {};
migration.on('second-write-failed', ({ code }) => void (secondFailures[code] = (secondFailures[code] ?? 0) + 1));

const seen = new Map<string, { fromSchedule: number[]; fromIssue: number[]; errors: number }>();
let measuring = false;
let stopping = false;
let inFlight = 0;
let drained = (): void => undefined;
let firstError: string | undefined;
let written = 0;
let nextInsert = spec.rows + 1;

/** Writes scheduled while `maxInFlight` were in flight, oldest first: issued as earlier ones complete. */
const deferred: { at: number; insert: boolean }[] = [];

function fire(at: number, insert: boolean): void {
  if (inFlight >= spec.maxInFlight) {
    deferred.push({ at, insert });
    return;
  }
  const id = insert ? nextInsert++ : 1 + Math.floor(random() * spec.rows);
  const phase = migration.state.phase;
  const counted = measuring;
  const t0 = performance.now();
  inFlight++;
  repo
    .put(user(id, ++written))
    .then(
      () => {
        if (!counted) return;
        const t1 = performance.now();
        const p = seen.get(phase) ?? { fromSchedule: [], fromIssue: [], errors: 0 };
        seen.set(phase, p);
        p.fromSchedule.push(t1 - at);
        p.fromIssue.push(t1 - t0);
      },
      (error: unknown) => {
        const p = seen.get(phase) ?? { fromSchedule: [], fromIssue: [], errors: 0 };
        seen.set(phase, p);
        p.errors++;
        firstError ??= `${phase}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300);
      },
    )
    .finally(() => {
      inFlight--;
      const next = stopping ? undefined : deferred.shift();
      if (next) fire(next.at, next.insert);
      else if (inFlight === 0) drained();
    });
}

/** The schedule: every 1/rate s an update, every 1/insertRate s an insert, fired late if the timer was. */
const start = performance.now();
const streams = [
  { interval: spec.rate > 0 ? 1000 / spec.rate : Infinity, n: 0, insert: false },
  { interval: spec.insertRate > 0 ? 1000 / spec.insertRate : Infinity, n: 0, insert: true },
];
function tick(): void {
  if (stopping) return;
  const now = performance.now();
  let next = Infinity;
  for (const st of streams) {
    for (; start + st.n * st.interval <= now; st.n++) fire(start + st.n * st.interval, st.insert);
    next = Math.min(next, start + st.n * st.interval);
  }
  if (next !== Infinity) setTimeout(tick, Math.max(0, next - performance.now()));
}
tick();

const summary = (): Record<string, PhaseLatency> =>
  Object.fromEntries(
    [...seen].map(([phase, p]) => [
      phase,
      {
        writes: p.fromSchedule.length,
        errors: p.errors,
        p50: percentile(p.fromSchedule, 50),
        p99: percentile(p.fromSchedule, 99),
        max: percentile(p.fromSchedule, 100),
        p99FromIssue: percentile(p.fromIssue, 99),
      },
    ]),
  );

process.on('message', (m) => {
  if (m !== 'stop') return;
  stopping = true;
  const unissued = deferred.length;
  void (async () => {
    await new Promise<void>((resolve) => {
      drained = resolve;
      if (inFlight === 0) resolve();
    });
    measuring = false;
    await migration.close();
    await sides.close();
    send({
      type: 'done',
      phases: summary(),
      inserted: nextInsert - spec.rows - 1,
      unissued,
      secondFailures,
      ...(firstError ? { firstError } : {}),
    });
    process.disconnect();
  })();
});

await new Promise((resolve) => setTimeout(resolve, spec.warmupMs));
measuring = true;
send({ type: 'ready' });
