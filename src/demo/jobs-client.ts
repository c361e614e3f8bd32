import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackfillResult } from '../backfill/backfill-options.js';
import { MidairError, type MidairErrorCode, ERROR_CODES } from '../core/errors.js';
import type { VerifyReport } from '../verify/verify-options.js';
import type { JobReply, JobRequest, JobWorkerData } from './jobs-protocol.js';

/** The operator's long jobs, run on the demo's job thread. */
export interface DemoJobs {
  backfill(onProgress: (rowsDone: number, rowsPerSecond: number) => void): Promise<BackfillResult>;
  verify(): Promise<VerifyReport>;
  sweep(): Promise<BackfillResult>;
  /** Re-syncs every key in the repair queue; resolves how many. */
  drainRepairs(): Promise<number>;
  /** Closes the thread's connections and ends it. */
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress?: (rowsDone: number, rowsPerSecond: number) => void;
}

/** The built job thread beside this module (the demo runs from the built package). */
function workerUrl(): URL {
  const url = new URL('./jobs-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(url)))
    throw new MidairError(
      'NOT_SUPPORTED',
      'the demo runs its backfill, verification and sweep on a thread started from jobs-worker.js beside its own module, and that file is missing: run `npm run build` and start the demo from the built package (`midair demo` or `npm run demo`)',
    );
  return url;
}

const codeOf = (code: string): MidairErrorCode =>
  (ERROR_CODES as readonly string[]).includes(code) ? (code as MidairErrorCode) : 'UNKNOWN';

/**
 * Starts the job thread on the demo's files in `dir` and resolves once its
 * connections are open. A job that fails there rejects with its code and
 * message; a thread that dies rejects every job still running.
 */
export async function startJobs(dir: string): Promise<DemoJobs> {
  const data: JobWorkerData = { dir };
  const worker = new Worker(workerUrl(), { workerData: data });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: JobReply) => {
      if (m.kind === 'ready') return resolve();
      const p = pending.get(m.id);
      if (!p) return;
      if (m.kind === 'progress') return p.onProgress?.(m.rowsDone, m.rowsPerSecond);
      pending.delete(m.id);
      if (m.kind === 'done') p.resolve(m.result);
      else p.reject(new MidairError(codeOf(m.code), `the demo's job thread: ${m.message}`));
    });
    worker.on('error', (error) => {
      fail(error);
      reject(error);
    });
    worker.on('exit', (code) => {
      const error = new MidairError('CLOSED', `the demo's job thread ended (exit code ${code})`);
      fail(error);
      reject(error);
    });
  });
  await ready;
  const call = async <T>(job: JobRequest['job'], onProgress?: Pending['onProgress']): Promise<T> => {
    if (failure) throw failure;
    const id = nextId++;
    const result = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject, onProgress }));
    worker.postMessage({ id, job } satisfies JobRequest);
    return (await result) as T;
  };
  return {
    backfill: async (onProgress) => call<BackfillResult>('backfill', onProgress),
    verify: async () => call<VerifyReport>('verify'),
    sweep: async () => call<BackfillResult>('sweep'),
    drainRepairs: async () => call<number>('drain'),
    async close() {
      if (!failure) await call<null>('close');
      await worker.terminate();
    },
  };
}
