import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES, closeShared } from './cases.js';
import { machineFacts, runCase, table, type CaseResult } from './harness.js';
import { measureStatements, statementsTable, type StatementCounts } from './statements.js';

/**
 * `npm run bench [-- --rows N --cases a,b --repeats N --quick]`: each case
 * and its baseline alternately, medians and ratios in one table; results in
 * bench/results/<case>.json and, for a full run of every case, BENCHMARKS.md.
 * `--report` writes BENCHMARKS.md again from the saved results (after the
 * analysis in bench/ANALYSIS.md changed), running nothing. Every run but
 * `--report` also counts the statements per repository call in each phase
 * (`--cases statements` for only that; saved in
 * bench/results/statements-per-call.json).
 */
const { values } = parseArgs({
  options: {
    rows: { type: 'string' },
    cases: { type: 'string' },
    repeats: { type: 'string' },
    quick: { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
  },
});
const quick = values.quick === true;
const rows = Number(values.rows ?? (quick ? 20_000 : 1_000_000));
const repeats = Number(values.repeats ?? (quick ? 1 : 3));
const wanted = values.cases?.split(',').map((s) => s.trim().toLowerCase());
const cases = CASES.filter((c) => !wanted || wanted.some((w) => c.name.toLowerCase().includes(w)));
const dir = join('bench', 'results', quick ? 'quick' : '');
const fileOf = (name: string): string =>
  join(
    dir,
    `${name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')}.json`,
  );

/** Cases that threw: the run exits 1 (so a quick run in CI catches a broken harness). */
const failed: string[] = [];

type Saved = CaseResult & { readonly machine: string; readonly at: string; readonly repeats?: number };

async function measure(): Promise<Saved[]> {
  const ctx = {
    rows,
    quick,
    pgUrl: process.env.MIDAIR_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    mysqlUrl: process.env.MIDAIR_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  };
  console.log(`midair bench: ${rows} rows, ${repeats} repeat(s), ${cases.length} case(s); ${machineFacts()}\n`);
  const results: Saved[] = [];
  mkdirSync(dir, { recursive: true });
  try {
    for (const c of cases) {
      process.stdout.write(`${c.name} … `);
      let measured: CaseResult;
      try {
        measured = await runCase(c, ctx, repeats);
      } catch (error) {
        // One broken case does not lose the others' figures; the run still fails at the end.
        failed.push(c.name);
        const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 200) ?? '';
        measured = {
          name: c.name,
          what: c.what,
          baselineWhat: c.baselineWhat,
          unit: c.unit,
          rows,
          midair: [],
          baseline: [],
          midairMedian: NaN,
          baselineMedian: NaN,
          ratio: NaN,
          target: c.target,
          met: false,
          notes: [],
          skipped: `failed: ${reason}`,
        };
      }
      const r: Saved = { ...measured, machine: machineFacts(), at: new Date().toISOString(), repeats };
      results.push(r);
      console.log(r.skipped ? `skipped (${r.skipped})` : `${r.ratio.toFixed(2)}× (target ≤ ${r.target}×)`);
      writeFileSync(fileOf(c.name), `${JSON.stringify(r, null, 2)}\n`);
    }
  } finally {
    await closeShared();
  }
  return results;
}

/** The saved figures, described as the cases describe themselves now. */
const saved = (): Saved[] =>
  CASES.filter((c) => existsSync(fileOf(c.name))).map((c) => ({
    ...(JSON.parse(readFileSync(fileOf(c.name), 'utf8')) as Saved),
    what: c.what,
    baselineWhat: c.baselineWhat,
  }));
const statementsFile = join(dir, 'statements-per-call.json');
/** Statements per call per phase (counts, not times): measured unless only other cases were asked for. */
async function statements(): Promise<StatementCounts[] | undefined> {
  if (values.report) {
    return existsSync(statementsFile)
      ? (JSON.parse(readFileSync(statementsFile, 'utf8')) as StatementCounts[])
      : undefined;
  }
  if (wanted && !wanted.some((w) => 'statements per call'.includes(w))) return undefined;
  process.stdout.write('statements per call … ');
  try {
    const counted = await measureStatements(
      process.env.MIDAIR_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      process.env.MIDAIR_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
    );
    mkdirSync(dir, { recursive: true });
    writeFileSync(statementsFile, `${JSON.stringify(counted, null, 2)}\n`);
    console.log('counted');
    return counted;
  } catch (error) {
    failed.push('statements per call');
    console.log(`failed (${(error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''})`);
    return undefined;
  }
}

const results = values.report ? saved() : cases.length > 0 ? await measure() : [];
const counts = await statements();
const statementsText = counts
  ? `## Statements per call\n\nWhat one repository call sends to each store and to the control store (PostgreSQL), per phase, counted at the driver with background work (second writes, comparisons, intents) included; the first row is what the application sends alone. Counts, not times: the same on any machine.\n\n${statementsTable(counts)}\n\n`
  : '';
if (statementsText) console.log(`\n${statementsText}`);
const text = table(results);
console.log(`\n${text}`);
const notes = results.flatMap((r) => r.notes.map((n) => `- ${r.name}: ${n}`));
if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
if (!quick && (values.report || !wanted)) {
  const first = results[0];
  // What limits each figure is written by hand after a full run (bench/ANALYSIS.md) and kept beside the figures.
  const analysis = existsSync(join('bench', 'ANALYSIS.md'))
    ? `\n${readFileSync(join('bench', 'ANALYSIS.md'), 'utf8').trim()}\n`
    : '';
  writeFileSync(
    'BENCHMARKS.md',
    `# Benchmarks\n\nMeasured by \`npm run bench\` on ${first?.machine ?? machineFacts()}, ${(first?.at ?? new Date().toISOString()).slice(0, 10)}: ${first?.rows ?? rows} rows, medians of ${first?.repeats ?? repeats} alternating runs of each case and its baseline.\n\n${text}\n\n${statementsText}## Cases\n\n${results.map((r) => `- **${r.name}**: ${r.what}; baseline: ${r.baselineWhat}.`).join('\n')}\n${notes.length > 0 ? `\n## Notes\n\n${notes.join('\n')}\n` : ''}${analysis}`,
  );
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
