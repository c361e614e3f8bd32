import { errorSummary } from '../core/errors.js';
import type { BackfillResult } from './backfill-options.js';
import type { Counts } from './chunks.js';

/** The result of a run that ended before its first chunk: refused, or failed (or aborted) while it prepared. */
export function unstartedResult(status: 'refused' | 'failed' | 'aborted', error: unknown): BackfillResult {
  return { status, ...zeroCounts(), durationMs: 0, rowsPerSecond: 0, waitedMs: {}, error: errorSummary(error) };
}

/** A run's counts before its first chunk. */
export function zeroCounts(): Counts & { chunks: number; rowsRead: number } {
  return {
    chunks: 0,
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    skippedExisting: 0,
    skippedTombstoned: 0,
    deadLetters: 0,
  };
}

export function refusedResult(error: unknown): BackfillResult {
  return unstartedResult('refused', error);
}
