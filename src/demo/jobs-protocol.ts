// The messages between the demo and its job thread (jobs-worker.ts): plain data, copied across threads.
import type { BackfillResult } from '../backfill/backfill-options.js';
import type { VerifyReport } from '../verify/verify-options.js';

/** The jobs the demo runs beside the serving instances. */
export type JobRequest =
  | { readonly id: number; readonly job: 'backfill' }
  | { readonly id: number; readonly job: 'verify' }
  | { readonly id: number; readonly job: 'sweep' }
  | { readonly id: number; readonly job: 'drain' }
  | { readonly id: number; readonly job: 'close' };

export type JobReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'progress'; readonly id: number; readonly rowsDone: number; readonly rowsPerSecond: number }
  | { readonly kind: 'done'; readonly id: number; readonly result: BackfillResult | VerifyReport | number | null }
  | { readonly kind: 'failed'; readonly id: number; readonly code: string; readonly message: string };

/** What the job thread is started with. */
export interface JobWorkerData {
  /** The folder with the demo's three SQLite files. */
  readonly dir: string;
}

/**
 * The share of the time the job thread may be busy (its event-loop
 * utilisation): on a machine whose cores are all taken, the jobs never take
 * the serving thread's share of a CPU.
 */
export const JOB_SHARE = 0.25;

/**
 * Each backfill or sweep chunk holds new's write lock while it writes, and a
 * serving instance that writes meanwhile waits for it: small, fixed-size
 * chunks keep each wait short.
 */
export const COPY_PACE = { chunkSize: 50, targetChunkMs: 0 } as const;

/** Verification only reads, but hashes on a CPU the serving thread shares: small segments, one short burst each. */
export const VERIFY_PACE = { segmentRows: 1000, targetSegmentMs: 0, recheckDelayMs: 100 } as const;
