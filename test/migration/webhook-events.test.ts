import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  col,
  defineMigration,
  memoryControlStore,
  sqlMapping,
  type Migration,
  type WebhookBody,
  type WebhookEvent,
} from '../../src/index.js';
import { sqliteStore } from '../../src/sqlite/index.js';
import { rng } from '../support/rng.js';
import { webhookReceiver, type TestReceiver } from '../support/webhook-receiver.js';
import { item, rig } from './setup.js';

const SECRET = 'test-secret-0123456789abcdef';
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function receiver(): Promise<TestReceiver> {
  const r = await webhookReceiver();
  cleanup.push(() => r.close());
  return r;
}

const hook = (rx: TestReceiver, events?: WebhookEvent[]) => ({
  webhooks: [{ url: rx.url, secret: SECRET, ...(events ? { events } : {}) }],
  webhookDelivery: { backoffMs: 5, random: rng(3) },
});

const bodies = <T extends WebhookEvent>(rx: TestReceiver, type: T): WebhookBody<T>[] =>
  rx.received.map((q) => q.json).filter((b) => b.type === type) as WebhookBody<T>[];

describe('webhooks: each event from the process that made it happen', () => {
  it('a refused gated advance posts gate-refused with the failing gates, and changes nothing', async () => {
    const rx = await receiver();
    const r = await rig(hook(rx, ['gate-refused']));
    await r.goTo('dual-write');
    await expect(r.migration.advance({ reason: 'test: shadow reads', gated: true })).rejects.toMatchObject({
      code: 'BLOCKED',
    });
    // The check a caller runs before preparing anything (the CLI's) is announced the same way.
    await expect(r.migration.passGates('shadow-read', { reason: 'test' })).rejects.toMatchObject({ code: 'BLOCKED' });
    expect(r.migration.state.phase).toBe('dual-write');
    // Forced past the gates: the advance goes on, and no refusal is posted.
    await expect(r.migration.passGates('shadow-read', { reason: 'test', force: true })).resolves.toMatch(
      /^test \[forced past: backfill: /,
    );
    await r.migration.close();
    const refused = bodies(rx, 'gate-refused');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ migration: 'items', from: 'dual-write', to: 'shadow-read' });
    expect(refused[0]?.gates.map((g) => g.gate)).toEqual(['backfill']);
    expect(refused[0]?.gates[0]?.detail).toEqual(expect.any(String));
  });

  it('a verification posts its status and counts (no key), also when it repaired', async () => {
    const rx = await receiver();
    const r = await rig(hook(rx, ['verified']));
    await r.goTo('dual-write');
    const repo = r.migration.repository();
    for (let id = 1; id <= 5; id++) await repo.put(item(id, 1));
    await r.oldStore.put(item(6, 1)); // only old has it
    await r.migration.verify({ mode: 'full', recheckDelayMs: 0 });
    await r.migration.verify({ mode: 'full', recheckDelayMs: 0, repair: true });
    await r.migration.close();
    const [first, second] = bodies(rx, 'verified');
    expect(first).toMatchObject({ mode: 'full', status: 'different', matched: 5, missing: 1, extra: 0, different: 0 });
    expect(first).not.toHaveProperty('repair');
    expect(second).toMatchObject({ status: 'equal', missing: 1, repair: { repaired: 1, stillDifferent: 0 } });
    expect(JSON.stringify(first)).not.toContain('n6');
  });

  it('an auto-halt posts the phase change (action halt) and halted, once each, from the halting instance', async () => {
    const rx = await receiver();
    const r = await rig({ ...hook(rx), autoHalt: { minSamples: 10, maxErrorRate: 0.3 } });
    await r.goTo('ramp', 100);
    for (let id = 0; id < 30; id++) await r.oldStore.put(item(id, 1));
    r.newFaults.down = true;
    const repo = r.migration.repository();
    for (let id = 0; id < 30; id++) await repo.get(id);
    await r.migration.settle();
    expect(r.migration.state.phase).toBe('shadow-read');
    r.newFaults.down = false;
    await r.migration.close();
    const halts = bodies(rx, 'phase-changed').filter((b) => b.action === 'halt');
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatchObject({
      from: { phase: 'ramp' },
      to: { phase: 'shadow-read' },
      actor: `auto-halt@${r.migration.instanceId}`,
    });
    const [halted, ...more] = bodies(rx, 'halted');
    expect(more).toEqual([]);
    expect(halted).toMatchObject({ from: 'ramp', to: 'shadow-read', instance: r.migration.instanceId });
    expect(halted?.reason).toMatch(/^the new store failed \d+ of \d+ calls/);
  });

  describe('a parked repair (a real SQLite unique constraint)', () => {
    interface Account {
      id: number;
      email: string;
    }
    const mapping = sqlMapping<Account>({
      key: 'id',
      tables: [{ table: 'accounts', columns: { id: col.integer('id'), email: col.text('email') } }],
    });

    it('the repairer that parked it posts repair-parked with the key id, side, store, code and constraint', async () => {
      const rx = await receiver();
      const oldDb = new Database(':memory:');
      const newDb = new Database(':memory:');
      oldDb.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
      newDb.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)');
      const old = sqliteStore<number, Account>(oldDb, mapping, { name: 'old accounts' });
      const neu = sqliteStore<number, Account>(newDb, mapping, { name: 'new accounts' });
      await old.setup();
      await neu.setup();
      const m: Migration<number, Account> = defineMigration({
        name: 'accounts',
        old,
        new: neu,
        control: memoryControlStore(),
        pollMs: 10,
        instanceExpiryMs: 200,
        repair: { intervalMs: 10, maxAttempts: 1 },
        ...hook(rx, ['repair-parked']),
      });
      cleanup.push(async () => {
        await m.close();
        oldDb.close();
        newDb.close();
      });
      await m.start();
      await m.advance({ reason: 'test: dual writes' });
      const repo = m.repository();
      await repo.put({ id: 1, email: 'taken@example.com' });
      await repo.put({ id: 2, email: 'taken@example.com' }); // old takes it; new refuses it, and its repair never can
      await rx.requests(1);
      await m.close();
      expect(rx.received).toHaveLength(1);
      expect(rx.received[0]?.json).toMatchObject({
        type: 'repair-parked',
        migration: 'accounts',
        keyId: 'n2',
        side: 'new',
        store: 'new accounts',
        code: 'UNIQUE_VIOLATION',
      });
      expect(rx.received[0]?.body).not.toContain('taken@example.com');
    });
  });
});
