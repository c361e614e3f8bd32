import { describe, expect, it } from 'vitest';
import { CachedRead } from '../../src/metrics/cached-read.js';
import { deferred } from '../migration/setup.js';

describe('a control-store read shared by collections', () => {
  it('runs one read at a time for everyone who asks meanwhile, and serves it for cacheMs after it ended', async () => {
    let now = 0;
    let reads = 0;
    const gate = deferred();
    const cached = new CachedRead(
      async () => {
        reads++;
        await gate.promise;
        return reads;
      },
      1000,
      () => now,
    );
    const first = cached.get();
    const second = cached.get();
    gate.resolve();
    expect([await first, await second]).toEqual([1, 1]);
    now = 999;
    expect(await cached.get()).toBe(1);
    now = 1000;
    expect(await cached.get()).toBe(2);
    expect(reads).toBe(2);
  });

  it('a read that fails is not kept: the next collection reads again', async () => {
    let fail = true;
    const cached = new CachedRead(
      async () => {
        if (fail) throw new Error('down');
        return Promise.resolve('up');
      },
      60_000,
      () => 0,
    );
    await expect(cached.get()).rejects.toThrow('down');
    fail = false;
    expect(await cached.get()).toBe('up');
  });
});
