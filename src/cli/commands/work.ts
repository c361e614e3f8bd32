import type { BackfillResult } from '../../backfill/backfill-options.js';
import type { VerifyMode, VerifyReport } from '../../verify/verify-options.js';
import type { CliContext } from '../context.js';
import { rowsBar } from '../progress.js';

export interface WorkOptions {
  readonly workers?: number;
  readonly maxRowsPerSecond?: number;
  readonly restart?: boolean;
  /** Draw a progress bar (on a terminal, not with --json). */
  readonly bar?: boolean;
}

/** `midair backfill` (or `sweep`, which copies only what new lacks). */
export async function backfill(ctx: CliContext, o: WorkOptions, sweep = false): Promise<BackfillResult> {
  const cfg = ctx.spec.backfill ?? {};
  const bar = rowsBar(o.bar, sweep ? 'sweep' : 'backfill');
  let started = false;
  try {
    const run = sweep ? ctx.migration.sweep.bind(ctx.migration) : ctx.migration.backfill.bind(ctx.migration);
    return await run({
      ...(cfg.chunkSize === undefined ? {} : { chunkSize: cfg.chunkSize }),
      ...((o.workers ?? cfg.workers) === undefined ? {} : { workers: o.workers ?? cfg.workers }),
      ...((o.maxRowsPerSecond ?? cfg.maxRowsPerSecond) === undefined ? {} : { maxRowsPerSecond: o.maxRowsPerSecond ?? cfg.maxRowsPerSecond }),
      ...(o.restart ? { restart: true } : {}),
      onProgress: (p) => {
        if (!started) {
          bar.start(p.total);
          started = true;
        }
        bar.update(p.rowsDone, p.rowsPerSecond);
      },
    });
  } finally {
    bar.stop();
  }
}

export function formatBackfill(r: BackfillResult, label = 'backfill'): string {
  const head = `${label}: ${r.status} in ${r.durationMs} ms — ${r.rowsRead} rows read in ${r.chunks} chunks, ${r.inserted} inserted, ${r.updated} updated, ${r.deleted} deleted, ${r.deadLetters} dead letters`;
  return r.error ? `${head}\n  error ${r.error.code}: ${r.error.message}` : head;
}

export interface VerifyCliOptions {
  readonly mode?: VerifyMode;
  readonly sampleSize?: number;
  readonly repair?: boolean;
  readonly workers?: number;
  readonly restart?: boolean;
  readonly bar?: boolean;
}

/** `midair verify` (with `--repair`, or as `midair repair`). */
export async function verify(ctx: CliContext, o: VerifyCliOptions): Promise<VerifyReport> {
  const cfg = ctx.spec.verify ?? {};
  const bar = rowsBar(o.bar && (o.mode ?? 'full') === 'full', 'verify');
  let started = false;
  try {
    return await ctx.migration.verify({
      mode: o.mode ?? 'full',
      ...(cfg.ignoreFields ? { ignoreFields: cfg.ignoreFields } : {}),
      ...(cfg.segmentRows === undefined ? {} : { segmentRows: cfg.segmentRows }),
      ...(o.sampleSize === undefined ? {} : { sampleSize: o.sampleSize }),
      ...(o.workers === undefined ? {} : { workers: o.workers }),
      ...(o.restart ? { restart: true } : {}),
      repair: o.repair ?? false,
      onProgress: (p) => {
        if (!started) {
          bar.start(p.total);
          started = true;
        }
        bar.update(p.rowsDone, 0);
      },
    });
  } finally {
    bar.stop();
  }
}
