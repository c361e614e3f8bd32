import { CHECKPOINTS, DEFAULT_RUN_NAMES, saveCheckpoint, type BackfillProgressRecord } from '../control/checkpoints.js';
import type { ControlStore } from '../control/control-store.js';
import type { BackfillOptions, BackfillProgress, BackfillResult } from './backfill-options.js';

/** How often a running copy's progress is saved at most. */
const EVERY_MS = 1000;

/**
 * Keeps a run's copy progress in the control store, where a process that does
 * not run it (a dashboard, a metrics scrape) reads it: the latest report is
 * saved at most once a second, one save at a time, and once more when the run
 * ends. A run that never reported (refused, completed before) saves nothing.
 * A save that fails is dropped: the figures are for display, and a control
 * store that fails fails the run's own checkpoint next.
 */
export class ProgressRecord {
  #latest: BackfillProgress | undefined;
  #saving: Promise<void> | undefined;
  #savedAt = -Infinity;

  constructor(
    readonly control: ControlStore,
    readonly migration: string,
    readonly run: string,
    readonly phaseVersion: number,
    readonly now: () => number = () => Date.now(),
  ) {}

  /** The run reported progress: saved now if no save ran within the last second (and none runs). */
  note(progress: BackfillProgress): void {
    this.#latest = progress;
    if (this.#saving === undefined && this.now() - this.#savedAt >= EVERY_MS) this.#saving = this.#save(true);
  }

  /** The run ended with `status`: its last progress saved as ended (after a save in flight, if any). */
  async end(status: BackfillResult['status']): Promise<void> {
    await this.#saving;
    if (this.#latest !== undefined) await this.#save(false, status);
  }

  async #save(active: boolean, status?: string): Promise<void> {
    const p = this.#latest;
    if (!p) return;
    this.#savedAt = this.now();
    const record: BackfillProgressRecord = {
      rowsDone: p.rowsDone,
      total: p.total,
      rowsPerSecond: active ? p.rowsPerSecond : 0,
      ...(active && p.etaMs !== undefined ? { etaMs: p.etaMs } : {}),
      active,
      ...(status === undefined ? {} : { status }),
      at: new Date().toISOString(),
      phaseVersion: this.phaseVersion,
    };
    try {
      await saveCheckpoint(this.control, this.migration, CHECKPOINTS.backfillProgress(this.run), record);
    } catch {
      // Display figures only (see above).
    } finally {
      if (active) this.#saving = undefined;
    }
  }
}

/**
 * Runs a backfill or sweep with its progress kept in the control store
 * ({@link ProgressRecord}); the caller's own `onProgress` still hears every report.
 */
export async function withProgressRecord<E>(
  run: { readonly control: ControlStore; readonly migration: string; readonly phaseVersion: number },
  options: BackfillOptions<E>,
  backfill: (options: BackfillOptions<E>) => Promise<BackfillResult>,
): Promise<BackfillResult> {
  const name = options.name ?? DEFAULT_RUN_NAMES[options.missingOnly ? 'sweep' : 'backfill'];
  const record = new ProgressRecord(run.control, run.migration, name, run.phaseVersion);
  const result = await backfill({
    ...options,
    onProgress: (progress) => {
      record.note(progress);
      options.onProgress?.(progress);
    },
  });
  await record.end(result.status);
  return result;
}
