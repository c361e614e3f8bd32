import { describe, expect, it } from 'vitest';
import { percentOf, progressLine, runReport, type Ticker } from '../../src/cli/run-report.js';
import type { WaitNotice } from '../../src/core/waits.js';

/** A ticker driven by hand: `tick()` fires what `every` registered, as the interval would. */
function manualTicker(): Ticker & { tick(): void; stopped: boolean } {
  let fire = (): void => undefined;
  const t = {
    stopped: false,
    every: (_ms: number, tick: () => void) => {
      fire = tick;
      return { stop: () => (t.stopped = true) };
    },
    tick: () => fire(),
  };
  return t;
}

const notice: WaitNotice = {
  on: 'range',
  holder: 'host-a:41:x1',
  until: new Date('2030-01-01T00:00:30.000Z'),
  message:
    'waiting for range 2 (…, 8] held by instance host-a:41:x1 until 2030-01-01T00:00:30.000Z (lease expires in 28 s)',
};

describe('adoption 9: honest output — progress off a terminal', () => {
  it('prints a plain line every tick while the run goes, the last one at the end, and a wait at once', () => {
    const lines: string[] = [];
    const ticker = manualTicker();
    const report = runReport('lines', 'backfill', { ticker, write: (t) => lines.push(t) });
    ticker.tick();
    expect(lines).toEqual([]); // nothing to say before the first progress
    report.progress({ rowsDone: 400, total: 1000, rowsPerSecond: 400, etaMs: 1500 });
    ticker.tick();
    report.notice(notice);
    report.progress({ rowsDone: 800, total: 1000, rowsPerSecond: 400, etaMs: 500 });
    ticker.tick();
    report.progress({ rowsDone: 1000, total: 1000, rowsPerSecond: 400, etaMs: 0 });
    report.stop();
    expect(ticker.stopped).toBe(true);
    expect(lines).toEqual([
      'backfill: 400/1000 rows (40 %), 400 rows/s, 2 s left\n',
      `backfill: ${notice.message}\n`,
      'backfill: 800/1000 rows (80 %), 400 rows/s, 1 s left\n',
      'backfill: 1000/1000 rows (100 %), 400 rows/s, 0 s left\n',
    ]);
  });

  it('with --json each line is a JSON object, and the end is not printed twice', () => {
    const lines: string[] = [];
    const ticker = manualTicker();
    const report = runReport('json', 'verify', { ticker, write: (t) => lines.push(t) });
    report.progress({ rowsDone: 50, total: 50, rowsPerSecond: 25, etaMs: 0 });
    ticker.tick();
    report.notice(notice);
    report.stop();
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { progress: 'verify', rowsDone: 50, total: 50, percent: 100, rowsPerSecond: 25, etaMs: 0 },
      {
        waiting: 'range',
        command: 'verify',
        holder: 'host-a:41:x1',
        until: '2030-01-01T00:00:30.000Z',
        message: notice.message,
      },
    ]);
  });

  it('the share is whole percent, 100 for an empty store, never above 100', () => {
    expect(percentOf({ rowsDone: 999, total: 1000, rowsPerSecond: 1, etaMs: 1 })).toBe(99);
    expect(percentOf({ rowsDone: 0, total: 0, rowsPerSecond: 0, etaMs: undefined })).toBe(100);
    expect(progressLine('sweep', { rowsDone: 0, total: 10, rowsPerSecond: 0, etaMs: undefined })).toBe(
      'sweep: 0/10 rows (0 %), 0 rows/s, time left unknown',
    );
  });
});
