import type { BackfillResult } from '../../backfill/backfill-options.js';
import { refusedResult } from '../../backfill/backfill.js';
import { refusalInPhase } from '../../backfill/guards.js';
import type { BackfillControl } from '../../control/checkpoints.js';
import { MidairError } from '../../core/errors.js';
import { readControl } from '../../jobs/steps.js';
import type { VerifyMode, VerifyReport } from '../../verify/verify-options.js';
import type { CliContext } from '../context.js';
import type { RunReport } from '../run-report.js';
import type { RangeQueue } from '../../jobs/range-queue.js';

export interface WorkOptions {
  readonly workers?: number;
  readonly maxRowsPerSecond?: number;
  readonly restart?: boolean;
  /** Let the prune delete more than `maxDeleteShare` of new. */
  readonly allowDeletes?: boolean;
  readonly maxDeleteShare?: number;
  /** Where progress and waits go (a bar, lines, JSON lines); none by default. */
  readonly report?: RunReport;
  /** Hand the copy to `midair worker` processes through the BullMQ queue at this URL (redis:// or postgres://). */
  readonly queue?: string;
  /** The queue is `<queuePrefix>-<migration>` (default `midair`). */
  readonly queuePrefix?: string;
  /** Ranges to split the key space into (a queued or parallel run). */
  readonly ranges?: number;
}

/** Reports nothing (a library caller, a test). */
const SILENT: RunReport = { progress: () => undefined, notice: () => undefined, stop: () => undefined };

/** Runs `job` with its waits heard from the migration too, and the report stopped at the end. */
async function reported<T>(ctx: CliContext, report: RunReport, job: () => Promise<T>): Promise<T> {
  const off = ctx.onWaiting((n) => report.notice(n));
  try {
    return await job();
  } finally {
    off();
    report.stop();
  }
}

/** A key-codec mismatch as the CLI refuses it: a configuration to fix (exit 2), nothing written. */
export async function checkKeys(ctx: CliContext): Promise<void> {
  try {
    await ctx.migration.checkKeys(ctx.keyMappings);
  } catch (err) {
    if (err instanceof MidairError && err.code === 'SCHEMA_MISMATCH')
      throw new MidairError('CONFIG', err.message, { cause: err, details: err.details });
    throw err;
  }
}

/**
 * `midair backfill` (or `sweep`, which copies only what new lacks). Refused
 * (status `refused`, nothing written) where the phase does not allow it or
 * the two mappings spell keys differently.
 */
export async function backfill(ctx: CliContext, o: WorkOptions, sweep = false): Promise<BackfillResult> {
  const state = await ctx.state();
  const why = refusalInPhase(ctx.spec.name, state?.phase ?? 'old-only', sweep ? 'sweep' : 'backfill');
  if (why) return refusedResult(new MidairError('INVALID_ARGUMENT', why));
  try {
    await ctx.migration.checkKeys(ctx.keyMappings);
  } catch (err) {
    if (err instanceof MidairError && err.code === 'SCHEMA_MISMATCH') return refusedResult(err);
    throw err;
  }
  // The queue is opened (its URL checked, its server reached) before the first write: else the run is refused, nothing written.
  const queue =
    o.queue === undefined
      ? undefined
      : await (
          await import('../../queue/index.js')
        ).bullmqQueue(o.queue, o.queuePrefix === undefined ? {} : { prefix: o.queuePrefix });
  try {
    await queue?.reachable(ctx.spec.name);
  } catch (error) {
    await queue?.close();
    return refusedResult(error);
  }
  try {
    await ctx.prepareWrites();
    return await runWork(ctx, o, sweep, queue);
  } finally {
    await queue?.close();
  }
}

async function runWork(
  ctx: CliContext,
  o: WorkOptions,
  sweep: boolean,
  queue: RangeQueue | undefined,
): Promise<BackfillResult> {
  const cfg = ctx.spec.backfill ?? {};
  const report = o.report ?? SILENT;
  const run = sweep ? ctx.migration.sweep.bind(ctx.migration) : ctx.migration.backfill.bind(ctx.migration);
  const ranges = o.ranges ?? cfg.ranges;
  return reported(ctx, report, async () =>
    run({
      ...(queue ? { queue } : {}),
      ...(ranges === undefined ? {} : { ranges }),
      ...(cfg.leaseMs === undefined ? {} : { leaseMs: cfg.leaseMs }),
      ...(cfg.chunkSize === undefined ? {} : { chunkSize: cfg.chunkSize }),
      ...((o.workers ?? cfg.workers) === undefined ? {} : { workers: o.workers ?? cfg.workers }),
      ...((o.maxRowsPerSecond ?? cfg.maxRowsPerSecond) === undefined
        ? {}
        : { maxRowsPerSecond: o.maxRowsPerSecond ?? cfg.maxRowsPerSecond }),
      ...(o.restart ? { restart: true } : {}),
      ...(o.allowDeletes ? { allowDeletes: true } : {}),
      ...(o.maxDeleteShare === undefined ? {} : { maxDeleteShare: o.maxDeleteShare }),
      keyMappings: ctx.keyMappings,
      onProgress: (p) => report.progress(p),
      onRangeWait: (n) => report.notice(n),
    }),
  );
}

