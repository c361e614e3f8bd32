import type { ControlStore, RangeLease } from '../control/control-store.js';
import { keyId, parseKeyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { sleep } from '../core/sleep.js';
import { processInstanceId } from '../core/instance-id.js';
import { secondsUntil, type WaitNotice } from '../core/waits.js';
import { leaseProcess } from './steps.js';

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
  /**
   * Called once for each range held by a worker not of this run (another
   * process, or one that died) while this run has nothing left to claim: its
   * lease must run out first. Says who holds it, and until when.
   */
  readonly onRangeWait?: ((notice: WaitNotice) => void) | undefined;
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
  /** The ranges this run's workers hold right now (any other lease is waited for, and said). */
  const holding = new Set<number>();
  const announce = rangeWaits(o, holding);
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      if (o.signal?.aborted || outcome.stopped) return;
      const lease = await o.control.claimRange(o.migration, o.name, `${owner}#${w}`, o.leaseMs);
      if (!lease) {
        const ranges = await o.control.ranges(o.migration, o.name);
        if (ranges.every((r) => r.complete)) return;
        announce(ranges);
        await sleep(Math.min(o.leaseMs / 4, 500), o.signal); // others hold the rest; a dead one's lease runs out
        continue;
      }
      const after =
        (lease.after ?? lease.lo) === undefined ? undefined : (parseKeyId((lease.after ?? lease.lo) as string) as K);
      const through = lease.hi === undefined ? undefined : (parseKeyId(lease.hi) as K);
      // A run that stops cleanly hands its lease back at once (a dead one's runs out), with the progress of its last step.
      const release = async (progress?: K): Promise<void> => {
        holding.delete(lease.rangeId);
        const at = progress === undefined ? undefined : keyId(progress);
        await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, 0, at).catch(() => false);
      };
      holding.add(lease.rangeId);
      try {
        if (await holdRange(o, w, lease, { after, through }, outcome, release)) return;
      } catch (error) {
        // A step that failed (or was cut short by the signal) leaves its range to the next claim at once.
        await release();
        if (o.signal?.aborted) return;
        throw error;
      }
      holding.delete(lease.rangeId);
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  if (outcome.stopped) return { status: 'stopped', error: outcome.stopped };
  if (o.signal?.aborted) return { status: 'aborted' };
  return { status: 'complete' };
}

/**
 * Steps through one leased range until it is done, lost (taken over) or the
 * run stops. Resolves true when the worker is to end (the run stopped or was
 * aborted; the lease was handed back), false to claim another range.
 */
async function holdRange<K extends Key>(
  o: LeasedRangesOptions<K>,
  w: number,
  lease: RangeLease,
  at: { after: K | undefined; through: K | undefined },
  outcome: { stopped?: unknown },
  release: (progress?: K) => Promise<void>,
): Promise<boolean> {
  let after = at.after;
  const through = at.through;
  for (;;) {
    if (o.signal?.aborted || outcome.stopped) return release().then(() => true);
    if (await o.paused?.()) {
      if (!(await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, o.leaseMs))) return false;
      await sleep(200, o.signal);
      continue;
    }
    const result = await o.step(w, lease, after, through);
    if ('stop' in result) {
      outcome.stopped = result.stop;
      return release().then(() => true);
    }
    after = result.after;
    if (o.signal?.aborted) return release(after).then(() => true);
    if (result.done) {
      await o.control.completeRange(o.migration, o.name, lease.rangeId, lease.token);
      return false;
    }
    const progress = after === undefined ? undefined : keyId(after);
    if (!(await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, o.leaseMs, progress)))
      return false; // taken over
  }
}

/** A range as a person reads it: `(lo, hi]` in key ids, an open end as `…`. */
function rangeText(r: RangeLease): string {
  return `(${r.lo ?? '…'}, ${r.hi ?? '…'}]`;
}

/**
 * Says once per range and holder that the run waits for a range none of its
 * workers holds: another process's, or one an earlier run left leased (its
 * own workers' ranges are not waited for: they finish them).
 */
function rangeWaits<K extends Key>(
  o: LeasedRangesOptions<K>,
  holding: ReadonlySet<number>,
): (ranges: readonly RangeLease[]) => void {
  const said = new Set<string>();
  return (ranges) => {
    if (!o.onRangeWait) return;
    const now = Date.now();
    for (const r of ranges) {
      if (r.complete || r.owner === undefined || holding.has(r.rangeId)) continue;
      if (r.leasedUntil.getTime() <= now) continue; // free to claim on the next try
      const id = `${r.rangeId}|${r.owner}`;
      if (said.has(id)) continue;
      said.add(id);
      const holder = leaseProcess(r.owner);
      o.onRangeWait({
        on: 'range',
        holder,
        until: r.leasedUntil,
        message: `waiting for range ${r.rangeId} ${rangeText(r)} held by instance ${holder} until ${r.leasedUntil.toISOString()} (lease expires in ${secondsUntil(r.leasedUntil, now)} s; a worker that died holding it is taken over then)`,
      });
    }
  };
}
