import { cpus, totalmem } from 'node:os';

/** What one case measures: the library's run and its baseline, in the same units (lower is better). */
export interface BenchCase {
  readonly name: string;
  readonly what: string;
  readonly baselineWhat: string;
  /** The ratio (midair / baseline) the case must stay within. */
  readonly target: number;
  readonly unit: 'ms' | 'µs' | 'MB';
  /** At most this many repeats (a case whose figure hardly varies, and whose runs are long). */
  readonly maxRepeats?: number;
  /** Prepares data; resolves false (with a reason) when the case cannot run here. */
  setup(ctx: BenchContext): Promise<true | string>;
  midair(ctx: BenchContext): Promise<number>;
  baseline(ctx: BenchContext): Promise<number>;
  teardown?(ctx: BenchContext): Promise<void>;
}

export interface BenchContext {
  readonly rows: number;
  readonly quick: boolean;
  readonly pgUrl: string;
  readonly mysqlUrl: string;
  /** Notes a case wants in the results (what limits a figure, a setting). */
  readonly note: (text: string) => void;
}

export interface CaseResult {
  readonly name: string;
  readonly what: string;
  readonly baselineWhat: string;
  readonly unit: string;
  readonly rows: number;
  readonly midair: readonly number[];
  readonly baseline: readonly number[];
  readonly midairMedian: number;
  readonly baselineMedian: number;
  readonly ratio: number;
  readonly target: number;
  readonly met: boolean;
  readonly notes: readonly string[];
  readonly skipped?: string;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Runs the case and its baseline alternately `repeats` times (so drift hits both alike) and takes medians. */
export async function runCase(c: BenchCase, ctx: Omit<BenchContext, 'note'>, repeats: number): Promise<CaseResult> {
  const notes: string[] = [];
  const full: BenchContext = { ...ctx, note: (t) => notes.push(t) };
  const base = {
    name: c.name,
    what: c.what,
    baselineWhat: c.baselineWhat,
    unit: c.unit,
    rows: ctx.rows,
    target: c.target,
    notes,
  };
  const ready = await c.setup(full);
  if (ready !== true)
    return {
      ...base,
      midair: [],
      baseline: [],
      midairMedian: NaN,
      baselineMedian: NaN,
      ratio: NaN,
      met: false,
      skipped: ready,
    };
  const m: number[] = [];
  const b: number[] = [];
  try {
    for (let i = 0; i < Math.min(repeats, c.maxRepeats ?? repeats); i++) {
      // Alternate which goes first, so neither always runs on a warmer cache.
      if (i % 2 === 0) {
        m.push(await c.midair(full));
        b.push(await c.baseline(full));
      } else {
        b.push(await c.baseline(full));
        m.push(await c.midair(full));
      }
    }
  } finally {
    await c.teardown?.(full);
  }
  const mm = median(m);
  const bm = median(b);
  const ratio = mm / bm;
  return { ...base, midair: m, baseline: b, midairMedian: mm, baselineMedian: bm, ratio, met: ratio <= c.target };
}

export function machineFacts(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

const fmt = (n: number, unit: string): string =>
  Number.isNaN(n) ? '–' : unit === 'µs' ? n.toFixed(2) : n >= 100 ? Math.round(n).toString() : n.toFixed(1);

/** One table of medians and ratios. */
export function table(results: readonly CaseResult[]): string {
  const rows = [
    '| case | rows | midair | baseline | ratio | target | met |',
    '|---|---:|---:|---:|---:|---:|:--:|',
    ...results.map((r) =>
      r.skipped
        ? `| ${r.name} | ${r.rows} | skipped: ${r.skipped} | | | ≤ ${r.target} | – |`
        : `| ${r.name} | ${r.rows} | ${fmt(r.midairMedian, r.unit)} ${r.unit} | ${fmt(r.baselineMedian, r.unit)} ${r.unit} | ${r.ratio.toFixed(2)}× | ≤ ${r.target}× | ${r.met ? '✓' : '✗'} |`,
    ),
  ];
  return rows.join('\n');
}
