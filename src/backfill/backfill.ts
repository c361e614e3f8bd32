import type { ControlStore } from '../control/control-store.js';
import { errorSummary } from '../errors.js';
import { keyId, parseKeyId, type Key } from '../keys.js';
import type { Store } from '../store.js';
import type { BackfillOptions, BackfillResult } from './backfill-options.js';
import { copyNext, pruneChunk } from './chunks.js';
import { copyInRanges } from './parallel.js';
import { firstKeys, readControl, sleep, waitForPace } from './steps.js';
import { Throttle } from './throttle.js';

export { backfillControlName } from './backfill-options.js';
export type { BackfillControl, BackfillOptions, BackfillProgress, BackfillResult } from './backfill-options.js';
export { retryDeadLetters } from './dead-letters.js';

/**
 * Where a run stands: the copy pass walks old's keys; the prune pass then
 * walks new's keys and deletes those old no longer has (rows new got from a
 * neighbour still one phase behind, or from before a rollback).
 */
interface Checkpoint {
  readonly pass?: 'copy' | 'prune';
  readonly after?: string;
  readonly complete: boolean;
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
  const name = options.name ?? (options.missingOnly ? 'sweep' : 'backfill');
  const counts = { chunks: 0, rowsRead: 0, inserted: 0, updated: 0, deleted: 0, skippedExisting: 0, skippedTombstoned: 0, deadLetters: 0 };
  const finish = (status: BackfillResult['status'], resumedAfter: string | undefined, error?: unknown): BackfillResult => ({
    status,
    ...counts,
    durationMs: Date.now() - started,
    ...(resumedAfter === undefined ? {} : { resumedAfter }),
    ...(error === undefined
      ? {}
      : { error: errorSummary(error) }),
  });
  let resumedAfter: string | undefined;
  try {
    if (options.restart && (options.workers ?? 1) > 1) await control.dropRanges(migration, name);
    const saved = options.restart ? undefined : await control.loadCheckpoint(migration, name);
    const checkpoint: Checkpoint = saved ? (JSON.parse(saved) as Checkpoint) : { complete: false };
    if (checkpoint.complete) return finish('complete', undefined);
    resumedAfter = checkpoint.after;
    const total = await source.count({ signal: options.signal });
    const throttle = new Throttle(options);
    const sync = (options.mode ?? 'sync') === 'sync' && !options.missingOnly;
    const passes: ('copy' | 'prune')[] = options.missingOnly ? ['copy'] : ['copy', 'prune'];
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
      await control.saveCheckpoint(migration, name, JSON.stringify({ pass: 'prune', complete: passes.length === 1 } satisfies Checkpoint));
      skip = 1;
    }
    for (const pass of passes.slice(skip)) {
      let after = checkpoint.pass === pass && checkpoint.after !== undefined ? (parseKeyId(checkpoint.after) as K) : undefined;
      for (;;) {
        if (options.signal?.aborted) return finish('aborted', resumedAfter);
        const settings = await readControl(control, migration, name);
        if (settings.maxRowsPerSecond !== undefined) throttle.maxRowsPerSecond = settings.maxRowsPerSecond;
        if (settings.paused) {
          await sleep(200, options.signal);
          continue;
        }
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
            await pruneChunk(keys, source, target, options, counts);
          }
          after = keys.at(-1) ?? after;
        }
        if (read === 0) break;
        await control.saveCheckpoint(migration, name, JSON.stringify({ pass, after: after === undefined ? undefined : keyId(after), complete: false } satisfies Checkpoint));
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
      await control.saveCheckpoint(migration, name, JSON.stringify({ pass: 'prune', complete: pass === 'prune' || passes.length === 1 } satisfies Checkpoint));
    }
    return finish('complete', resumedAfter);
  } catch (error) {
    return finish(options.signal?.aborted ? 'aborted' : 'failed', resumedAfter, error);
  }
}
