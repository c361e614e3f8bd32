import { describe, expect, it } from 'vitest';
import {
  CHECKPOINTS,
  checkpointExists,
  deleteCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
  type BackfillFact,
  type Checkpoint,
  type SavedFindings,
} from '../../src/control/checkpoints.js';
import { memoryControlStore, MidairError, type GateCheck } from '../../src/index.js';
import { item, rig, tick, type Rig } from '../migration/setup.js';

const findings: SavedFindings = {
  rows: 10,
  matched: 8,
  young: [['["n3"]', true]],
  segments: { hashed: 2, differing: 1, rowCompared: 1 },
  candidates: [
    ['["n1"]', { kind: 'different', fields: ['name'] }],
    ['["n2"]', { kind: 'missing' }],
  ],
  crossed: [],
  untracked: 0,
};

async function failure(promise: Promise<unknown>): Promise<MidairError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MidairError);
  return error as MidairError;
}

describe('typed checkpoints', () => {
  it('every kind saves and loads as it was saved; a missing one is undefined', async () => {
    const control = memoryControlStore();
    const cases: (readonly [Checkpoint<unknown>, unknown])[] = [
      [CHECKPOINTS.backfillRun('nightly'), { pass: 'copy', after: '["n7"]', complete: false, phaseVersion: 3 }],
      [CHECKPOINTS.backfillControl('nightly'), { paused: true, maxRowsPerSecond: 500 }],
      [
        CHECKPOINTS.backfillRuns,
        { nightly: { name: 'nightly', complete: true, at: '2026-01-01T00:00:00.000Z', phaseVersion: 3 } },
      ],
      [CHECKPOINTS.verifyRun('verify'), { runId: 'r1', complete: false }],
      [CHECKPOINTS.verifyRange('verify', 2), { runId: 'r1', after: '["n9"]', done: true, findings }],
      [
        CHECKPOINTS.lastVerification,
        {
          at: '2026-01-01T00:00:00.000Z',
          mode: 'full',
          status: 'equal',
          phase: 'shadow-read',
          matched: 10,
          missing: 0,
          extra: 0,
          different: 0,
        },
      ],
      [CHECKPOINTS.lastVerification, null],
      [CHECKPOINTS.shadow('host:1:abc'), { phaseVersion: 4, comparisons: 12, mismatches: 1 }],
      [
        CHECKPOINTS.backfillProgress('nightly'),
        {
          rowsDone: 400,
          total: 1000,
          rowsPerSecond: 250.5,
          etaMs: 2400,
          active: true,
          at: '2026-01-01T00:00:00.000Z',
          phaseVersion: 3,
        },
      ],
    ];
    for (const [i, [checkpoint, value]] of cases.entries()) {
      const m = `m${i}`;
      expect(await loadCheckpoint(control, m, checkpoint)).toBeUndefined();
      await saveCheckpoint(control, m, checkpoint, value);
      expect(await loadCheckpoint(control, m, checkpoint)).toEqual(value);
      expect(await loadCheckpoint(control, 'other', checkpoint)).toBeUndefined();
    }
  });

  it('every name is spelt in one place: a job’s names derive from its own', () => {
    expect(CHECKPOINTS.backfillRun('nightly').name).toBe('nightly');
    expect(CHECKPOINTS.backfillControl('nightly').name).toBe('nightly:control');
    expect(CHECKPOINTS.backfillProgress('nightly').name).toBe('nightly:progress');
    expect(CHECKPOINTS.backfillRuns.name).toBe('backfill:runs');
    expect(CHECKPOINTS.verifyRun('verify').name).toBe('verify:run');
    expect(CHECKPOINTS.verifyRange('verify', 3).name).toBe('verify:range:3');
    expect(CHECKPOINTS.lastVerification.name).toBe('verify:last');
    expect(CHECKPOINTS.shadow('i-1').name).toBe('shadow:i-1');
  });

  it('a stored value that is not what its checkpoint holds fails with ENCODING naming the checkpoint and what is wrong, never the value', async () => {
    const control = memoryControlStore();
    await control.saveCheckpoint(
      'm',
      'shadow:i-1',
      JSON.stringify({ phaseVersion: 2, comparisons: 'secret-12', mismatches: 0 }),
    );
    const wrongType = await failure(loadCheckpoint(control, 'm', CHECKPOINTS.shadow('i-1')));
    expect(wrongType.code).toBe('ENCODING');
    expect(wrongType.message).toContain('checkpoint "shadow:i-1" of migration m does not hold shadow counters');
    expect(wrongType.message).toContain('comparisons');
    expect(wrongType.message).not.toContain('secret-12');
    expect(wrongType.details).toMatchObject({ operation: 'loadCheckpoint', field: 'shadow:i-1' });

    await control.saveCheckpoint('m', 'nightly', '{"pass":"copy","after":');
    const notJson = await failure(loadCheckpoint(control, 'm', CHECKPOINTS.backfillRun('nightly')));
    expect(notJson.message).toBe(
      'checkpoint "nightly" of migration m does not hold backfill run state: it is not JSON',
    );

    await control.saveCheckpoint('m', 'nightly', JSON.stringify({ pass: 'sideways', complete: false }));
    expect((await failure(loadCheckpoint(control, 'm', CHECKPOINTS.backfillRun('nightly')))).message).toMatch(
      /backfill run state: pass: /,
    );

    await control.saveCheckpoint(
      'm',
      'verify:range:0',
      JSON.stringify({ runId: 'r1', findings: { ...findings, candidates: [['["n1"]', { kind: 'odd' }]] } }),
    );
    expect((await failure(loadCheckpoint(control, 'm', CHECKPOINTS.verifyRange('verify', 0)))).message).toMatch(
      /verification range: findings\.candidates\.0\.1\.kind: /,
    );

    await control.saveCheckpoint('m', 'verify:last', '[]');
    expect((await failure(loadCheckpoint(control, 'm', CHECKPOINTS.lastVerification))).message).toMatch(
      /last verification result: the value: /,
    );
  });

  it('deleteCheckpoint removes one checkpoint; checkpointExists sees one whatever it holds', async () => {
    const control = memoryControlStore();
    await saveCheckpoint(control, 'm', CHECKPOINTS.shadow('a'), { phaseVersion: 1, comparisons: 1, mismatches: 0 });
    await saveCheckpoint(control, 'm', CHECKPOINTS.shadow('b'), { phaseVersion: 1, comparisons: 2, mismatches: 0 });
    await deleteCheckpoint(control, 'm', CHECKPOINTS.shadow('a'));
    expect(await loadCheckpoint(control, 'm', CHECKPOINTS.shadow('a'))).toBeUndefined();
    expect(await loadCheckpoint(control, 'm', CHECKPOINTS.shadow('b'))).toMatchObject({ comparisons: 2 });
    await control.saveCheckpoint('m', 'verify:run', 'not json');
    expect(await checkpointExists(control, 'm', CHECKPOINTS.verifyRun('verify'))).toBe(true);
    expect(await checkpointExists(control, 'm', CHECKPOINTS.shadow('a'))).toBe(false);
  });
});

