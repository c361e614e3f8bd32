import type { PaceOptions } from '../jobs/pace.js';
import type { RangeQueue } from '../jobs/range-queue.js';
import type { RunProgress } from '../jobs/run-progress.js';
import type { WaitNotice } from '../core/waits.js';

export const VERIFY_MODES = ['count', 'sample', 'full'] as const;
/** `count`: both sides' counts. `sample`: random keys compared entity by entity. `full`: every entity, by hashes pushed into each database, then rows where they differ. */
export type VerifyMode = (typeof VERIFY_MODES)[number];

/** A full verification as it goes: old's entities covered (by earlier processes of a resumed run too), at this run's rate; 100 % at the end. */
export interface VerifyProgress extends RunProgress {
  /** Segments this run compared. */
  readonly segments: number;
  /** Segments that differed in the range last compared. */
  readonly differing: number;
}

export interface VerifyOptions<E> extends PaceOptions {
  /** Default `full`. */
  readonly mode?: VerifyMode;
  /** Keys sampled from each side in `sample` mode. Default 1000. */
  readonly sampleSize?: number;
  /** Fields left out of hashes and comparisons (e.g. a column only one side has, or `updatedAt`). */
  readonly ignoreFields?: readonly string[];
  /** What the backfill did to each entity (the same function): old's entities are compared after it. Old then hashes in JS. */
  readonly transform?: (entity: E) => E | Promise<E>;
  /** Hash inside the databases where they can. `false` hashes streamed entities in JS on both sides. Default true. */
  readonly pushdown?: boolean;
  /**
   * Where both sides are stores of one engine with the same fields, codecs
   * and column types, hash rows with that engine's cheaper pair hash (seeded
   * per run) instead of the canonical form (docs/decisions/0018). `false`
   * keeps the canonical form. Default true.
   */
  readonly pairHash?: boolean;
  /** Old's entities per top-level segment to start with; it adapts so a segment takes about `targetSegmentMs`. Default 10 000. */
  readonly segmentRows?: number;
  /** Default 500 ms; `0` keeps `segmentRows` fixed. */
  readonly targetSegmentMs?: number;
  /** A differing segment this small (on both sides) is compared row by row. Default 256. */
  readonly leafRows?: number;
  /** A larger differing segment is split into this many parts. Default 16. */
  readonly bisectionFactor?: number;
  /** A ceiling on old's entities hashed per second (the backfill's throttle). */
  readonly maxRowsPerSecond?: number;
  /**
   * Keys that differ are read again after this delay (doubling on each
   * recheck): those equal by then changed while verification ran and are
   * reported apart from real differences. Default 1000 ms.
   */
  readonly recheckDelayMs?: number;
  /** Rechecks of differing keys. Default 2; 0 reports every difference as seen. */
  readonly rechecks?: number;
  /** Skip entities whose version is a timestamp younger than this (still settling). */
  readonly minAgeMs?: number;
  /** Keys listed per kind of difference in the report (totals are exact). Default 100. */
  readonly maxKeys?: number;
  /** Keys tracked for rechecks and repair; beyond this, differences are only counted. Default 100 000. */
  readonly trackLimit?: number;
  /** Re-sync the differing keys from the authoritative store afterwards, then verify those keys again. */
  readonly repair?: boolean;
  /** Workers in this process; above 1 the key space is split into ranges leased through the control store (several processes may share a run). Default 1. */
  readonly workers?: number;
  /**
   * Hand the full pass to `midair worker` processes through this queue
   * (`bullmqQueue` from `midair/queue`) and follow it: its ranges' findings
   * are merged, rechecked and reported here. Full mode only.
   */
  readonly queue?: RangeQueue;
  /** Ranges to split the key space into. Default 4 × workers (1 with one worker); 64 with a queue. */
  readonly ranges?: number;
  /** Lease length of a range. Default 30 s. */
  readonly leaseMs?: number;
  /** This process's name on its leases. */
  readonly owner?: string;
  /** Called once for each range another process holds while this one has nothing else to compare (the holder, and when its lease runs out). */
  readonly onRangeWait?: (notice: WaitNotice) => void;
  /** Start a new run even if an unfinished one was checkpointed. */
  readonly restart?: boolean;
  /** The run's name in the control store: runs with the same name resume each other. Default `verify`. */
  readonly name?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: VerifyProgress) => void;
}

/** Keys of one kind of difference: the first `maxKeys`, and the exact total. */
export interface KeyList {
  readonly total: number;
  readonly keys: readonly string[];
}

export interface SideReport {
  readonly store: string;
  readonly count: number;
  /** Where this side's hashes were computed (full mode); `none` in count and sample modes, which hash nothing. */
  readonly hashing: 'database' | 'js' | 'none';
  /** Why this side hashed in JS (all of it, or beside the database some fields), or what it did instead of hashing. */
  readonly reason?: string;
  /**
   * Full mode: `pair` where both sides hashed with their engine's cheaper pair
   * hash (the same engine and shape on both, docs/decisions/0018),
   * `canonical` otherwise.
   */
  readonly rowHash?: 'canonical' | 'pair';
}

/** What verification found. Keys are key ids (`keyId()`); no row value ever appears. */
export interface VerifyReport {
  readonly mode: VerifyMode;
  /** `equal` only when no real difference remains; `different` otherwise (also when counts differ in `count` mode). */
  readonly status: 'equal' | 'different' | 'aborted' | 'failed';
  readonly old: SideReport;
  readonly new: SideReport;
  /** Entities found equal. */
  readonly matched: number;
  /** In old, not in new. */
  readonly missing: KeyList;
  /** In new, not in old. */
  readonly extra: KeyList;
  /** In both, with differing fields. */
  readonly different: {
    readonly total: number;
    readonly keys: readonly { readonly keyId: string; readonly fields: readonly string[] }[];
  };
  /** Seen differing, equal when read again: written while verification ran. */
  readonly changedDuringRun: KeyList;
  /** Left out because their version was younger than `minAgeMs`. */
  readonly skippedYoung: number;
  readonly segments: { readonly hashed: number; readonly differing: number; readonly rowCompared: number };
  /** Sample mode: how many keys were compared, and the share that differed with its 95 % upper bound. */
  readonly sample?: { readonly keys: number; readonly differingRate: number; readonly upper95: number };
  /** Differences beyond `trackLimit`: counted, not rechecked nor repaired. */
  readonly untracked: number;
  readonly resumed: boolean;
  readonly durationMs: number;
  readonly repair?: RepairReport;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface RepairReport {
  /** Which way keys were copied: from the store authoritative in the current phase. */
  readonly direction: 'old-to-new' | 'new-to-old';
  readonly keys: number;
  readonly repaired: number;
  /** Keys still differing after the repair and a fresh comparison. */
  readonly stillDifferent: KeyList;
  readonly durationMs: number;
}
