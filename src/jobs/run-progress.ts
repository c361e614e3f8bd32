/** How far a long job (a backfill's copy, a verification) has come, as its progress callbacks report it. */
export interface RunProgress {
  /** Rows done, earlier runs of the same name included (a resumed run starts from them). */
  readonly rowsDone: number;
  /** The rows to do: the source's count when the run started (an estimate under live traffic), or `rowsDone` once that is larger. */
  readonly total: number;
  /** Rows this run did, divided by the time this run has taken: what the job does now, not what earlier runs did. */
  readonly rowsPerSecond: number;
  /** Estimated time left, ms, at this run's rate (undefined until it has one). */
  readonly etaMs: number | undefined;
}

/**
 * A job's progress from what it counted.
 *
 * @example progressOf({ total: 10_000, rowsBefore: 4_000, rowsThisRun: 800, elapsedMs: 2_000 })
 * // { rowsDone: 4800, total: 10000, rowsPerSecond: 400, etaMs: 13000 }
 */
export function progressOf(p: {
  readonly total: number;
  readonly rowsBefore: number;
  readonly rowsThisRun: number;
  readonly elapsedMs: number;
}): RunProgress {
  const rowsDone = p.rowsBefore + p.rowsThisRun;
  const total = Math.max(p.total, rowsDone);
  const rowsPerSecond = p.elapsedMs > 0 ? Math.round((p.rowsThisRun * 1000) / p.elapsedMs) : 0;
  return {
    rowsDone,
    total,
    rowsPerSecond,
    etaMs: rowsPerSecond > 0 ? Math.round(((total - rowsDone) * 1000) / rowsPerSecond) : undefined,
  };
}

/**
 * A run's meter: started when the run starts counting, so the rate is this
 * run's alone; `done` is 100 % (the walk reached the end, whatever the count
 * said at the start).
 */
export class RunMeter {
  readonly #started: number;
  readonly #now: () => number;
  constructor(
    readonly total: number,
    readonly rowsBefore: number,
    now: () => number = () => Date.now(),
  ) {
    this.#now = now;
    this.#started = now();
  }

  at(rowsThisRun: number): RunProgress {
    return progressOf({
      total: this.total,
      rowsBefore: this.rowsBefore,
      rowsThisRun,
      elapsedMs: this.#now() - this.#started,
    });
  }

  /** The walk is done: every row the run will see is done, so the total is what was done. */
  done(rowsThisRun: number): RunProgress {
    const p = this.at(rowsThisRun);
    return { ...p, total: p.rowsDone, etaMs: 0 };
  }
}