describe('regressions', () => {
  const copied = async (r: Rig, n: number): Promise<void> => {
    for (let id = 1; id <= n; id++) await r.oldStore.put(item(id, 1));
    await r.goTo('dual-write');
  };
  const backfillGate = async (r: Rig): Promise<GateCheck | undefined> =>
    (await r.migration.gates('shadow-read')).find((g) => g.gate === 'backfill');
  const stoppedBeforeItsFact: BackfillFact = {
    name: 'nightly',
    complete: false,
    at: new Date().toISOString(),
    phaseVersion: 2,
  };

  it('regression: a backfill run under its own name was invisible to the gates unless its fact said complete (they read the checkpoint `backfill` alone)', async () => {
    const r = await rig();
    await copied(r, 10);
    expect((await r.migration.backfill({ name: 'nightly' })).status).toBe('complete');
    // The run stopped between its checkpoint (complete) and its fact for the gates (still started).
    await saveCheckpoint(r.control, 'items', CHECKPOINTS.backfillRuns, { nightly: stoppedBeforeItsFact });
    expect(await loadCheckpoint(r.control, 'items', CHECKPOINTS.backfillRun('nightly'))).toMatchObject({
      complete: true,
    });
    expect(await backfillGate(r)).toMatchObject({
      ok: true,
      detail: 'backfill complete (run nightly), no dead letters',
    });
    // No fact at all (lost, or written by a version without them): running it again, which copies nothing, records it.
    await saveCheckpoint(r.control, 'items', CHECKPOINTS.backfillRuns, {});
    expect(await backfillGate(r)).toMatchObject({ ok: false, detail: 'no backfill yet: run `midair backfill`' });
    expect(await r.migration.backfill({ name: 'nightly' })).toMatchObject({ status: 'complete', rowsRead: 0 });
    expect(await backfillGate(r)).toMatchObject({
      ok: true,
      detail: 'backfill complete (run nightly), no dead letters',
    });
    // A rollback to old-only still voids it.
    await r.migration.rollback({ reason: 'test: back to old-only', actor: 'ops' });
    await r.goTo('dual-write');
    expect(await backfillGate(r)).toMatchObject({ ok: false, detail: 'no backfill yet: run `midair backfill`' });
  });

  it('regression: an instance’s shadow:<instanceId> row was never deleted; a clean close, an eviction and a facts reset delete it, and the gate still counts every live instance', async () => {
    const r = await rig();
    for (let id = 1; id <= 5; id++) await r.oldStore.put(item(id, 1));
    await r.goTo('dual-write');
    expect((await r.migration.backfill()).status).toBe('complete');
    await r.goTo('shadow-read');
    const other = await r.instance();
    const shadowOf = async (m: { instanceId: string }): Promise<unknown> =>
      loadCheckpoint(r.control, 'items', CHECKPOINTS.shadow(m.instanceId));
    for (const m of [r.migration, other]) {
      for (let id = 1; id <= 5; id++) await m.repository().get(id);
      await m.settle();
    }
    const version = r.migration.state.version;
    // Each instance saves its counters with a refresh, at most once a second.
    for (let waited = 0; waited < 5000 && (await r.migration.facts()).shadow.comparisons < 10; waited += 50)
      await tick(50);
    expect(await shadowOf(other)).toEqual({ phaseVersion: version, comparisons: 5, mismatches: 0 });
    expect((await r.migration.facts()).shadow).toEqual({ comparisons: 10, mismatches: 0 });
    // A clean close leaves the fleet: its counts no longer count (as before), and its row goes.
    await other.close();
    expect(await shadowOf(other)).toBeUndefined();
    expect((await r.migration.facts()).shadow).toEqual({ comparisons: 5, mismatches: 0 });
    // An eviction (`midair fleet evict` removes the instance) deletes the row as well.
    await r.control.heartbeat({
      migration: 'items',
      instanceId: 'gone',
      host: 'h',
      phaseVersion: version,
      inFlightWrites: 0,
    });
    await saveCheckpoint(r.control, 'items', CHECKPOINTS.shadow('gone'), {
      phaseVersion: version,
      comparisons: 7,
      mismatches: 0,
    });
    expect((await r.migration.facts()).shadow).toEqual({ comparisons: 12, mismatches: 0 });
    await r.control.removeInstance('items', 'gone');
    expect(await shadowOf({ instanceId: 'gone' })).toBeUndefined();
    expect((await r.migration.facts()).shadow).toEqual({ comparisons: 5, mismatches: 0 });
    // Back in old-only the counts no longer hold: deleted, not kept as zeros.
    expect(await shadowOf(r.migration)).toBeDefined();
    while (r.migration.state.phase !== 'old-only')
      await r.migration.rollback({ reason: 'test: back to old-only', actor: 'ops' });
    expect(await shadowOf(r.migration)).toBeUndefined();
  });
});
