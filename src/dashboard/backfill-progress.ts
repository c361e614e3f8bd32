import { rowsInRanges } from '../jobs/range-split.js';
import { CHECKPOINTS, loadCheckpoint } from '../control/checkpoints.js';
import type { ControlStore } from '../control/control-store.js';
import { RunMeter } from '../jobs/run-progress.js';
import { readControl } from '../jobs/steps.js';
import type { BackfillView } from './api-types.js';

/** What the sampler reads for the backfill beyond what `status` says. */
export type BackfillFigures = Omit<BackfillView, 'run' | 'started' | 'complete' | 'ranges' | 'rangesComplete'>;

/**
 * A running backfill as another process sees it: the rows its checkpoints
 * say it copied (the serial run's own, or its leased ranges' counts), read
 * every sample, and the same meter the run uses for its own bar
 * (docs/decisions/0020) for the rate and the time left — old counted again
 * now and then, only while the copy moves.
 */
export class BackfillProgress {
  readonly #now: () => number;
  readonly #count: () => Promise<number>;
  #meter: RunMeter | undefined;
  #run: string | undefined;
  #lastRows: number | undefined;

  constructor(now: () => number, countOld: () => Promise<number>) {
    this.#now = now;
    this.#count = countOld;
  }

  async read(
    control: ControlStore,
    migration: string,
    b: {
      readonly run: string;
      readonly started: boolean;
      readonly complete: boolean;
      readonly ranges: number;
      /** The migration has a state: before, there may be no control tables to read (reading creates none). */
      readonly migrationStarted: boolean;
    },
  ): Promise<BackfillFigures> {
    if (b.run !== this.#run || !b.started) this.#forget(b.run);
    const settings = b.migrationStarted ? await readControl(control, migration, b.run) : {};
    const steering = { paused: settings.paused === true, maxRowsPerSecond: settings.maxRowsPerSecond ?? null };
    const none = { rowsDone: null, total: null, rowsPerSecond: null, etaMs: null, ...steering };
    if (!b.started) return none;
    const rows = (await this.#rows(control, migration, b.run, b.ranges)) ?? this.#lastRows;
    const moved = rows !== undefined && rows !== this.#lastRows;
    this.#lastRows = rows;
    if (rows === undefined) return none;
    if (b.complete) {
      this.#meter = undefined;
      return { ...none, rowsDone: rows, total: rows, etaMs: 0 };
    }
    if (!this.#meter || rows < this.#meter.rowsBefore) {
      const total = await this.#count().catch(() => rows);
      this.#meter = new RunMeter(total, rows, this.#now);
    }
    const meter = this.#meter;
    const p = meter.at(rows - meter.rowsBefore);
    // A copy that stands still (paused, or stopped for good) is not counted again: a count is a scan of old.
    if (moved) await meter.recount(this.#count);
    return {
      ...steering,
      rowsDone: p.rowsDone,
      total: p.total,
      rowsPerSecond: rows > meter.rowsBefore ? p.rowsPerSecond : null,
      etaMs: p.etaMs ?? null,
    };
  }

  #forget(run: string): void {
    this.#run = run;
    this.#meter = undefined;
    this.#lastRows = undefined;
  }

  /** The copy pass's rows: a parallel run's ranges' counts, else the serial run's checkpoint (absent in its prune pass). */
  async #rows(control: ControlStore, migration: string, run: string, ranges: number): Promise<number | undefined> {
    if (ranges > 0) return rowsInRanges(control, migration, run);
    const checkpoint = await loadCheckpoint(control, migration, CHECKPOINTS.backfillRun(run));
    return checkpoint?.pass === 'copy' || checkpoint?.complete ? checkpoint.rowsDone : undefined;
  }
}
