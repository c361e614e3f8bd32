import type { WaitNotice } from '../core/waits.js';
import type { RunProgress } from '../jobs/run-progress.js';
import { rowsBar } from '../demo/progress.js';

/**
 * How a long command shows how it goes: a bar on a terminal; off one, a plain
 * line every few seconds; with --json, the same as JSON lines. Progress and
 * waits go to stderr, so stdout holds the command's result alone.
 */
export type ReportMode = 'bar' | 'lines' | 'json';

/** What a long command reports while it runs. */
export interface RunReport {
  progress(p: RunProgress): void;
  /** A wait that would otherwise be silent, said at once. */
  notice(n: WaitNotice): void;
  /** The run ended: the bar stops; off a terminal, the last progress is printed if it was not yet. */
  stop(): void;
}

/** A repeating timer (injectable: tests drive it by hand). */
export interface Ticker {
  every(ms: number, tick: () => void): { stop(): void };
}

export const realTicker: Ticker = {
  every: (ms, tick) => {
    const handle = setInterval(tick, ms);
    handle.unref();
    return { stop: () => clearInterval(handle) };
  },
};

export interface RunReportOptions {
  /** How often a line is printed off a terminal. Default 5 s. */
  readonly everyMs?: number;
  readonly ticker?: Ticker;
  /** Where lines go. Default stderr. */
  readonly write?: (text: string) => void;
}

/** A progress line as a person reads it: `backfill: 4800/10000 rows (48 %), 400 rows/s, 13 s left`. */
export function progressLine(label: string, p: RunProgress): string {
  const left = p.etaMs === undefined ? 'time left unknown' : `${Math.ceil(p.etaMs / 1000)} s left`;
  return `${label}: ${p.rowsDone}/${p.total} rows (${percentOf(p)} %), ${p.rowsPerSecond} rows/s, ${left}`;
}

/** The share done, in whole percent (100 once done reaches the total, also for an empty store). */
export function percentOf(p: RunProgress): number {
  return p.total <= 0 ? 100 : Math.min(100, Math.floor((p.rowsDone * 100) / p.total));
}

function progressJson(label: string, p: RunProgress): string {
  return JSON.stringify({
    progress: label,
    rowsDone: p.rowsDone,
    total: p.total,
    percent: percentOf(p),
    rowsPerSecond: p.rowsPerSecond,
    etaMs: p.etaMs ?? null,
  });
}

function noticeJson(label: string, n: WaitNotice): string {
  return JSON.stringify({
    waiting: n.on,
    command: label,
    holder: n.holder,
    until: n.until.toISOString(),
    message: n.message,
  });
}

/** The report for `label` (`backfill`, `verify`, `phase advance`) in `mode`. */
export function runReport(mode: ReportMode, label: string, o: RunReportOptions = {}): RunReport {
  const write = o.write ?? ((text: string): void => void process.stderr.write(text));
  if (mode === 'bar') return barReport(label);
  const json = mode === 'json';
  let latest: RunProgress | undefined;
  let printed: RunProgress | undefined;
  const print = (): void => {
    if (!latest) return;
    printed = latest;
    write(`${json ? progressJson(label, latest) : progressLine(label, latest)}\n`);
  };
  const timer = (o.ticker ?? realTicker).every(o.everyMs ?? 5000, print);
  return {
    progress: (p) => (latest = p),
    notice: (n) => write(`${json ? noticeJson(label, n) : `${label}: ${n.message}`}\n`),
    stop: () => {
      timer.stop();
      if (latest !== printed) print();
    },
  };
}

function barReport(label: string): RunReport {
  const bar = rowsBar(true, label);
  let started = false;
  return {
    progress: (p) => {
      if (!started) bar.start(p.total, p.rowsDone);
      started = true;
      bar.update(p.rowsDone, p.rowsPerSecond, p.total, p.etaMs ?? null);
    },
    notice: (n) => bar.note(`${label}: ${n.message}`),
    stop: () => bar.stop(),
  };
}
