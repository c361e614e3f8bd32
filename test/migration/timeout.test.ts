import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MidairError } from '../../src/index.js';
import { withTimeout } from '../../src/migration/timeout.js';

describe('store call deadlines', () => {
  it('rejects a call that never answers with TIMEOUT naming its operation, and aborts its signal', async () => {
    let seen: AbortSignal | undefined;
    const hung = withTimeout(
      async (signal) => {
        seen = signal;
        return new Promise<never>(() => undefined);
      },
      30,
      'get on new',
    );
    await expect(hung).rejects.toMatchObject({ code: 'TIMEOUT', message: 'get on new timed out after 30 ms' });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(MidairError);
  });

  it('calls sharing a deadline each fail with their own operation, and one that answers in time is unaffected', async () => {
    const never = async (): Promise<never> => new Promise<never>(() => undefined);
    const [a, b, c] = await Promise.allSettled([
      withTimeout(never, 25, 'put on old'),
      withTimeout(never, 25, 'get on new'),
      withTimeout(async () => Promise.resolve('ok'), 25, 'get on old'),
    ]);
    expect(a).toMatchObject({
      status: 'rejected',
      reason: { code: 'TIMEOUT', message: 'put on old timed out after 25 ms' },
    });
    expect(b).toMatchObject({
      status: 'rejected',
      reason: { code: 'TIMEOUT', message: 'get on new timed out after 25 ms' },
    });
    expect(c).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('passes a store error through unchanged', async () => {
    const failure = new Error('connection reset');
    await expect(withTimeout(async () => Promise.reject(failure), 1000, 'get on old')).rejects.toBe(failure);
  });

  it('regression: a hung call in a process with nothing else to do still times out (the shared deadline keeps the process alive while a call runs)', async () => {
    const jiti = join(dirname(createRequire(import.meta.url).resolve('jiti/package.json')), 'lib', 'jiti-cli.mjs');
    const script = fileURLToPath(new URL('../support/hung-call.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [jiti, script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('TIMEOUT: get on new timed out after 50 ms');
  });
});
