/**
 * Waits `ms`, or less when `signal` fires (then resolves too: callers check
 * the signal next). The abort listener is removed when the wait ends, so a
 * long run does not pile one up per chunk. On the global timers, not
 * `timers/promises`: a simulated clock replaces the globals only
 * (regression: the model test's backfill slept in real time, so a seed
 * replayed alone took another history than in its block).
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
