import type { ControlStore, RangeLease } from '../control/control-store.js';
import { keyId, parseKeyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { sleep } from '../core/sleep.js';
import { processInstanceId } from '../core/instance-id.js';
import { secondsUntil, type WaitNotice } from '../core/waits.js';
import { leaseProcess } from './steps.js';
import { splitKeySpace } from './range-split.js';
import { claimFenced, type FencedLease } from './lease-fence.js';
import type { Fencing } from '../core/store.js';
import { lostLease } from '../core/fence-rules.js';

/**
 * What one step over a leased range did: moved on to `after` (having copied
 * `rows`, counted with the renewal that holds the lease), finished the
 * range, or stops the whole run.
 */
export type RangeStep<K> =
  { readonly after: K | undefined; readonly done: boolean; readonly rows?: number } | { readonly stop: unknown };

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
  /**
   * The fences of the store the steps write: each claim raises its range's
   * fence there (lease-fence.ts), and `step` gets the fence its writes carry.
   */
  readonly fencing?: Fencing | undefined;
  /** Runs one step of a range, from `after` (exclusive) up to `through` (inclusive); it may resume a range another worker began. */
  readonly step: (
    worker: number,
    lease: FencedLease,
    after: K | undefined,
    through: K | undefined,
  ) => Promise<RangeStep<K>>;
}

/** What working a range needs of its job (splitting the key space aside). */
type RangeWork<K extends Key> = Omit<LeasedRangesOptions<K>, 'keySource' | 'ranges' | 'workers'>;

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
  await splitKeySpace(o.control, o, o.keySource, o.ranges, o.signal);
  const outcome: { stopped?: unknown } = {};
  /** The ranges this run's workers hold right now (any other lease is waited for, and said). */
  const holding = new Set<number>();
  const announce = rangeWaits(o, holding);
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      if (o.signal?.aborted || outcome.stopped) return;
      const claimed = await claimFenced(o.control, o.fencing, {
        migration: o.migration,
        name: o.name,
        owner: `${owner}#${w}`,
        leaseMs: o.leaseMs,
      });
      if (!claimed) {
        const ranges = await o.control.ranges(o.migration, o.name);
        if (ranges.every((r) => r.complete)) return;
        announce(ranges);
        await sleep(Math.min(o.leaseMs / 4, 500), o.signal); // others hold the rest; a dead one's lease runs out
        continue;
      }
      if ((await workRange(o, w, claimed, outcome, holding)) === 'ended') return;
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  if (outcome.stopped) return { status: 'stopped', error: outcome.stopped };
  if (o.signal?.aborted) return { status: 'aborted' };
  return { status: 'complete' };
}

/**
 * How a worker left a range: `ended` (the run stopped or was aborted, the
 * lease handed back with its progress), `done` (the range is complete), or
 * `lost` (taken over: another worker holds it now).
 */
type RangeExit = 'ended' | 'done' | 'lost';

/**
 * Works one claimed range until it is done, lost, or the run ends (then the
 * worker ends too; otherwise it may claim another). Throws what a step threw
 * that stops the run.
 */
async function workRange<K extends Key>(
  o: RangeWork<K>,
  w: number,
  claimed: FencedLease,
  outcome: { stopped?: unknown },
  holding: Set<number>,
): Promise<RangeExit> {
  const { lease } = claimed;
  const from = lease.after ?? lease.lo;
  const after = from === undefined ? undefined : (parseKeyId(from) as K);
  const through = lease.hi === undefined ? undefined : (parseKeyId(lease.hi) as K);
  // A run that stops cleanly hands its lease back at once (a dead one's runs out), with the progress of its last step.
  const release = async (progress?: K, rows?: number): Promise<void> => {
    holding.delete(lease.rangeId);
    const at = progress === undefined ? undefined : keyId(progress);
    await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, 0, at, rows).catch(() => false);
  };
  holding.add(lease.rangeId);
  try {
    const exit = await holdRange(o, w, claimed, { after, through }, outcome, release);
    holding.delete(lease.rangeId);
    return exit;
  } catch (error) {
    holding.delete(lease.rangeId);
    // Refused by its range's fence: the range changed hands while this worker stalled; the new holder carries on.
    if (lostLease(error, claimed.fence)) return 'lost';
    // A step that failed (or was cut short by the signal) leaves its range to the next claim at once.
    await release();
    if (o.signal?.aborted) return 'ended';
    throw error;
  }
}

