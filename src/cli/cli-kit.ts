import { InvalidArgumentError, type Command } from 'commander';
import { cliActor } from './commands/repairs.js';
import { openContext, type CliContext, type GlobalOptions } from './context.js';
import { EXIT, output, type Output } from './output.js';
import { runReport, type RunReport } from './run-report.js';

/** What every command group registers against: the root command and its global options. */
export interface Cli {
  readonly program: Command;
  globals(): GlobalOptions;
  out(): Output;
  /** Progress bars and colours: only on a terminal, never with --json. */
  terminal(): boolean;
  /** How a long command shows how it goes: a bar on a terminal, lines every few seconds off one, JSON lines with --json (all on stderr). */
  report(label: string): RunReport;
  /** Who runs the command, as the audit log names them: --actor, or user@host. */
  actor(): string;
  /**
   * Runs a command against the config's migration; sets the exit code from what it returns. Opening writes nothing:
   * a writing command prepares once it validated its input.
   */
  withContext(fn: (ctx: CliContext, o: Output) => Promise<number | undefined>, writes?: boolean): Promise<void>;
}

export function createCli(program: Command): Cli {
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const out = (): Output => output(globals().json === true);
  return {
    program,
    globals,
    out,
    terminal: () => !globals().json && process.stdout.isTTY,
    report: (label) => runReport(globals().json ? 'json' : process.stdout.isTTY ? 'bar' : 'lines', label),
    actor: () => cliActor(globals().actor),
    async withContext(fn, writes = false) {
      const ctx = await openContext(globals(), !writes);
      try {
        process.exitCode = (await fn(ctx, out())) ?? EXIT.ok;
      } finally {
        await ctx.close();
      }
    },
  };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('expected a port between 0 and 65535 (0: any free port)');
  return n;
}

export function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new InvalidArgumentError('expected a percentage between 0 and 100');
  return n;
}

export function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError('expected a share between 0 and 1, e.g. 0.01 for 1 %');
  return n;
}

/** A moment for --since: an ISO date or time (`2026-12-01`, `2026-12-01T08:00Z`), or a duration back from now (`90m`, `2h`, `7d`). */
export function moment(value: string): Date {
  const ago = /^(\d+)(s|m|h|d)$/.exec(value);
  if (ago) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(Date.now() - Number(ago[1]) * unit);
  }
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new InvalidArgumentError('expected an ISO date or time (2026-12-01T08:00Z) or a duration back (90m, 2h, 7d)');
  return at;
}
