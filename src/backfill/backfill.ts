import {
  CHECKPOINTS,
  DEFAULT_RUN_NAMES,
  loadCheckpoint,
  saveCheckpoint,
  type BackfillRunState,
} from '../control/checkpoints.js';
import type { ControlStore } from '../control/control-store.js';
import { errorSummary, MidairError } from '../core/errors.js';
import { keyId, parseKeyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { lastEntryIntoOldOnly, recordBackfillRun } from '../control/backfill-runs.js';
import type { BackfillOptions, BackfillResult } from './backfill-options.js';
import { copyNext, pruneChunk } from './chunks.js';
import { deleteShareRefusal, phaseRefusal } from './guards.js';
import { checkKeyMappings } from './key-check.js';
import { copyInRanges } from './parallel.js';
import { firstKeys, readControl, waitForPace } from '../jobs/steps.js';
import { sleep } from '../core/sleep.js';
import { Throttle } from '../jobs/throttle.js';

export type {
  BackfillControl,
  BackfillOptions,
  BackfillProgress,
  BackfillResult,
  BackfillStatus,
} from './backfill-options.js';
export { acceptDeadLetters, retryDeadLetters } from './dead-letters.js';
export { checkKeyMappings, type KeyMappings } from './key-check.js';
export { DEFAULT_MAX_DELETE_SHARE, refusalInPhase } from './guards.js';

/** The result of a run that did not start: nothing was written. */
/** The result of a run that ended before its first chunk: refused, or failed (or aborted) while it prepared. */
export function unstartedResult(status: 'refused' | 'failed' | 'aborted', error: unknown): BackfillResult {
  return {
    status,
    chunks: 0,
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    skippedExisting: 0,
    skippedTombstoned: 0,
    deadLetters: 0,
    durationMs: 0,
    error: errorSummary(error),
  };
}

export function refusedResult(error: unknown): BackfillResult {
  return unstartedResult('refused', error);
}

/**
 * Copies every entity of `source` into `target` with the conditional bulk
 * write, chunk by chunk in key order, saving a checkpoint after each
 * committed chunk. A run killed at any point and started again resumes after
 * the last checkpoint: chunks written twice are skipped by the conditional
 * write, so there is no duplicate and no gap.
 */
export async function runBackfill<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: BackfillOptions<E> = {},
): Promise<BackfillResult> {
  const started = Date.now();
  const sweep = options.missingOnly === true;
  const kind = sweep ? 'sweep' : 'backfill';
  const name = options.name ?? DEFAULT_RUN_NAMES[kind];
  // The run's checkpoint, saved after every chunk: a killed run resumes after it.
  const state = CHECKPOINTS.backfillRun(name);
  const save = async (value: BackfillRunState): Promise<void> => saveCheckpoint(control, migration, state, value);
  const counts = {
    chunks: 0,
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    deleted: 0,
    skippedExisting: 0,
    skippedTombstoned: 0,
    deadLetters: 0,
  };
  let pending: number | undefined;
  const finish = (
    status: BackfillResult['status'],
    resumedAfter: string | undefined,
    error?: unknown,
  ): BackfillResult => ({
    status: status === 'complete' && (pending ?? 0) > 0 ? 'complete-with-dead-letters' : status,
    ...counts,
    ...(pending === undefined ? {} : { deadLettersPending: pending }),
    durationMs: Date.now() - started,
    ...(resumedAfter === undefined ? {} : { resumedAfter }),
    ...(error === undefined ? {} : { error: errorSummary(error) }),
  });
  /** The run ends: its checkpoint (and, for a backfill, its fact for the gates) records the phase version it ended under. */
  const complete = async (): Promise<BackfillResult> => {
    const phaseVersion = (await control.getState(migration))?.version ?? 0;
    await save({ pass: 'prune', complete: true, phaseVersion });
    if (!sweep)
      await recordBackfillRun(control, migration, name, { complete: true, at: new Date().toISOString(), phaseVersion });
    pending = await control.deadLetterCount(migration);
    return finish('complete', resumedAfter);
  };
  let resumedAfter: string | undefined;
  try {
    // Refused means nothing written: every check before the first write.
    const refusal = await phaseRefusal(control, migration, kind);
    if (refusal) return refusedResult(refusal);
    if (options.keyMappings) {
      try {
        await checkKeyMappings(options.keyMappings, source, { signal: options.signal });
      } catch (error) {
        return refusedResult(error);
      }
    }
    const lastReset = lastEntryIntoOldOnly(await control.auditLog(migration, { limit: 500 }));
    const saved = options.restart ? undefined : await loadCheckpoint(control, migration, state);
    let checkpoint: BackfillRunState = saved ?? { complete: false };
    // Progress from before the last rollback to old-only describes a new that has since missed writes: start over.
    const staleProgress =
      lastReset !== undefined &&
      saved !== undefined &&
      (checkpoint.phaseVersion ?? 0) < lastReset.version &&
      (checkpoint.complete || checkpoint.pass !== undefined || checkpoint.after !== undefined);
    if (staleProgress) checkpoint = { complete: false };
    if ((options.restart || staleProgress) && (options.workers ?? 1) > 1) await control.dropRanges(migration, name);
    if (checkpoint.complete) {
      // Recorded again: the gates see a run by its fact, which a run stopped right after its checkpoint never wrote.
      const phaseVersion = checkpoint.phaseVersion ?? (await control.getState(migration))?.version ?? 0;
      if (!sweep)
        await recordBackfillRun(control, migration, name, {
          complete: true,
          at: new Date().toISOString(),
          phaseVersion,
        });
      pending = await control.deadLetterCount(migration);
      return finish('complete', undefined);
    }
    // Progress carries the version it began under, so a later rollback to old-only voids it.
    const since = checkpoint.phaseVersion ?? (await control.getState(migration))?.version ?? 0;
    if (!sweep)
      await recordBackfillRun(control, migration, name, {
        complete: false,
        at: new Date().toISOString(),
        phaseVersion: since,
      });
    resumedAfter = checkpoint.after;
    const total = await source.count({ signal: options.signal });
    const throttle = new Throttle(options);
    const sync = (options.mode ?? 'sync') === 'sync' && !sweep;
    const passes: ('copy' | 'prune')[] = sweep ? ['copy'] : ['copy', 'prune'];
    let skip = checkpoint.pass === 'prune' ? 1 : 0;
    if ((options.workers ?? 1) > 1 && skip === 0) {
      const progress = (rate: number, chunkSize: number): void =>
        options.onProgress?.({
          rowsDone: counts.rowsRead,
          total,
          rowsPerSecond: Math.round(rate),
          etaMs: rate > 0 ? Math.max(0, ((total - counts.rowsRead) / rate) * 1000) : undefined,
          chunkSize,
        });
      const outcome = await copyInRanges(migration, name, source, target, control, options, counts, sync, progress);
      if (outcome.status !== 'complete') return finish(outcome.status, resumedAfter, outcome.error);
      if (passes.length === 1) return await complete();
      await save({ pass: 'prune', complete: false, phaseVersion: since });
      skip = 1;
    }
    for (const pass of passes.slice(skip)) {
      let after =
        checkpoint.pass === pass && checkpoint.after !== undefined ? (parseKeyId(checkpoint.after) as K) : undefined;
      if (pass === 'prune' && !options.allowDeletes) {
        const tooMany = await deleteShareRefusal({
          migration,
          source,
          target,
          control,
          after,
          maxDeleteShare: options.maxDeleteShare,
          chunkSize: throttle.chunkSize,
          signal: options.signal,
        });
        if (tooMany) return finish('stopped', resumedAfter, tooMany);
      }
      for (;;) {
        if (options.signal?.aborted) return finish('aborted', resumedAfter);
        const settings = await readControl(control, migration, name);
        if (settings.maxRowsPerSecond !== undefined) throttle.maxRowsPerSecond = settings.maxRowsPerSecond;
        if (settings.paused) {
          await sleep(200, options.signal);
          continue;
        }
        // The phase may have moved on while the run went: a chunk never runs where the run could not start.
        const moved = await phaseRefusal(control, migration, kind);
        if (moved)
          return finish(
            'stopped',
            resumedAfter,
            new MidairError('BLOCKED', `the phase changed while the ${kind} ran: ${moved.message}`),
          );
        if (!(await waitForPace(source, target, options, after, throttle))) return finish('aborted', resumedAfter);
        const t0 = Date.now();
        const size = throttle.chunkSize;
        let read: number;
        if (pass === 'copy') {
          const r = await copyNext({ migration, source, target, control, options, counts }, sync, after, size);
          read = r.read;
          if (read > 0) {
            counts.chunks++;
            counts.rowsRead += read;
          }
          if (r.stopped) return finish('stopped', resumedAfter, r.stopped);
          after = r.last;
        } else {
          const keys = await firstKeys(target, after, size, options.signal);
          read = keys.length;
          if (read > 0) {
            counts.chunks++;
            await pruneChunk(keys, { migration, source, target, control, options, counts });
          }
          after = keys.at(-1) ?? after;
        }
        if (read === 0) break;
        await save({
          pass,
          after: after === undefined ? undefined : keyId(after),
          complete: false,
          phaseVersion: since,
        });
        const wait = throttle.record(read, Date.now() - t0);
        const rate = throttle.rate ?? 0;
        if (pass === 'copy') {
          options.onProgress?.({
            rowsDone: counts.rowsRead,
            total,
            rowsPerSecond: Math.round(rate),
            etaMs: rate > 0 ? Math.max(0, ((total - counts.rowsRead) / rate) * 1000) : undefined,
            chunkSize: throttle.chunkSize,
          });
        }
        if (read < size) break;
        if (wait > 0) await sleep(wait, options.signal);
      }
      if (pass === 'copy' && passes.length > 1) await save({ pass: 'prune', complete: false, phaseVersion: since });
    }
    return await complete();
  } catch (error) {
    return finish(options.signal?.aborted ? 'aborted' : 'failed', resumedAfter, error);
  }
}
