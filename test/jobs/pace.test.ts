import { describe, expect, it } from 'vitest';
import { inWindow } from '../../src/index.js';
import { item, rig } from '../migration/setup.js';

const at = (hhmm: string): Date => new Date(`2026-11-23T${hhmm}:00Z`);

describe('backfill pacing', () => {
  it('knows its UTC windows, including one that wraps past midnight', () => {
    const night = [{ from: '22:00', to: '06:00' }];
    expect(inWindow(night, at('23:30'))).toBe(true);
    expect(inWindow(night, at('05:59'))).toBe(true);
    expect(inWindow(night, at('06:00'))).toBe(false);
    expect(inWindow(night, at('12:00'))).toBe(false);
    expect(
      inWindow(
        [
          { from: '09:00', to: '10:00' },
          { from: '13:00', to: '14:00' },
        ],
        at('13:30'),
      ),
    ).toBe(true);
    expect(inWindow(undefined, at('12:00'))).toBe(true);
    expect(() => inWindow([{ from: '9am', to: '10:00' }], at('12:00'))).toThrow(/HH:MM/);
  });

  it('a backfill waits while the replicas lag, then carries on', async () => {
    const r = await rig();
    await r.oldStore.writeIfNewer(Array.from({ length: 300 }, (_, i) => item(i, 1)));
    await r.goTo('dual-write');
    let lagging = 3;
    const waits: string[] = [];
    const result = await r.migration.backfill({
      chunkSize: 100,
      targetChunkMs: 0,
      replicaLag: async () => Promise.resolve(lagging-- > 0 ? 60_000 : 0),
      onWait: (reason) => waits.push(reason),
    });
    expect(result).toMatchObject({ status: 'complete', inserted: 300 });
    expect(waits).toEqual(['replica-lag', 'replica-lag', 'replica-lag']);
  });
});
