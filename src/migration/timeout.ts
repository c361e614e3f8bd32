import { MidairError } from '../errors.js';

/**
 * Runs a store call with a deadline: the call gets an AbortSignal, and the
 * promise rejects with TIMEOUT when the deadline passes even if the driver
 * ignores the signal.
 *
 * @example await withTimeout((signal) => store.get(key, { signal }), 2000, 'get on new');
 */
export async function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, operation: string): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new MidairError('TIMEOUT', `${operation} timed out after ${ms} ms`, { details: { operation } });
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
