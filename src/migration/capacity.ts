import type { InstanceInfo, SideCalls, StoreCallFigures } from '../control/fleet.js';
import { BUCKETS, bucketOf, mergeBuckets, quantileMs, sparse } from '../core/latency-buckets.js';
import type { Side } from '../core/phases.js';
import type { StoreCall } from './events.js';
import type { MigrationFacts, SideFigures } from './gates.js';

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

/** One store's calls in the version being counted. */
class SideCount {
  calls = 0;
  errors = 0;
  readonly counts = new Float64Array(BUCKETS);

  clear(): void {
    this.calls = 0;
    this.errors = 0;
    this.counts.fill(0);
  }

  figures(): SideCalls {
    return { calls: this.calls, errors: this.errors, buckets: sparse(this.counts) };
  }
}

/**
 * What an instance accumulates for the capacity gate: per store, the calls
 * it made for the application (the repository's `store-call` events: reads,
 * writes, second writes, shadow reads), how many failed for the store's own
 * reasons ({@link STORE_ERROR_CODES}), and a histogram of their latencies —
 * since it began serving the newest phase version it saw a call under. A
 * call under a newer version starts the counts afresh; one still finishing
 * under an older version is left out. Each call's time is its own: what it
 * spent in a call on the other store inside it (`nestedMs`) is that call's.
 * O(1) per call, with no allocation; a few KB of memory.
 *
 * @example
 * ```ts
 * const figures = new CapacityRecorder();
 * migration.on('store-call', (c) => figures.record(c));
 * figures.report(7) // { phaseVersion: 7, old: { calls, errors, buckets }, new: … }
 * ```
 */
export class CapacityRecorder {
  #version = 0;
  readonly #old = new SideCount();
  readonly #new = new SideCount();

  record(call: StoreCall): void {
    if (call.phaseVersion < this.#version) return;
    if (call.phaseVersion > this.#version) this.#start(call.phaseVersion);
    const side = call.side === 'old' ? this.#old : this.#new;
    side.calls++;
    if (call.error !== undefined && STORE_ERROR_CODES.has(call.error)) side.errors++;
    const b = bucketOf(call.ms - (call.nestedMs ?? 0));
    side.counts[b] = (side.counts[b] as number) + 1;
  }

  /** The figures for phase version `version` (the one the instance serves): empty when no call was made under it yet. */
  report(version: number): StoreCallFigures {
    if (version > this.#version) this.#start(version);
    return { phaseVersion: this.#version, old: this.#old.figures(), new: this.#new.figures() };
  }

  #start(version: number): void {
    this.#version = version;
    this.#old.clear();
    this.#new.clear();
  }
}

/**
 * The fleet's calls on each store in phase version `version`: the live
 * instances' figures for that version, summed, their histograms merged
 * exactly (every instance buckets on the same scale) and the p99 read from
 * the merge. `undefined` when no live instance reports figures at all (none
 * is live, or all run a midair that does not report them).
 */
export function fleetCapacity(fleet: readonly InstanceInfo[], version: number): MigrationFacts['capacity'] {
  const reports = fleet.flatMap((i) => (i.storeCalls ? [i.storeCalls] : []));
  if (reports.length === 0) return undefined;
  const current = reports.filter((r) => r.phaseVersion === version);
  const side = (s: Side): SideFigures => {
    const parts = current.map((r) => r[s]);
    return {
      calls: parts.reduce((n, p) => n + p.calls, 0),
      errors: parts.reduce((n, p) => n + p.errors, 0),
      p99Ms: quantileMs(mergeBuckets(parts.map((p) => p.buckets)), 0.99),
    };
  };
  return { old: side('old'), new: side('new') };
}
