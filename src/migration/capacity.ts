import type { CallFigures, InstanceInfo, SideCalls, StoreCallFigures } from '../control/fleet.js';
import { BUCKETS, bucketOf, mergeBuckets, quantileMs, sparse } from '../core/latency-buckets.js';
import type { Side } from '../core/phases.js';
import type { StoreCall } from './events.js';
import type { CallKindFigures, MigrationFacts, SideFigures } from './gates.js';

/**
 * The error codes that count against a store in the capacity figures: it
 * could not serve the call (it timed out, dropped or refused the connection,
 * deadlocked, failed in a way midair cannot name, or cannot be used at all).
 * The others are not the store being slow or broken: a FENCED refusal is the
 * store keeping a stale writer out, CONFLICT the fleet moving on, constraint
 * and value errors are the data's (parked repairs name them), ABORTED and
 * CLOSED the caller's. Such calls still count as calls.
 */
export const STORE_ERROR_CODES: ReadonlySet<string> = new Set([
  'TIMEOUT',
  'CONNECTION',
  'DEADLOCK',
  'UNKNOWN',
  'AUTH_FAILED',
  'TLS',
  'UNKNOWN_DATABASE',
  'SCHEMA_MISMATCH',
]);

/** One kind of call on one store in the version being counted. */
class KindCount {
  calls = 0;
  errors = 0;
  readonly counts = new Float64Array(BUCKETS);

  clear(): void {
    this.calls = 0;
    this.errors = 0;
    this.counts.fill(0);
  }

  figures(): CallFigures {
    return { calls: this.calls, errors: this.errors, buckets: sparse(this.counts) };
  }
}

/** The operations that write (the rest read): the application's writes, second writes, strict writes. */
const WRITES: ReadonlySet<string> = new Set(['put', 'delete', 'update', 'sync']);
export const isWrite = (op: string): boolean => WRITES.has(op) || op.startsWith('strict ');

/**
 * What an instance accumulates for the capacity gate: per store, the calls
 * it made for the application (the repository's `store-call` events: reads,
 * writes, second writes, shadow reads), how many failed for the store's own
 * reasons ({@link STORE_ERROR_CODES}), and a histogram of their latencies —
 * since it began serving the newest phase version it saw a call under. A
 * call under a newer version starts the counts afresh; one still finishing
 * under an older version is left out. Each call's time is its own: what it
 * spent in a call on the other store inside it (`nestedMs`) is that call's.
 * O(1) per call, with no allocation; 16 KB of memory.
 *
 * @example
 * ```ts
 * const figures = new CapacityRecorder();
 * migration.on('store-call', (c) => figures.record(c));
 * figures.report(7) // { phaseVersion: 7, old: { reads: { calls, errors, buckets }, writes: … }, new: … }
 * ```
 */
export class CapacityRecorder {
  #version = 0;
  readonly #counts = {
    old: { reads: new KindCount(), writes: new KindCount() },
    new: { reads: new KindCount(), writes: new KindCount() },
  };

  record(call: StoreCall): void {
    if (call.phaseVersion < this.#version) return;
    if (call.phaseVersion > this.#version) this.#start(call.phaseVersion);
    const side = this.#counts[call.side];
    const kind = isWrite(call.op) ? side.writes : side.reads;
    kind.calls++;
    if (call.error !== undefined && STORE_ERROR_CODES.has(call.error)) kind.errors++;
    const b = bucketOf(call.ms - (call.nestedMs ?? 0));
    kind.counts[b] = (kind.counts[b] as number) + 1;
  }

  /** The figures for phase version `version` (the one the instance serves): empty when no call was made under it yet. */
  report(version: number): StoreCallFigures {
    if (version > this.#version) this.#start(version);
    const side = (s: Side): SideCalls => ({
      reads: this.#counts[s].reads.figures(),
      writes: this.#counts[s].writes.figures(),
    });
    return { phaseVersion: this.#version, old: side('old'), new: side('new') };
  }

  #start(version: number): void {
    this.#version = version;
    for (const side of [this.#counts.old, this.#counts.new]) {
      side.reads.clear();
      side.writes.clear();
    }
  }
}

/** Dense counts of one kind of call on one store over the fleet, with how many calls and errors they hold. */
interface Merged {
  readonly calls: number;
  readonly errors: number;
  readonly counts: Float64Array;
}

function merge(parts: readonly CallFigures[]): Merged {
  return {
    calls: parts.reduce((n, p) => n + p.calls, 0),
    errors: parts.reduce((n, p) => n + p.errors, 0),
    counts: mergeBuckets(parts.map((p) => p.buckets)),
  };
}

const figuresOf = (m: Merged): CallKindFigures => ({
  calls: m.calls,
  errors: m.errors,
  p99Ms: quantileMs(m.counts, 0.99),
});

/**
 * Old's p99 had its calls come in new's mix of reads and writes: each kind's
 * latency distribution on old, weighted by that kind's share of new's calls
 * (a kind old took none of is left out and the others weigh more).
 */
function baselineOf(
  old: { reads: Merged; writes: Merged },
  neu: { reads: Merged; writes: Merged },
): NonNullable<MigrationFacts['capacity']>['baseline'] {
  const total = neu.reads.calls + neu.writes.calls;
  if (total === 0) return undefined;
  const kinds = [
    { old: old.reads, weight: neu.reads.calls / total },
    { old: old.writes, weight: neu.writes.calls / total },
  ].filter((k) => k.old.calls > 0 && k.weight > 0);
  if (kinds.length === 0) return undefined;
  const counts = new Float64Array(BUCKETS);
  for (const k of kinds)
    for (let b = 0; b < BUCKETS; b++)
      counts[b] = (counts[b] as number) + (k.weight * (k.old.counts[b] as number)) / k.old.calls;
  return { p99Ms: quantileMs(counts, 0.99), writeShare: neu.writes.calls / total };
}

/**
 * The fleet's calls on each store in phase version `version`: the live
 * instances' figures for that version, summed, their histograms merged
 * exactly (every instance buckets on the same scale) and each p99 read from
 * the merge; and old's p99 at new's mix of reads and writes, which new's is
 * held to. `undefined` when no live instance reports figures at all (none is
 * live, or all run a midair that does not report them).
 */
export function fleetCapacity(fleet: readonly InstanceInfo[], version: number): MigrationFacts['capacity'] {
  const reports = fleet.flatMap((i) => (i.storeCalls ? [i.storeCalls] : []));
  if (reports.length === 0) return undefined;
  const current = reports.filter((r) => r.phaseVersion === version);
  const merged = (s: Side): { reads: Merged; writes: Merged; all: Merged } => ({
    reads: merge(current.map((r) => r[s].reads)),
    writes: merge(current.map((r) => r[s].writes)),
    all: merge(current.flatMap((r) => [r[s].reads, r[s].writes])),
  });
  const old = merged('old');
  const neu = merged('new');
  const side = (m: { reads: Merged; writes: Merged; all: Merged }): SideFigures => ({
    ...figuresOf(m.all),
    reads: figuresOf(m.reads),
    writes: figuresOf(m.writes),
  });
  const baseline = baselineOf(old, neu);
  return { old: side(old), new: side(neu), ...(baseline ? { baseline } : {}) };
}
