import pc from 'picocolors';
import { errorSummary, MidairError } from '../core/errors.js';
import { EXIT } from './exit-codes.js';

export { EXIT };

const USAGE_CODES: ReadonlySet<string> = new Set(['CONFIG', 'INVALID_ARGUMENT']);

/** The exit code for an error thrown by a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof MidairError) {
    if (err.code === 'BLOCKED') return EXIT.notClean;
    if (USAGE_CODES.has(err.code)) return EXIT.usage;
    return EXIT.failure;
  }
  return EXIT.failure;
}

/** Colours only on a terminal (and never with NO_COLOR); picocolors decides. */
export const color = pc;

export interface Output {
  readonly json: boolean;
  /** A line for people (not printed with --json). */
  line(text?: string): void;
  /** The command's result: JSON with --json, else the human text. */
  result(value: unknown, human: () => string): void;
}

export function output(json: boolean): Output {
  return {
    json,
    line: (text = '') => {
      if (!json) process.stdout.write(`${text}\n`);
    },
    result: (value, human) => {
      if (json)
        process.stdout.write(
          `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`,
        );
      else process.stdout.write(`${human()}\n`);
    },
  };
}

/** An error for people: its code and message (never a row value: midair's messages carry none, and a foreign error shows only its name). */
export function printError(err: unknown, json: boolean): void {
  const { code, message } = errorSummary(err);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  else process.stderr.write(`${color.red('midair:')} ${code}: ${message}\n`);
}

export const mark = (ok: boolean | 'pending'): string =>
  ok === 'pending' ? color.yellow('…') : ok ? color.green('✓') : color.red('✗');
