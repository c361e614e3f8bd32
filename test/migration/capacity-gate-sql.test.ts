import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateThresholds } from '../../src/index.js';
import { availability } from '../support/backends.js';
import { openControlBackend, type ControlBackend } from '../control/control-backends.js';
import { capacityRun, type Delays } from './capacity-support.js';

const THRESHOLDS: GateThresholds = { minComparisons: 50, maxMismatchRate: 0.01, minCapacityCalls: 200 };

/**
 * The capacity gate with its figures going through a real control store's
 * heartbeats, on real time: the delays are real, so the stores' p99s carry
 * the machine's jitter; the delays are far apart (5×) or equal, so what is
 * asserted is only whether the gate blocked or passed.
 */
const { run, reason } = availability('postgres');
describe.skipIf(!run)(`the capacity gate on a PostgreSQL control store${run ? '' : ` — skipped: ${reason}`}`, () => {
  let backend: ControlBackend | undefined;
  beforeAll(async () => {
    backend = await openControlBackend('postgres');
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('blocks the advance into ramp while new is 5× slower than old, writing nothing, and passes once new keeps up', async () => {
    if (!backend) throw new Error('backend not open');
    const control = backend.store(backend.uniquePrefix());
    await control.setup();
    const delays: Delays = { old: 30, new: 150 };
    const r = await capacityRun(control, delays, THRESHOLDS);
    try {
      await r.toShadowRead();
      await r.traffic(800);
      const capacity = (await r.migration.gates('ramp', THRESHOLDS)).find((g) => g.gate === 'capacity');
      expect(capacity).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^new is slower than the limit/) as string,
      });
      const before = { state: await control.getState('items'), audit: await control.auditLog('items') };
      await expect(
        r.migration.advance({ reason: 'test: into ramp', gated: THRESHOLDS, rampPercent: 10 }),
      ).rejects.toMatchObject({
        code: 'BLOCKED',
        message: expect.stringContaining('capacity: new is slower') as string,
      });
      expect({ state: await control.getState('items'), audit: await control.auditLog('items') }).toEqual(before);

      delays.new = delays.old;
      await r.migration.rollback({ reason: 'test: new was too slow' });
      await r.migration.awaitFleet(); // the gate into shadow-read wants the fleet's acknowledgement
      await r.migration.advance({ reason: 'test: again', gated: THRESHOLDS });
      await r.traffic(800);
      const again = (await r.migration.gates('ramp', THRESHOLDS)).find((g) => g.gate === 'capacity');
      expect(again, again?.detail).toMatchObject({ ok: true });
      expect((await r.migration.advance({ reason: 'test: into ramp', gated: THRESHOLDS, rampPercent: 10 })).phase).toBe(
        'ramp',
      );
    } finally {
      await r.close();
    }
  });
});
