import cliProgress from 'cli-progress';

/** A rows progress bar (cli-progress), or one that draws nothing (off a terminal, with --json). */
export interface RowsBar {
  /** Starts at `done` rows (a resumed run starts from what earlier runs did). */
  start(total: number, done?: number): void;
  /**
   * `rowsPerSecond` is the run's own rate; the time left is `etaMs` when the
   * run estimated it (see RunProgress; `null`: it could not, shown `?`), else
   * worked out from the rate. `total` may grow (live inserts).
   */
  update(done: number, rowsPerSecond: number, total?: number, etaMs?: number | null): void;
  /** A line printed above the bar (the bar draws again under it). */
  note(text: string): void;
  stop(): void;
}

/** Seconds left at `rowsPerSecond`, as the bar shows them (`?` without a rate). */
export function etaText(done: number, total: number, rowsPerSecond: number): string {
  return rowsPerSecond > 0 ? String(Math.max(0, Math.ceil((total - done) / rowsPerSecond))) : '?';
}

/**
 * One bar for every long copy or scan the command line shows.
 *
 * @example
 * ```ts
 * const bar = rowsBar(process.stdout.isTTY, 'backfill');
 * bar.start(total); … bar.update(done, rate); … bar.stop();
 * ```
 */
export function rowsBar(enabled: boolean | undefined, label: string, indent = '  '): RowsBar {
  if (!enabled)
    return { start: () => undefined, update: () => undefined, note: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${indent}${label} [{bar}] {percentage}% {value}/{total} rows, {speed} rows/s, eta {left}s`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let total = 0;
  return {
    start: (t, done = 0) => {
      total = t;
      bar.start(t, done, { speed: 0, left: '?' });
    },
    update: (done, speed, t, etaMs) => {
      if (t !== undefined && t !== total) bar.setTotal((total = t));
      const left =
        etaMs === undefined ? etaText(done, total, speed) : etaMs === null ? '?' : String(Math.ceil(etaMs / 1000));
      bar.update(done, { speed, left });
    },
    note: (text) => process.stderr.write(`\r\x1b[K${text}\n`),
    stop: () => bar.stop(),
  };
}
