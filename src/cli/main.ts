#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { MidairError } from '../errors.js';
import { runSelfCheck } from './selfcheck.js';
import { formatVerifyReport } from '../verify/report.js';

/** Exit codes: 0 success; 1 the check found a problem; 2 bad usage or an error. */
const program = new Command()
  .name('midair')
  .description('Zero-downtime data migrations: dual writes, backfill, shadow reads, ramp, cutover, rollback and verification.')
  .showHelpAfterError();

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number, e.g. --rows 20000');
  return n;
}

program
  .command('selfcheck')
  .description('migrate users between two embedded SQLite databases (old schema → split new schema): dual writes, a backfill beside live writes, then compare every entity')
  .option('--rows <n>', 'rows to seed into the old table', positiveInt, 20_000)
  .option('--dir <path>', 'keep the two SQLite files in this folder instead of a temporary one')
  .option('--json', 'print the result as JSON')
  .action(async (opts: { rows: number; dir?: string; json?: boolean }) => {
    const log = opts.json ? undefined : (line: string): void => console.log(line);
    log?.(`midair selfcheck: ${opts.rows} users, SQLite old → SQLite new (users + user_profiles)\n`);
    const result = await runSelfCheck({ rows: opts.rows, dir: opts.dir, log, progressBar: !opts.json && process.stdout.isTTY });
    if (opts.json) {
      console.log(JSON.stringify(result, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    } else {
      const c = result.compare;
      console.log(`\n${formatVerifyReport(result.repairRun)}`);
      console.log(
        `\n${result.ok ? 'OK' : 'FAILED'}: ${c.equal} entities equal, ${c.missing} missing, ${c.extra} extra, ${c.different} different; ` +
          `${result.liveUpdates} live updates and ${result.liveDeletes} live deletes during the backfill, ${result.resurrected} resurrected.`,
      );
    }
    process.exitCode = result.ok ? 0 : 1;
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof MidairError ? `midair: ${err.code}: ${err.message}` : `midair: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
});
