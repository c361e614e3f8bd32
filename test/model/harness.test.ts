import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/index.js';
import { faultyStore, noFaults } from '../support/faulty-store.js';
import { rng } from '../support/rng.js';
import type { Doc } from './harness.js';

describe('the model harness', () => {
  it('regression: on real servers a write that committed late landed after the final read, or in the next history; the harness now waits for every call that has begun applying', async () => {
    const inner = memoryStore<number, Doc>({ key: 'id' });
    const faults = { ...noFaults(rng(7)), lateCommitRate: 1, lateCommitMaxMs: 30 };
    const store = faultyStore(inner, faults);
    const landing = store.put({ id: 1, tag: 'late' });
    await new Promise((resolve) => setImmediate(resolve));
    // Stalled before it applies: counted, and not in the store yet.
    expect(faults.applying).toBe(1);
    expect(await inner.get(1)).toBeUndefined();
    await landing;
    expect(faults.applying).toBe(0);
    expect(await inner.get(1)).toEqual({ id: 1, tag: 'late' });
  });
});
