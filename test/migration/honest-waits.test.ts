import { describe, expect, it } from 'vitest';
import { MidairError, type WaitNotice } from '../../src/index.js';
import { rig } from './setup.js';

async function refusal(promise: Promise<unknown>): Promise<MidairError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MidairError);
  return error as MidairError;
}

describe('adoption 9: honest output — waits say why and for how long; a blank reason is refused', () => {
  it('regression: a phase change waiting for an instance behind said nothing; it names the instance and when it gives up, once', async () => {
    const r = await rig({ ackTimeoutMs: 3000 });
    await r.goTo('dual-write');
    const version = r.migration.state.version;
    const lagging = { migration: 'items', instanceId: 'lagging', host: 'h2', inFlightWrites: 0 };
    await r.control.heartbeat({ ...lagging, phaseVersion: version - 1 });
    const heard: WaitNotice[] = [];
    const acks: Promise<void>[] = [];
    r.migration.on('waiting', (n) => {
      heard.push(n);
      acks.push(r.control.heartbeat({ ...lagging, phaseVersion: version })); // it catches up once told about
    });
    const before = Date.now();
    await r.migration.advance({ reason: 'test: to shadow-read' });
    const after = Date.now();
    await Promise.all(acks);
    expect(heard).toHaveLength(1);
    const [n] = heard as [WaitNotice];
    expect(n).toMatchObject({ on: 'instance', holder: 'lagging' });
    expect(n.until.getTime()).toBeGreaterThanOrEqual(before + 3000);
    expect(n.until.getTime()).toBeLessThanOrEqual(after + 3000);
    expect(n.message).toContain(`waiting for instance lagging (host h2, at phase version ${version - 1}`);
    expect(n.message).toContain(`to acknowledge phase version ${version}; giving up at ${n.until.toISOString()}`);
    expect(r.migration.state.phase).toBe('shadow-read');
  });

  it('regression: a reason of spaces was accepted; every operator call refuses it with nothing changed', async () => {
    const r = await rig();
    await r.goTo('dual-write');
    const audit = await r.control.auditLog('items', { limit: 100 });
    const state = await r.control.getState('items');
    for (const call of [
      () => r.migration.advance({ reason: '   ' }),
      () => r.migration.advance({ reason: '\t', force: true, gated: true }),
      () => r.migration.rollback({ reason: ' ' }),
      () => r.migration.setStrict(true, { reason: '  ' }),
      () => r.migration.setRamp(20, { reason: '' }),
      () => r.migration.acceptDeadLetters({ reason: '   ', force: true }),
    ]) {
      const e = await refusal(call());
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(/reason/);
    }
    expect(await r.control.auditLog('items', { limit: 100 })).toEqual(audit);
    expect(await r.control.getState('items')).toEqual(state);
  });
});
