import cliProgress from 'cli-progress';

/** A rows progress bar (cli-progress), or one that draws nothing (off a terminal, with --json). */
export interface RowsBar {
  start(total: number): void;
  update(done: number, rowsPerSecond: number): void;
  stop(): void;
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
  if (!enabled) return { start: () => undefined, update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      format: `${indent}${label} [{bar}] {percentage}% {value}/{total} rows, {speed} rows/s, eta {eta}s`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (total) => bar.start(total, 0, { speed: 0 }),
    update: (done, speed) => bar.update(done, { speed }),
    stop: () => bar.stop(),
  };
}
