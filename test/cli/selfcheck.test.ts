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
    expect(result.steps.find((s) => s.step === 'backfill old → new beside live writes')?.detail).toMatchObject({
      status: 'complete',
      deadLetters: 0,
    });
    expect(lines.some((l) => l.startsWith('verify: hashes in each database'))).toBe(true);
    // The damage done behind midair's back is found exactly, repaired, and the next verification is clean.
    expect(result.repairRun).toMatchObject({
      missing: { total: 3 },
      different: { total: 2 },
      repair: { keys: 5, repaired: 5, stillDifferent: { total: 0 } },
      status: 'equal',
    });
    expect(result.repairRun.old.hashing).toBe('database'); // SQLite hashes inside its scan, through a registered aggregate
    expect(result.verify).toMatchObject({ status: 'equal', matched: 3000 - result.liveDeletes });
  });
});
