/** How far a long job (a backfill's copy, a verification) has come, as its progress callbacks report it. */
export interface RunProgress {
  /** Rows done, earlier runs of the same name included (a resumed run starts from them). */
  readonly rowsDone: number;
  /**
   * The rows to do: the source's count when the run started, re-read every so
   * often while it runs (a backfill) and carried forward at the rate it grew,
   * or `rowsDone` once that is larger.
   */
  readonly total: number;
  /** Rows this run did, divided by the time this run has taken: what the job does now, not what earlier runs did. */
  readonly rowsPerSecond: number;
  /**
   * Estimated time left, ms: the rows left at the run's recent rate, less the
   * rate the source grows at (live inserts ahead of the copy add to what is
   * left while it runs). `undefined` until the run has a rate, and while the
   * source grows as fast as the run copies (or the run stands still).
   */
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
  /** The run's rate over its recent window, rows/s (default: its average, `rowsPerSecond`). */
  readonly recentRowsPerSecond?: number;
  /** How fast the source's count grows, rows/s (negative: it shrinks; default 0). */
  readonly growthPerSecond?: number;
}): RunProgress {
  const rowsDone = p.rowsBefore + p.rowsThisRun;
  const total = Math.max(p.total, rowsDone);
  const rowsPerSecond = p.elapsedMs > 0 ? Math.round((p.rowsThisRun * 1000) / p.elapsedMs) : 0;
  const gaining = (p.recentRowsPerSecond ?? rowsPerSecond) - (p.growthPerSecond ?? 0);
  return {
    rowsDone,
    total,
    rowsPerSecond,
    etaMs: rowsPerSecond > 0 && gaining > 0 ? Math.round(((total - rowsDone) * 1000) / gaining) : undefined,
  };
}

/** How a meter estimates: the window of its recent rate, and how often the source may be counted again. */
export interface MeterSettings {
  /** The recent rate is taken over the later half of the run so far, at most this long. Default 60 s. */
  readonly windowMs?: number;
  /** The source is counted again at most this often. Default 5 s. */
  readonly recountMs?: number;
  /** …and at most once per this many times the last count took (a count is a scan: 40 keeps it under 2.5 % of the run). Default 40. */
  readonly recountSpacing?: number;
}

interface Sample {
  readonly at: number;
  readonly rows: number;
}

/**
 * A run's meter: started when the run starts counting, so the rate is this
 * run's alone; `done` is 100 % (the walk reached the end, whatever the count
 * said at the start).
 *
 * The time left is honest under live writes (docs/decisions/0020): the copy
 * walks keys in order, so a write behind its cursor is the dual write's to
 * sync and changes nothing here, while inserts ahead of it add rows to copy.
 * So the run counts the source again now and then ({@link recount}), carries
 * the total forward at the rate the count grew, and divides what is left by
 * its recent rate less that growth.
 */
export class RunMeter {
  readonly #started: number;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #recountMs: number;
  readonly #spacing: number;
  /** Rows done at recent times, oldest first: the recent rate's window (and the sample just before it). */
  readonly #samples: Sample[] = [];
  /** The source's counts: the one the run started from, and the latest. */
  readonly #firstCount: Sample;
  #lastCount: Sample;
  #nextCount: number;
  #counting = false;

  constructor(
    readonly total: number,
    readonly rowsBefore: number,
    now: () => number = () => Date.now(),
    settings: MeterSettings = {},
  ) {
    this.#now = now;
    this.#started = now();
    this.#windowMs = settings.windowMs ?? 60_000;
    this.#recountMs = settings.recountMs ?? 5000;
    this.#spacing = settings.recountSpacing ?? 40;
    this.#firstCount = { at: this.#started, rows: total };
    this.#lastCount = this.#firstCount;
    this.#nextCount = this.#started + this.#recountMs;
  }

  /** The source's net growth, rows/s, between the count the run started from and the latest. */
  get growthPerSecond(): number {
    const span = this.#lastCount.at - this.#firstCount.at;
    return span > 0 ? ((this.#lastCount.rows - this.#firstCount.rows) * 1000) / span : 0;
  }

  /** The total as estimated now: the latest count, carried forward at the rate the count grew. */
  #totalNow(now: number): number {
    return Math.round(this.#lastCount.rows + (this.growthPerSecond * (now - this.#lastCount.at)) / 1000);
  }

  /** Rows/s over the later half of the run so far (at most the window), from the samples `at` recorded. */
  #recentRate(now: number, rowsThisRun: number): number | undefined {
    const from = Math.max(this.#started + (now - this.#started) / 2, now - this.#windowMs);
    // The samples before the window's start are dropped, but for the last of them (the rate's starting point).
    while (this.#samples.length > 1 && (this.#samples[1] as Sample).at <= from) this.#samples.shift();
    const first = this.#samples[0];
    this.#samples.push({ at: now, rows: rowsThisRun });
    if (!first || now - first.at <= 0) return undefined;
    return ((rowsThisRun - first.rows) * 1000) / (now - first.at);
  }

  at(rowsThisRun: number): RunProgress {
    const now = this.#now();
    const recent = this.#recentRate(now, rowsThisRun);
    return progressOf({
      total: this.#totalNow(now),
      rowsBefore: this.rowsBefore,
      rowsThisRun,
      elapsedMs: now - this.#started,
      growthPerSecond: this.growthPerSecond,
      ...(recent === undefined ? {} : { recentRowsPerSecond: recent }),
    });
  }

  /** The walk is done: every row the run will see is done, so the total is what was done. */
  done(rowsThisRun: number): RunProgress {
    const p = this.at(rowsThisRun);
    return { ...p, total: p.rowsDone, etaMs: 0 };
  }

  /**
   * Counts the source again with `count` when one is due (and none runs):
   * at most every `recountMs`, and spaced by `recountSpacing` times the last
   * count's duration. A count that fails changes nothing: the estimate keeps
   * the last one (the run itself goes on, or fails on its own next call).
   */
  async recount(count: () => Promise<number>): Promise<void> {
    const t0 = this.#now();
    if (this.#counting || t0 < this.#nextCount) return;
    this.#counting = true;
    try {
      const rows = await count();
      const at = this.#now();
      this.#lastCount = { at, rows };
      this.#nextCount = at + Math.max(this.#recountMs, (at - t0) * this.#spacing);
    } catch {
      this.#nextCount = this.#now() + this.#recountMs;
    } finally {
      this.#counting = false;
    }
  }
}