export function formatBackfill(r: BackfillResult, label = 'backfill'): string {
  const status =
    r.status === 'complete-with-dead-letters'
      ? `complete with ${r.deadLettersPending ?? r.deadLetters} dead letters (\`midair dead-letters list\`)`
      : r.status;
  const head = `${label}: ${status} in ${r.durationMs} ms — ${r.rowsRead} rows read in ${r.chunks} chunks, ${r.inserted} inserted, ${r.updated} updated, ${r.deleted} deleted, ${r.deadLetters} dead letters`;
  const waited = Object.entries(r.waitedMs)
    .filter(([, ms]) => ms > 0)
    .map(([reason, ms]) => `${reason} ${ms} ms`);
  const pace =
    r.rowsRead > 0
      ? `\n  ${r.rowsPerSecond} rows/s; waited ${waited.length > 0 ? waited.join(', ') : 'for nothing'}`
      : '';
  return r.error ? `${head}${pace}\n  error ${r.error.code}: ${r.error.message}` : `${head}${pace}`;
}

export interface VerifyCliOptions {
  readonly mode?: VerifyMode;
  readonly sampleSize?: number;
  readonly repair?: boolean;
  readonly workers?: number;
  readonly restart?: boolean;
  /** Hand the full pass to `midair worker` processes through the BullMQ queue at this URL, and follow it. */
  readonly queue?: string;
  readonly queuePrefix?: string;
  /** Ranges to split the key space into (a queued or parallel pass). */
  readonly ranges?: number;
  readonly maxRowsPerSecond?: number;
  /** Where progress (full mode) and waits go. */
  readonly report?: RunReport;
}

/** The queue at `url`, answering: else CONFIG (exit 2), before anything is written. */
async function openQueue(url: string, prefix: string | undefined, migration: string): Promise<RangeQueue> {
  const { bullmqQueue } = await import('../../queue/index.js');
  const queue = await bullmqQueue(url, prefix === undefined ? {} : { prefix });
  try {
    await queue.reachable(migration);
    return queue;
  } catch (error) {
    await queue.close();
    if (error instanceof MidairError && error.code === 'CONNECTION')
      throw new MidairError('CONFIG', error.message, { cause: error });
    throw error;
  }
}

/**
 * `midair verify` (with `--repair`, or as `midair repair`): refused, with
 * nothing written, where the mappings spell keys differently, or where a
 * queue is named that does not answer (or for a mode other than full).
 */
export async function verify(ctx: CliContext, o: VerifyCliOptions): Promise<VerifyReport> {
  const mode = o.mode ?? 'full';
  if (o.queue !== undefined && mode !== 'full')
    throw new MidairError(
      'INVALID_ARGUMENT',
      `--queue spreads a full pass over workers; --mode ${mode} runs in this process: drop --queue or use --mode full`,
    );
  await checkKeys(ctx);
  const queue = o.queue === undefined ? undefined : await openQueue(o.queue, o.queuePrefix, ctx.spec.name);
  try {
    await ctx.prepareWrites({ stores: o.repair ?? false });
    const cfg = ctx.spec.verify ?? {};
    const report = o.report ?? SILENT;
    return await reported(ctx, report, async () =>
      ctx.migration.verify({
        mode,
        ...(queue ? { queue } : {}),
        ...((o.ranges ?? cfg.ranges) === undefined ? {} : { ranges: o.ranges ?? cfg.ranges }),
        ...((o.maxRowsPerSecond ?? cfg.maxRowsPerSecond) === undefined
          ? {}
          : { maxRowsPerSecond: o.maxRowsPerSecond ?? cfg.maxRowsPerSecond }),
        ...(cfg.leaseMs === undefined ? {} : { leaseMs: cfg.leaseMs }),
        ...(cfg.ignoreFields ? { ignoreFields: cfg.ignoreFields } : {}),
        ...(cfg.segmentRows === undefined ? {} : { segmentRows: cfg.segmentRows }),
        ...(o.sampleSize === undefined ? {} : { sampleSize: o.sampleSize }),
        ...(o.workers === undefined ? {} : { workers: o.workers }),
        ...(o.restart ? { restart: true } : {}),
        repair: o.repair ?? false,
        onProgress: (p) => report.progress(p),
        onRangeWait: (n) => report.notice(n),
      }),
    );
  } finally {
    await queue?.close();
  }
}

/** A run's exit code: 0 complete; 1 complete with dead letters, stopped by a guard, or aborted; 2 refused (nothing written); 3 failed. */
export function backfillExitCode(r: BackfillResult): number {
  switch (r.status) {
    case 'complete':
      return 0;
    case 'refused':
      return 2;
    case 'failed':
      return 3;
    default:
      return 1;
  }
}

/** The jobs `pause|resume|rate` steer: a backfill, or a full verification. */
export type SteeredJob = 'backfill' | 'verify';

/** `midair backfill|verify pause|resume|rate N`: steers a running job through the control store, keeping the other setting. */
export async function controlBackfill(
  ctx: CliContext,
  change: BackfillControl,
  job: SteeredJob = 'backfill',
): Promise<BackfillControl> {
  if (!(await ctx.state()))
    throw new MidairError(
      'INVALID_ARGUMENT',
      `migration ${ctx.spec.name} has not started: there is no ${job === 'verify' ? 'verification' : 'backfill'} to steer (run \`midair phase advance\` first)`,
    );
  await ctx.prepareWrites({ stores: false });
  const next: BackfillControl = { ...(await readControl(ctx.control, ctx.spec.name, job)), ...change };
  await ctx.migration.controlBackfill(next, job);
  return next;
}

/** What `backfill|verify pause|resume|rate` changed (`change`, what was asked), as the command line prints it. */
export function formatSteering(
  migration: string,
  change: BackfillControl,
  now: BackfillControl,
  job: SteeredJob = 'backfill',
): string {
  const what = job === 'verify' ? 'verification' : 'backfill';
  return change.maxRowsPerSecond === undefined
    ? `${migration}: ${what} ${now.paused ? 'paused' : 'resumed'}`
    : `${migration}: ${what} ceiling ${now.maxRowsPerSecond ?? change.maxRowsPerSecond} rows/s`;
}
