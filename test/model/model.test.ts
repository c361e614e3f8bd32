import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { runHistory, type Doc, type HistoryResult, type Sabotage } from './harness.js';

const HISTORIES = Number(process.env.MIDAIR_MODEL_HISTORIES ?? 500);
const BASE_SEED = Number(process.env.MIDAIR_MODEL_SEED ?? Date.now() % 1_000_000);

function memoryStores() {
  return { old: memoryStore<number, Doc>({ name: 'old', key: 'id' }), new: memoryStore<number, Doc>({ name: 'new', key: 'id' }) };
}

/** Runs histories a few at a time (they mostly wait on timers), seeds BASE_SEED, BASE_SEED+1, … */
async function runMany(count: number, sabotage?: Sabotage, parallel = 8): Promise<HistoryResult[]> {
  const results: HistoryResult[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - i) }, (_, j) => runHistory({ seed: BASE_SEED + i + j, stores: memoryStores(), sabotage }));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

function summary(label: string, results: readonly HistoryResult[]): string {
  const ops = results.reduce((n, r) => n + r.ops, 0);
  const faults = results.reduce((n, r) => n + r.faults, 0);
  const transitions = results.reduce((n, r) => n + r.transitions, 0);
  const violations = results.reduce((n, r) => n + r.violations.length, 0);
  const backfills = results.reduce((n, r) => n + r.backfills, 0);
  const reached = new Set(results.flatMap((r) => r.phases));
  return `${label}: ${results.length} histories, ${ops} operations, ${faults} faults injected, ${transitions} phase changes (reached ${[...reached].join(', ')}), ${backfills} backfill runs (with crashes), ${violations} violations`;
}

function explain(results: readonly HistoryResult[]): string {
  return results
    .filter((r) => r.violations.length > 0)
    .slice(0, 3)
    .map((r) => `seed ${r.seed} (replay: MIDAIR_MODEL_SEED=${r.seed} MIDAIR_MODEL_HISTORIES=1):\n  ${r.violations.slice(0, 5).map((v) => `invariant ${v.invariant}: ${v.message}`).join('\n  ')}`)
    .join('\n');
}

describe('model-based test: random histories under faults, phase changes and pauses', () => {
  it(`holds invariants 1–6 over ${HISTORIES} histories on in-memory stores`, async () => {
    const results = await runMany(HISTORIES);
    console.log(summary('model (memory)', results));
    expect(explain(results)).toBe('');
    // The histories must really reach the phases that matter.
    const reached = new Set(results.flatMap((r) => r.phases));
    for (const p of ['dual-write', 'shadow-read', 'ramp', 'new-primary'] as const) expect(reached.has(p)).toBe(true);
  });

  it.each([
    ['no tombstones in new', { noTombstones: true }, [2]],
    ['second writes not queued for repair', { noRepairQueue: true }, [1, 3]],
  ] as const)('catches a broken repository: %s', async (label, sabotage, invariants) => {
    const results = await runMany(200, sabotage);
    console.log(summary(`model (sabotaged: ${label})`, results));
    const found = results.flatMap((r) => r.violations);
    expect(found.some((v) => (invariants as readonly number[]).includes(v.invariant))).toBe(true);
  });
});
