import type { ControlStore, RangeLease } from '../control/control-store.js';
import { keyId, parseKeyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { sleep } from '../core/sleep.js';
import { processInstanceId } from '../core/instance-id.js';

/** What one step over a leased range did: moved on to `after`, finished the range, or stops the whole run. */
export type RangeStep<K> = { readonly after: K | undefined; readonly done: boolean } | { readonly stop: unknown };

export interface LeasedRangesOptions<K extends Key> {
  readonly migration: string;
  /** The run's name: its ranges live under it in the control store. */
  readonly name: string;
  readonly control: ControlStore;
  /** Where the key space is sampled to split it (only when the ranges do not exist yet). */
  readonly keySource: Pick<Store<K, object>, 'sampleKeys'>;
  readonly workers: number;
  /** How many ranges; 1 needs no sample. */
  readonly ranges: number;
  readonly leaseMs: number;
  readonly owner?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Whether the run is paused right now (checked before every step; the lease is kept renewed). */
  readonly paused?: () => Promise<boolean>;
  /** Runs one step of a range, from `after` (exclusive) up to `through` (inclusive); it may resume a range another worker began. */
  readonly step: (
    worker: number,
    lease: RangeLease,
    after: K | undefined,
    through: K | undefined,
  ) => Promise<RangeStep<K>>;
}

/**
 * The key space split at sampled real keys into ranges `(lo, hi]`, each
 * leased through the control store to one worker at a time — shared by
 * several processes (on several machines). A worker renews its lease (and
 * records its progress) after every step; one that loses its lease — it
 * stalled past it and another took over — leaves the range to the new
 * holder, so each step must be idempotent. Used by the backfill and by
 * verification.
 */
export async function runLeasedRanges<K extends Key>(
  o: LeasedRangesOptions<K>,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown }> {
  const workers = Math.max(1, Math.floor(o.workers));
  const owner = o.owner ?? processInstanceId();
  if ((await o.control.ranges(o.migration, o.name)).length === 0) {
    const sample = o.ranges > 1 ? await o.keySource.sampleKeys(o.ranges - 1, { signal: o.signal }) : [];
    const bounds = [...new Set(sample.map((k) => keyId(k)))];
    const ranges = [...bounds.map((hi, i) => ({ lo: bounds[i - 1], hi })), { lo: bounds.at(-1) }];
    await o.control.createRanges(o.migration, o.name, ranges); // false: another process created them first
  }
  const outcome: { stopped?: unknown } = {};
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      if (o.signal?.aborted || outcome.stopped) return;
      const lease = await o.control.claimRange(o.migration, o.name, `${owner}#${w}`, o.leaseMs);
      if (!lease) {
        if ((await o.control.ranges(o.migration, o.name)).every((r) => r.complete)) return;
        await sleep(Math.min(o.leaseMs / 4, 500), o.signal); // others hold the rest; a dead one's lease runs out
        continue;
      }
      let after =
        (lease.after ?? lease.lo) === undefined ? undefined : (parseKeyId((lease.after ?? lease.lo) as string) as K);
      const through = lease.hi === undefined ? undefined : (parseKeyId(lease.hi) as K);
      // A run that stops cleanly hands its lease back at once (a dead one's runs out).
      const release = async (): Promise<void> => {
        await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, 0).catch(() => false);
      };
      for (;;) {
        if (o.signal?.aborted || outcome.stopped) return release();
        if (await o.paused?.()) {
          if (!(await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, o.leaseMs))) break;
          await sleep(200, o.signal);
          continue;
        }
        const result = await o.step(w, lease, after, through);
        if ('stop' in result) {
          outcome.stopped = result.stop;
          return release();
        }
        if (o.signal?.aborted) return release();
        after = result.after;
        if (result.done) {
          await o.control.completeRange(o.migration, o.name, lease.rangeId, lease.token);
          break;
        }
        const progress = after === undefined ? undefined : keyId(after);
        if (!(await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, o.leaseMs, progress))) break; // taken over
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  if (outcome.stopped) return { status: 'stopped', error: outcome.stopped };
  if (o.signal?.aborted) return { status: 'aborted' };
  return { status: 'complete' };
}
