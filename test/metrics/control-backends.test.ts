import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineMigration, memoryStore, type ControlStore } from '../../src/index.js';
import { prometheusMetrics } from '../../src/prometheus/index.js';
import { openControlBackend, type ControlBackend } from '../control/control-backends.js';
import { availability, BACKEND_KINDS } from '../support/backends.js';
import { item, type Item } from '../migration/setup.js';
import { parseScrape, valueIn } from './scrape.js';

/** Two repairs queued, one parked (a constraint), one dead letter: what the operator's view must show. */
async function seed(control: ControlStore): Promise<void> {
  await control.enqueueRepairs('orders', 'old-to-new', [
    { keyId: 'n1', reason: 'TIMEOUT' },
    { keyId: 'n2', reason: 'TIMEOUT' },
    { keyId: 'n3', reason: 'CONSTRAINT' },
  ]);
  const claimed = await control.claimRepairs('orders', 'old-to-new', { owner: 'w', limit: 10, leaseMs: 60_000 });
  const n3 = claimed.find((e) => e.keyId === 'n3');
  if (!n3) throw new Error('n3 was not claimed');
  await control.failRepair('orders', 'old-to-new', n3.keyId, n3.seq);
  await control.parkRepair('orders', 'old-to-new', n3.keyId, n3.seq, {
    code: 'CONSTRAINT',
    store: 'new',
    message: 'duplicate key',
    constraint: 'orders_ref_key',
  });
  await control.addDeadLetters('orders', [{ keyId: 'n9', reason: 'ENCODING' }]);
}

for (const kind of BACKEND_KINDS) {
  const { run, reason } = availability(kind);
  describe.skipIf(!run)(`control-store figures on ${kind}${run ? '' : ` — skipped: ${reason}`}`, () => {
    let backend: ControlBackend | undefined;
    beforeAll(async () => {
      backend = await openControlBackend(kind);
    });
    afterAll(async () => {
      await backend?.close();
    });

    it('a process holding only the control store exports the phase, fleet, queues, dead letters and gates', async () => {
      if (!backend) throw new Error('backend not open');
      const prefix = backend.uniquePrefix();
      const control = backend.store(prefix);
      const app = defineMigration<number, Item>({
        name: 'orders',
        old: memoryStore<number, Item>({ key: 'id', version: 'version' }),
        new: memoryStore<number, Item>({ key: 'id', version: 'version' }),
        control,
        repair: { enabled: false },
      });
      await app.start();
      try {
        await app.advance({ reason: 'test: dual writes' });
        await app.repository().put(item(1, 1));
        await seed(control);
        const registry = new Registry();
        // As the dashboard's process does: its own connection to the control store, no Migration.
        prometheusMetrics({ registry, controlCacheMs: 0 }).attach({
          migration: 'orders',
          control: backend.separate(prefix),
        });
        const s = parseScrape(await registry.metrics());
        const m = { migration: 'orders' };
        expect(valueIn(s, 'midair_control_store_up', m)).toBe(1);
        expect(valueIn(s, 'midair_phase', { ...m, phase: 'dual-write' })).toBe(1);
        expect(valueIn(s, 'midair_phase_version', m)).toBe(app.state.version);
        expect(valueIn(s, 'midair_fleet_instances', { ...m, phase_version: String(app.state.version) })).toBe(1);
        expect(valueIn(s, 'midair_fleet_unacknowledged_instances', m)).toBe(0);
        expect(valueIn(s, 'midair_repair_queue_depth', m)).toBe(2);
        expect(valueIn(s, 'midair_parked_repairs', m)).toBe(1);
        expect(valueIn(s, 'midair_dead_letters', m)).toBe(1);
        expect(valueIn(s, 'midair_gate_passing', { ...m, to: 'shadow-read', gate: 'backfill' })).toBe(0);
        expect(valueIn(s, 'midair_gate_passing', { ...m, to: 'shadow-read', gate: 'fleet' })).toBe(1);
        expect(valueIn(s, 'midair_phase_changed_timestamp_seconds', m)).toBeCloseTo(
          app.state.changedAt.getTime() / 1000,
          3,
        );
        // The application's own counts are not this process's: none here.
        expect(s.some((x) => x.name === 'midair_store_calls_total')).toBe(false);
      } finally {
        await app.close();
      }
    });
  });
}
