import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AppLoadSpec, ChildMessage, PhaseLatency } from './app-child.js';

export type { AppLoadSpec, PhaseLatency } from './app-child.js';

/** What the application process measured, once stopped. */
export interface AppResult {
  /** By the phase the instance served each write in. */
  readonly phases: Readonly<Record<string, PhaseLatency>>;
  readonly inserted: number;
  /** Writes scheduled but never issued (waiting for a free slot when the load stopped). */
  readonly unissued: number;
  /** Second writes that failed (each queued a repair), by error code. */
  readonly secondFailures: Readonly<Record<string, number>>;
  readonly firstError?: string;
}

/** A running application process: measuring since it said ready; `stop()` ends it and resolves what it measured. */
export interface RunningApp {
  stop(): Promise<AppResult>;
  /** Ends it at once (a case that failed). */
  kill(): void;
}

const CHILD = fileURLToPath(new URL('./app-child.ts', import.meta.url));

/** Starts the application process; resolves once it joined the fleet and warmed up. */
export async function startApp(spec: AppLoadSpec): Promise<RunningApp> {
  const child = spawn(process.execPath, ['--import', 'jiti/register', CHILD, JSON.stringify(spec)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const waiters: ((m: ChildMessage) => void)[] = [];
  child.on('message', (m: ChildMessage) => waiters.shift()?.(m));
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code, signal) =>
      reject(new Error(`the application process exited (${code ?? signal}): ${stderr.trim().slice(-400)}`)),
    ),
  );
  exited.catch(() => undefined);
  const next = async (): Promise<ChildMessage> =>
    Promise.race([new Promise<ChildMessage>((resolve) => waiters.push(resolve)), exited]);
  try {
    if ((await next()).type !== 'ready') throw new Error('the application process did not get ready');
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    async stop() {
      child.send('stop');
      const done = await next();
      if (done.type !== 'done') throw new Error('the application process did not report');
      return {
        phases: done.phases,
        inserted: done.inserted,
        unissued: done.unissued,
        secondFailures: done.secondFailures,
        ...(done.firstError ? { firstError: done.firstError } : {}),
      };
    },
    kill: () => void child.kill('SIGKILL'),
  };
}
