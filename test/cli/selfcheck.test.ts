import { describe, expect, it } from 'vitest';
import { runSelfCheck } from '../../src/cli/selfcheck.js';

describe('selfcheck (the main job until the demo exists)', () => {
  it('migrates a table into a split schema with dual writes and a backfill beside live updates and deletes, and every entity matches', async () => {
    const lines: string[] = [];
    const result = await runSelfCheck({ rows: 3000, log: (l) => lines.push(l), seed: 7 });
    expect(result.ok).toBe(true);
    expect(result.liveUpdates).toBeGreaterThan(0);
    expect(result.liveDeletes).toBeGreaterThan(0);
    expect(result.compare).toEqual({ equal: 3000 - result.liveDeletes, missing: 0, extra: 0, different: 0 });
    expect(result.resurrected).toBe(0);
    const again = result.steps.find((s) => s.step === 'backfill again (idempotent)');
    expect(again?.detail).toMatchObject({ status: 'complete', inserted: 0, updated: 0 });
    expect(result.steps.find((s) => s.step === 'backfill old → new beside live writes')?.detail).toMatchObject({ status: 'complete', deadLetters: 0 });
    expect(lines.some((l) => l.startsWith('compare every entity'))).toBe(true);
  });
});