/** How one range's job ended, worked alone (a queued job): {@link runOneRange}. */
export type OneRangeOutcome =
  { readonly status: 'complete' | 'aborted' | 'lost' } | { readonly status: 'stopped'; readonly error: unknown };

/**
 * Works the one range `rangeId` of a job whose ranges exist (a queued job's):
 * claims it — waiting while another worker's lease on it is live, since a
 * queue may deliver a job twice — then steps through it as
 * {@link runLeasedRanges} does. `lost`: the range changed hands while this
 * worker held it (the new holder carries on); `aborted`: the signal fired,
 * the lease handed back with its progress.
 */
export async function runOneRange<K extends Key>(o: RangeWork<K>, rangeId: number): Promise<OneRangeOutcome> {
  const owner = o.owner ?? processInstanceId();
  const announce = rangeWaits(o, new Set());
  for (;;) {
    if (o.signal?.aborted) return { status: 'aborted' };
    const job = { migration: o.migration, name: o.name, owner: `${owner}#0`, leaseMs: o.leaseMs };
    const claimed = await claimFenced(o.control, o.fencing, job, rangeId);
    if (claimed) {
      const outcome: { stopped?: unknown } = {};
      const exit = await workRange(o, 0, claimed, outcome, new Set());
      if (outcome.stopped) return { status: 'stopped', error: outcome.stopped };
      return { status: exit === 'ended' ? 'aborted' : exit === 'done' ? 'complete' : 'lost' };
    }
    const range = (await o.control.ranges(o.migration, o.name)).find((r) => r.rangeId === rangeId);
    if (!range)
      return {
        status: 'stopped',
        error: new Error(`range ${rangeId} of ${o.name} does not exist (its run was dropped)`),
      };
    if (range.complete) return { status: 'complete' };
    announce([range]);
    await sleep(Math.min(o.leaseMs / 4, 500), o.signal); // another worker holds it; a dead one's lease runs out
  }
}

/** Steps through one leased range until it is done, lost (taken over) or the run stops (the lease handed back). */
async function holdRange<K extends Key>(
  o: RangeWork<K>,
  w: number,
  claimed: FencedLease,
  at: { after: K | undefined; through: K | undefined },
  outcome: { stopped?: unknown },
  release: (progress?: K, rows?: number) => Promise<void>,
): Promise<RangeExit> {
  const { lease } = claimed;
  let after = at.after;
  const through = at.through;
  for (;;) {
    if (o.signal?.aborted || outcome.stopped) return release().then(() => 'ended');
    if (await o.paused?.()) {
      if (!(await o.control.renewRange(o.migration, o.name, lease.rangeId, lease.token, o.leaseMs))) return 'lost';
      await sleep(200, o.signal);
      continue;
    }
    const result = await o.step(w, claimed, after, through);
    if ('stop' in result) {
      outcome.stopped = result.stop;
      return release().then(() => 'ended');
    }
    after = result.after;
    const progress = after === undefined ? undefined : keyId(after);
    if (result.done) {
      const completed = await o.control.completeRange(o.migration, o.name, lease.rangeId, lease.token, result.rows);
      return completed ? 'done' : 'lost';
    }
    if (o.signal?.aborted) return release(after, result.rows).then(() => 'ended');
    const renewed = await o.control.renewRange(
      o.migration,
      o.name,
      lease.rangeId,
      lease.token,
      o.leaseMs,
      progress,
      result.rows,
    );
    if (!renewed) return 'lost'; // taken over: the new holder copies on from the progress last recorded
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
  o: RangeWork<K>,
  holding: ReadonlySet<number>,
): (ranges: readonly RangeLease[]) => void {
  const said = new Set<string>();
  const self = o.owner ?? processInstanceId();
  return (ranges) => {
    if (!o.onRangeWait) return;
    const now = Date.now();
    for (const r of ranges) {
      if (r.complete || r.owner === undefined || holding.has(r.rangeId)) continue;
      if (leaseProcess(r.owner) === self) continue; // this process's own worker, between its claim and its first step
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
