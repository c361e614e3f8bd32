import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MidairError, type ControlStore, type PhaseSetting, type StoreCallFigures } from '../../src/index.js';
import { INITIAL_SETTING, type AuditInput } from '../../src/adapter.js';
import { availability } from '../support/backends.js';
import {
  manualClock,
  openControlBackend,
  type ControlBackend,
  type ControlKind,
  type ManualClock,
} from './control-backends.js';
import { repairQueueConformance } from './repair-queue.suite.js';
const audit = (reason: string, action: AuditInput['action'] = 'advance', forced = false): AuditInput => ({
  actor: 'ops@host',
  action,
  reason,
  forced,
});
const setting = (s: PhaseSetting): PhaseSetting => ({
  phase: s.phase,
  rampPercent: s.rampPercent,
  writesPaused: s.writesPaused,
  strict: s.strict,
});

/** Keys as `keyId()` spells them, chosen to trip up collations, encodings and index limits. */
const AWKWARD_KEYS = [
  '["n1","sé😀"]',
  '["sA"]',
  '["sa"]',
  '["se"]',
  '["sé"]',
  `s${'ü😀x'.repeat(200)}`, // 601 code points, 801 UTF-16 units, 1,401 UTF-8 bytes
  'n9007199254740993',
];

/**
 * The one suite every control store passes: memory, SQLite, PostgreSQL and
 * MySQL/MariaDB. Each test works in tables of its own (a fresh prefix).
 */
export function controlConformance(kind: ControlKind): void {
  const { run, reason } = availability(kind);
  describe.skipIf(!run)(`${kind} control store${run ? '' : ` — skipped: ${reason}`}`, () => {
    let backend: ControlBackend | undefined;
    const get = (): ControlBackend => {
      if (!backend) throw new Error('backend not open');
      return backend;
    };
    /** A store over fresh, set-up tables, their prefix, and the clock the store runs on (time moves only when a test advances it). */
    const fresh = async (): Promise<{ control: ControlStore; prefix: string; clock: ManualClock }> => {
      const prefix = get().uniquePrefix();
      const clock = manualClock();
      const control = get().store(prefix, { now: clock.now });
      await control.setup();
      return { control, prefix, clock };
    };
    beforeAll(async () => {
      backend = await openControlBackend(kind);
    });
    afterAll(async () => {
      await backend?.close();
    });

    describe('phase state and audit log', () => {
      it('setup is idempotent', async () => {
        const { control } = await fresh();
        await control.setup();
        await control.setup();
        expect((await control.init('m', 'ops')).version).toBe(1);
      });

      it('init creates old-only at version 1 with one init entry, and is idempotent', async () => {
        const { control } = await fresh();
        expect(await control.getState('m')).toBeUndefined();
        const state = await control.init('m', 'alice');
        expect(state).toMatchObject({ migration: 'm', ...INITIAL_SETTING, version: 1 });
        expect(state.changedAt).toBeInstanceOf(Date);
        expect(await control.getState('m')).toEqual(state);
        const again = await control.init('m', 'bob');
        expect(again).toEqual(state);
        const log = await control.auditLog('m');
        expect(log).toHaveLength(1);
        expect(log[0]).toMatchObject({
          migration: 'm',
          actor: 'alice',
          action: 'init',
          from: undefined,
          to: INITIAL_SETTING,
          version: 1,
          forced: false,
        });
        expect(log[0]?.at).toEqual(state.changedAt);
      });

      it('concurrent inits create the state once', async () => {
        const { control } = await fresh();
        const states = await Promise.all(Array.from({ length: 6 }, async (_, i) => control.init('m', `actor-${i}`)));
        for (const s of states) expect(s).toEqual(states[0]);
        expect(await control.auditLog('m')).toHaveLength(1);
      });

      it('compareAndSet bumps the version and audits who, what, from, to, why and whether forced', async () => {
        const { control } = await fresh();
        const initial = await control.init('m', 'alice');
        const next: PhaseSetting = { phase: 'dual-write', rampPercent: 12.5, writesPaused: true, strict: true };
        const state = await control.compareAndSet('m', initial.version, next, {
          actor: 'bob',
          action: 'set',
          reason: 'start dual writes ✓',
          forced: true,
        });
        expect(state).toMatchObject({ migration: 'm', ...next, version: 2 });
        expect(await control.getState('m')).toEqual(state);
        const [entry, init] = await control.auditLog('m');
        expect(entry).toMatchObject({
          migration: 'm',
          actor: 'bob',
          action: 'set',
          reason: 'start dual writes ✓',
          forced: true,
          version: 2,
        });
        expect(entry?.from && setting(entry.from)).toEqual(setting(initial));
        expect(entry?.to).toEqual(next);
        expect(entry?.at).toEqual(state?.changedAt);
        expect(entry?.seq).toBeGreaterThan(init?.seq ?? Infinity);
      });

      it('compareAndSet with a stale version or an unknown migration changes nothing and writes no entry', async () => {
        const { control } = await fresh();
        const v1 = await control.init('m', 'ops');
        const v2 = await control.compareAndSet('m', 1, { ...setting(v1), phase: 'dual-write' }, audit('one'));
        expect(v2?.version).toBe(2);
        expect(
          await control.compareAndSet('m', 1, { ...setting(v1), phase: 'shadow-read' }, audit('stale')),
        ).toBeUndefined();
        expect(
          await control.compareAndSet('m', 3, { ...setting(v1), phase: 'shadow-read' }, audit('ahead')),
        ).toBeUndefined();
        expect(await control.getState('m')).toEqual(v2);
        expect((await control.auditLog('m')).map((e) => e.reason)).toEqual(['one', 'migration created']);
        expect(await control.compareAndSet('other', 1, INITIAL_SETTING, audit('nothing there'))).toBeUndefined();
        expect(await control.getState('other')).toBeUndefined();
        expect(await control.auditLog('other')).toEqual([]);
      });

      it('of ten concurrent compareAndSets from one version, exactly one wins', async () => {
        const { control } = await fresh();
        await control.init('m', 'ops');
        const phases = ['dual-write', 'shadow-read'] as const;
        const results = await Promise.all(
          Array.from({ length: 10 }, async (_, i) =>
            control.compareAndSet(
              'm',
              1,
              { ...INITIAL_SETTING, phase: phases[i % 2] ?? 'dual-write', rampPercent: i },
              audit(`attempt ${i}`),
            ),
          ),
        );
        const winners = results.filter((r) => r !== undefined);
        expect(winners).toHaveLength(1);
        const state = await control.getState('m');
        expect(state).toEqual(winners[0]);
        expect(state?.version).toBe(2);
        const log = await control.auditLog('m');
        expect(log).toHaveLength(2);
        expect(log[0]?.reason).toBe(`attempt ${state?.rampPercent}`);
      });

      it('the audit log is newest first, per migration, and honours a limit', async () => {
        const { control } = await fresh();
        let state = await control.init('m', 'ops');
        await control.init('other', 'ops');
        const steps = [
          { next: { ...setting(state), phase: 'dual-write' }, action: 'advance' },
          { next: { ...setting(state), phase: 'old-only' }, action: 'halt' },
          { next: { ...setting(state), writesPaused: true }, action: 'pause' },
        ] as const;
        for (const { next, action } of steps) {
          const changed = await control.compareAndSet('m', state.version, next, audit(action, action));
          if (!changed) throw new Error('compareAndSet lost with no contender');
          state = changed;
        }
        const log = await control.auditLog('m');
        expect(log.map((e) => [e.action, e.version])).toEqual([
          ['pause', 4],
          ['halt', 3],
          ['advance', 2],
          ['init', 1],
        ]);
        expect(log.every((e) => e.migration === 'm')).toBe(true);
        expect(log[0]?.from && setting(log[0].from)).toEqual(steps[1].next);
        expect((await control.auditLog('m', { limit: 2 })).map((e) => e.version)).toEqual([4, 3]);
        expect(await control.auditLog('m', { limit: 0 })).toEqual([]);
        expect(await control.auditLog('m', { limit: 50 })).toEqual(log);
        expect(await control.auditLog('other')).toHaveLength(1);
      });
    });

    describe('instances', () => {
      it('a heartbeat upserts and keeps startedAt; instances(since) leaves out stale ones; removeInstance removes', async () => {
        const { control, clock } = await fresh();
        await control.heartbeat({
          migration: 'm',
          instanceId: 'a',
          host: 'host-a',
          phaseVersion: 1,
          inFlightWrites: 3,
        });
        const [first] = await control.instances('m', new Date(0));
        expect(first?.lastSeen.getTime()).toBe(clock.now());
        clock.advance(15);
        await control.heartbeat({
          migration: 'm',
          instanceId: 'a',
          host: 'host-a2',
          phaseVersion: 2,
          inFlightWrites: 0,
        });
        const [second] = await control.instances('m', new Date(0));
        expect(second).toMatchObject({
          migration: 'm',
          instanceId: 'a',
          host: 'host-a2',
          phaseVersion: 2,
          inFlightWrites: 0,
        });
        expect(second?.startedAt).toEqual(first?.startedAt);
        expect(second?.lastSeen.getTime()).toBe((first?.lastSeen.getTime() ?? NaN) + 15);

        clock.advance(15);
        const cutoff = new Date(clock.now());
        await control.heartbeat({
          migration: 'm',
          instanceId: 'b',
          host: 'host-b',
          phaseVersion: 2,
          inFlightWrites: 1,
        });
        await control.heartbeat({
          migration: 'other',
          instanceId: 'c',
          host: 'host-c',
          phaseVersion: 1,
          inFlightWrites: 0,
        });
        expect((await control.instances('m', cutoff)).map((i) => i.instanceId)).toEqual(['b']);
        expect((await control.instances('m', new Date(0))).map((i) => i.instanceId).sort()).toEqual(['a', 'b']);
        const [b] = await control.instances('m', cutoff);
        expect(await control.instances('m', b?.lastSeen ?? new Date(0))).toHaveLength(1); // at or after
        await control.removeInstance('m', 'a');
        await control.removeInstance('m', 'never-seen');
        expect((await control.instances('m', new Date(0))).map((i) => i.instanceId)).toEqual(['b']);
        expect((await control.instances('other', new Date(0))).map((i) => i.instanceId)).toEqual(['c']);
      });

      it('a heartbeat carries the served writes’ latency (p99 and count) through to instances(), and one without clears it', async () => {
        const { control, clock } = await fresh();
        const base = { migration: 'm', host: 'h', phaseVersion: 2, inFlightWrites: 0 };
        await control.heartbeat({ ...base, instanceId: 'a', servedWrites: { p99Ms: 1.375, count: 512 } });
        await control.heartbeat({ ...base, instanceId: 'b' });
        const byId = async (): Promise<Map<string, unknown>> =>
          new Map((await control.instances('m', new Date(0))).map((i) => [i.instanceId, i.servedWrites]));
        expect(await byId()).toEqual(
          new Map<string, unknown>([
            ['a', { p99Ms: 1.375, count: 512 }],
            ['b', undefined],
          ]),
        );
        clock.advance(250);
        // The next heartbeat replaces the report; one with nothing to report (no writes lately) leaves none.
        await control.heartbeat({ ...base, instanceId: 'b', servedWrites: { p99Ms: 0.0625, count: 60 } });
        await control.heartbeat({ ...base, instanceId: 'a' });
        expect(await byId()).toEqual(
          new Map<string, unknown>([
            ['a', undefined],
            ['b', { p99Ms: 0.0625, count: 60 }],
          ]),
        );
      });

      it('a heartbeat carries the instance’s store-call figures (calls, errors, histogram of reads and writes per store) through to instances(), and one without clears them', async () => {
        const { control, clock } = await fresh();
        const base = { migration: 'm', host: 'h', phaseVersion: 2, inFlightWrites: 0 };
        const none = { calls: 0, errors: 0, buckets: [] };
        const many: [number, number][] = [
          [0, 7],
          [101, 999_999_990],
          [496, 10],
        ];
        const figures = {
          phaseVersion: 3,
          old: {
            reads: { calls: 1_000_000_007, errors: 3, buckets: many },
            writes: { calls: 2, errors: 0, buckets: [[120, 2]] },
          },
          new: { reads: none, writes: none },
        } satisfies StoreCallFigures;
        await control.heartbeat({ ...base, instanceId: 'a', storeCalls: figures });
        await control.heartbeat({ ...base, instanceId: 'b' });
        const byId = async (): Promise<Map<string, unknown>> =>
          new Map((await control.instances('m', new Date(0))).map((i) => [i.instanceId, i.storeCalls]));
        expect(await byId()).toEqual(
          new Map<string, unknown>([
            ['a', figures],
            ['b', undefined],
          ]),
        );
        clock.advance(250);
        const next = {
          ...figures,
          phaseVersion: 4,
          new: { reads: none, writes: { calls: 2, errors: 0, buckets: [[60, 2]] } },
        } satisfies StoreCallFigures;
        await control.heartbeat({ ...base, instanceId: 'a', storeCalls: next });
        await control.heartbeat({ ...base, instanceId: 'b', storeCalls: figures });
        expect(await byId()).toEqual(
          new Map<string, unknown>([
            ['a', next],
            ['b', figures],
          ]),
        );
        await control.heartbeat({ ...base, instanceId: 'a' });
        expect((await byId()).get('a')).toBeUndefined();
        // Figures that could not be read back are refused, and the heartbeat writes nothing.
        const unordered = {
          ...figures,
          new: {
            reads: none,
            writes: {
              calls: 2,
              errors: 0,
              buckets: [
                [9, 1],
                [3, 1],
              ],
            },
          },
        } satisfies StoreCallFigures;
        await expect(control.heartbeat({ ...base, instanceId: 'b', storeCalls: unordered })).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining('storeCalls') as string,
        });
        expect((await byId()).get('b')).toEqual(figures);
      });

      it('regression: removeInstance left the instance’s shadow counters behind for good; it removes them with the heartbeat, and only them', async () => {
        const { control } = await fresh();
        for (const id of ['a', 'b']) {
          await control.heartbeat({ migration: 'm', instanceId: id, host: 'h', phaseVersion: 2, inFlightWrites: 0 });
          await control.saveCheckpoint('m', `shadow:${id}`, '{"phaseVersion":2,"comparisons":5,"mismatches":0}');
        }
        await control.saveCheckpoint('other', 'shadow:a', '{"phaseVersion":1,"comparisons":1,"mismatches":0}');
        await control.saveCheckpoint('m', 'a', '{"complete":true}');
        await control.removeInstance('m', 'a');
        expect(await control.loadCheckpoint('m', 'shadow:a')).toBeUndefined();
        expect(await control.loadCheckpoint('m', 'shadow:b')).toBe('{"phaseVersion":2,"comparisons":5,"mismatches":0}');
        expect(await control.loadCheckpoint('other', 'shadow:a')).toBe(
          '{"phaseVersion":1,"comparisons":1,"mismatches":0}',
        );
        expect(await control.loadCheckpoint('m', 'a')).toBe('{"complete":true}');
        expect((await control.instances('m', new Date(0))).map((i) => i.instanceId)).toEqual(['b']);
        // An instance that never saved counters, or was never seen: nothing else changes.
        await control.removeInstance('m', 'never-seen');
        expect(await control.loadCheckpoint('m', 'shadow:b')).toBeDefined();
      });
    });

    describe('migrations', () => {
      it('lists every migration, and removes one with everything it recorded, leaving the others as they were', async () => {
        const { control } = await fresh();
        expect(await control.migrations()).toEqual([]);
        for (const m of ['orders', 'users']) {
          await control.init(m, 'ops@host');
          await control.appendAudit(m, audit('note', 'evict'));
          await control.heartbeat({ migration: m, instanceId: 'a', host: 'h', phaseVersion: 1, inFlightWrites: 0 });
          await control.enqueueRepairs(m, 'old-to-new', [{ keyId: 'n1', reason: 'TIMEOUT' }]);
          await control.addDeadLetters(m, [{ keyId: 'n2', reason: 'TRANSFORM' }]);
          await control.createRanges(m, 'backfill', [{}]);
          await control.saveCheckpoint(m, 'backfill', '{"after":"n9"}');
        }
        expect((await control.migrations()).map((s) => [s.migration, s.phase, s.version])).toEqual([
          ['orders', 'old-only', 1],
          ['users', 'old-only', 1],
        ]);
        await control.removeMigration('orders');
        expect((await control.migrations()).map((s) => s.migration)).toEqual(['users']);
        expect(await control.getState('orders')).toBeUndefined();
        expect(await control.auditLog('orders')).toEqual([]);
        expect(await control.instances('orders', new Date(0))).toEqual([]);
        expect(await control.repairDepth('orders')).toBe(0);
        expect(await control.deadLetterCount('orders')).toBe(0);
        expect(await control.ranges('orders', 'backfill')).toEqual([]);
        expect(await control.loadCheckpoint('orders', 'backfill')).toBeUndefined();
        // The other migration keeps all of it.
        expect(await control.auditLog('users')).toHaveLength(2);
        expect(await control.instances('users', new Date(0))).toHaveLength(1);
        expect(await control.repairDepth('users')).toBe(1);
        expect(await control.deadLetterCount('users')).toBe(1);
        expect(await control.ranges('users', 'backfill')).toHaveLength(1);
        expect(await control.loadCheckpoint('users', 'backfill')).toBe('{"after":"n9"}');
        // Removed means gone: the name starts again from init.
        expect((await control.init('orders', 'ops@host')).version).toBe(1);
      });
    });

    describe('backfill ranges', () => {
      it('are created once, leased one worker at a time with a fencing token, taken over when a lease expires, and completed', async () => {
        // regression: this test slept past a 30 ms lease and failed when the machine was loaded; leases now run on the store's clock.
        const { control, clock } = await fresh();
        const ranges = [{ hi: 'n100' }, { lo: 'n100', hi: '["n2","sé😀"]' }, { lo: '["n2","sé😀"]' }];
        expect(await control.createRanges('m', 'backfill', ranges)).toBe(true);
        expect(await control.createRanges('m', 'backfill', [{}])).toBe(false);
        const listed = await control.ranges('m', 'backfill');
        expect(listed.map((r) => [r.rangeId, r.lo, r.hi, r.complete])).toEqual([
          [0, undefined, 'n100', false],
          [1, 'n100', '["n2","sé😀"]', false],
          [2, '["n2","sé😀"]', undefined, false],
        ]);
        const a = await control.claimRange('m', 'backfill', 'worker-a', 60_000);
        const b = await control.claimRange('m', 'backfill', 'worker-b', 60_000);
        const c = await control.claimRange('m', 'backfill', 'worker-c', 30);
        expect([a?.rangeId, b?.rangeId, c?.rangeId]).toEqual([0, 1, 2]);
        expect(a?.owner).toBe('worker-a');
        expect(await control.claimRange('m', 'backfill', 'worker-d', 60_000)).toBeUndefined(); // all leased
        expect(await control.renewRange('m', 'backfill', 0, a?.token ?? -1, 60_000, 'n42')).toBe(true);
        expect(await control.renewRange('m', 'backfill', 0, (a?.token ?? 0) + 1, 60_000, 'n43')).toBe(false);
        expect((await control.ranges('m', 'backfill'))[0]?.after).toBe('n42');
        clock.advance(30); // c's lease ends at this instant and still holds
        expect(await control.claimRange('m', 'backfill', 'worker-d', 60_000)).toBeUndefined();
        clock.advance(1); // c's lease has run out
        const d = await control.claimRange('m', 'backfill', 'worker-d', 60_000);
        expect(d?.rangeId).toBe(2);
        expect(d?.leasedUntil.getTime()).toBe(clock.now() + 60_000);
        expect(d?.token).not.toBe(c?.token);
        expect(await control.renewRange('m', 'backfill', 2, c?.token ?? -1, 60_000)).toBe(false); // fenced: c lost it
        expect(await control.completeRange('m', 'backfill', 2, c?.token ?? -1)).toBe(false);
        expect(await control.completeRange('m', 'backfill', 2, d?.token ?? -1)).toBe(true);
        expect(await control.completeRange('m', 'backfill', 2, d?.token ?? -1)).toBe(false);
        expect((await control.ranges('m', 'backfill')).map((r) => r.complete)).toEqual([false, false, true]);
        expect(await control.ranges('m', 'other')).toEqual([]);
        await control.dropRanges('m', 'backfill');
        expect(await control.ranges('m', 'backfill')).toEqual([]);
        expect(await control.createRanges('m', 'backfill', [{}])).toBe(true);
      });

      it('claim a named range with a token that only grows (above a fence given), and count rows only under the token that holds it', async () => {
        const { control, clock } = await fresh();
        await control.createRanges('m', 'bf', [{ hi: 'n10' }, { lo: 'n10' }]);
        const first = await control.claimRange('m', 'bf', 'worker-a', 30, { rangeId: 1 });
        expect(first?.rangeId).toBe(1);
        expect(first?.rows).toBe(0);
        expect(await control.claimRange('m', 'bf', 'worker-b', 30, { rangeId: 1 })).toBeUndefined(); // held
        expect(await control.renewRange('m', 'bf', 1, first?.token ?? -1, 30, 'n20', 10)).toBe(true);
        clock.advance(31);
        // Taken over above a fence an earlier holder's writes may carry.
        const second = await control.claimRange('m', 'bf', 'worker-b', 30, { rangeId: 1, above: 1000 });
        expect(second?.token).toBe(1001);
        expect(second?.after).toBe('n20');
        expect(second?.rows).toBe(10);
        // The old holder's last step is not counted: its renewal and its completion no longer hold the range.
        expect(await control.renewRange('m', 'bf', 1, first?.token ?? -1, 30, 'n30', 10)).toBe(false);
        expect(await control.completeRange('m', 'bf', 1, first?.token ?? -1, 10)).toBe(false);
        expect(await control.renewRange('m', 'bf', 1, second?.token ?? -1, 30, 'n25', 5)).toBe(true);
        clock.advance(31);
        const third = await control.claimRange('m', 'bf', 'worker-c', 30, { rangeId: 1 });
        expect(third?.token).toBe(1002); // one above the last, with no fence given
        expect(await control.completeRange('m', 'bf', 1, third?.token ?? -1, 7)).toBe(true);
        const ranges = await control.ranges('m', 'bf');
        expect(ranges.map((r) => [r.rangeId, r.complete, r.rows])).toEqual([
          [0, false, 0],
          [1, true, 22],
        ]);
        // Range 0 was never named: a claim of any range finds it.
        expect((await control.claimRange('m', 'bf', 'worker-d', 30))?.rangeId).toBe(0);
      });
    });

    describe('dead letters', () => {
      it('records keys and codes, counts repeats, lists oldest first, and removes what was retried', async () => {
        const { control, clock } = await fresh();
        await control.addDeadLetters('m', [{ keyId: 'n1', reason: 'TRANSFORM' }]);
        clock.advance(5);
        await control.addDeadLetters('m', [{ keyId: '["n2","sé😀"]', reason: 'ENCODING' }]);
        clock.advance(5);
        await control.addDeadLetters('m', [{ keyId: 'n1', reason: 'TRANSFORM_AGAIN' }]);
        await control.addDeadLetters('other', [{ keyId: 'n1', reason: 'X' }]);
        expect(await control.deadLetterCount('m')).toBe(2);
        const list = await control.deadLetters('m', 10);
        expect(list.map((d) => [d.keyId, d.reason, d.attempts])).toEqual([
          ['n1', 'TRANSFORM_AGAIN', 2],
          ['["n2","sé😀"]', 'ENCODING', 1],
        ]);
        expect(list[0]?.at).toBeInstanceOf(Date);
        expect(await control.deadLetters('m', 1)).toHaveLength(1);
        expect(await control.removeDeadLetters('m', ['n1', 'n1', 'absent'])).toBe(1);
        expect(await control.deadLetterCount('m')).toBe(1);
        expect(await control.deadLetterCount('other')).toBe(1);
        await control.addDeadLetters('m', []);
      });
    });

    describe('repair queue', () => {
      it('enqueue, re-enqueue gives a new seq, completing an old seq keeps the entry, the current seq removes it', async () => {
        const { control, clock } = await fresh();
        await control.enqueueRepairs('m', 'old-to-new', [
          { keyId: 'n1', reason: 'ECONNRESET' },
          { keyId: 'n2', reason: 'TIMEOUT' },
        ]);
        const [one] = await control.peekRepairs('m', 'old-to-new', 1);
        expect(one).toMatchObject({ migration: 'm', direction: 'old-to-new', attempts: 0 });
        const first = one?.seq ?? -1;
        await control.failRepair('m', 'old-to-new', 'n1', first);
        clock.advance(5);
        await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'n1', reason: 'COMPENSATION' }]);
        const n1 = (await control.peekRepairs('m', 'old-to-new', 10)).find((e) => e.keyId === 'n1');
        expect(n1).toMatchObject({ reason: 'COMPENSATION', attempts: 1 });
        const second = n1?.seq ?? -1;
        expect(second).not.toBe(first);
        const before = (await control.peekRepairs('m', 'old-to-new', 10)).find((e) => e.keyId === 'n2');
        expect(before?.enqueuedAt).toBeInstanceOf(Date);

        expect(await control.completeRepair('m', 'old-to-new', 'n1', first)).toBe(false);
        expect(await control.pendingRepairs('m', 'old-to-new', ['n1'])).toEqual(new Set(['n1']));
        expect(await control.completeRepair('m', 'old-to-new', 'n1', second)).toBe(true);
        expect(await control.completeRepair('m', 'old-to-new', 'n1', second)).toBe(false);
        expect(await control.pendingRepairs('m', 'old-to-new', ['n1', 'n2'])).toEqual(new Set(['n2']));
        expect(await control.repairDepth('m', 'old-to-new')).toBe(1);
      });

      it('regression: an entry completed and enqueued again is not removed by the old seq (ABA)', async () => {
        const { control } = await fresh();
        await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'A' }]);
        const [before] = await control.peekRepairs('m', 'old-to-new', 1);
        expect(await control.completeRepair('m', 'old-to-new', 'k', before?.seq ?? -1)).toBe(true);
        await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'B' }]);
        // A slow repairer that peeked the first entry must not complete the second.
        expect(await control.completeRepair('m', 'old-to-new', 'k', before?.seq ?? -1)).toBe(false);
        expect(await control.pendingRepairs('m', 'old-to-new', ['k'])).toEqual(new Set(['k']));
      });

      it('re-enqueueing keeps enqueuedAt and takes the last reason', async () => {
        const { control, clock } = await fresh();
        await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'k', reason: 'A' }]);
        const [first] = await control.peekRepairs('m', 'new-to-old', 1);
        clock.advance(10);
        await control.enqueueRepairs('m', 'new-to-old', [
          { keyId: 'k', reason: 'B' },
          { keyId: 'k', reason: 'C' },
        ]);
        const [entry] = await control.peekRepairs('m', 'new-to-old', 1);
        expect(entry).toMatchObject({ keyId: 'k', reason: 'C', attempts: 0 });
        expect(entry?.seq).not.toBe(first?.seq);
        expect(entry?.enqueuedAt).toEqual(first?.enqueuedAt);
        await control.enqueueRepairs('m', 'new-to-old', []);
        expect(await control.repairDepth('m')).toBe(1);
      });

      it('failRepair counts attempts only for the current seq', async () => {
        const { control } = await fresh();
        await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
        const seq = (await control.peekRepairs('m', 'old-to-new', 1))[0]?.seq ?? -1;
        await control.failRepair('m', 'old-to-new', 'k', seq);
        await control.failRepair('m', 'old-to-new', 'k', seq);
        await control.failRepair('m', 'old-to-new', 'k', seq + 1);
        await control.failRepair('m', 'new-to-old', 'k', seq);
        await control.failRepair('m', 'old-to-new', 'absent', seq);
        const [entry] = await control.peekRepairs('m', 'old-to-new', 5);
        expect(entry).toMatchObject({ keyId: 'k', seq, attempts: 2 });
        expect(await control.repairDepth('m')).toBe(1);
      });

      it('pendingRepairs returns exactly the queued subset; directions and migrations are independent', async () => {
        const { control } = await fresh();
        await control.enqueueRepairs(
          'm',
          'old-to-new',
          ['n1', 'n3', 'n5'].map((keyId) => ({ keyId, reason: 'TIMEOUT' })),
        );
        await control.enqueueRepairs('m', 'new-to-old', [
          { keyId: 'n1', reason: 'TIMEOUT' },
          { keyId: 'n2', reason: 'TIMEOUT' },
        ]);
        await control.enqueueRepairs('other', 'old-to-new', [{ keyId: 'n2', reason: 'TIMEOUT' }]);
        expect(await control.pendingRepairs('m', 'old-to-new', ['n1', 'n2', 'n3', 'n4', 'n1'])).toEqual(
          new Set(['n1', 'n3']),
        );
        expect(await control.pendingRepairs('m', 'new-to-old', ['n1', 'n2', 'n3'])).toEqual(new Set(['n1', 'n2']));
        expect(await control.pendingRepairs('m', 'old-to-new', [])).toEqual(new Set());
        expect(await control.repairDepth('m')).toBe(5);
        expect(await control.repairDepth('m', 'old-to-new')).toBe(3);
        expect(await control.repairDepth('m', 'new-to-old')).toBe(2);
        expect(await control.repairDepth('other')).toBe(1);
        expect(await control.repairDepth('none')).toBe(0);

        // Same key, two directions: two entries with their own seq.
        await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'n1', reason: 'TIMEOUT' }]);
        const seqOf = async (direction: 'old-to-new' | 'new-to-old'): Promise<number | undefined> =>
          (await control.peekRepairs('m', direction, 10)).find((e) => e.keyId === 'n1')?.seq;
        const oldToNew = (await seqOf('old-to-new')) ?? -1;
        expect(await seqOf('new-to-old')).toBeDefined();
        expect(await control.completeRepair('m', 'old-to-new', 'n1', oldToNew)).toBe(true);
        expect(await control.pendingRepairs('m', 'new-to-old', ['n1'])).toEqual(new Set(['n1']));
        expect(await control.repairDepth('m', 'old-to-new')).toBe(2);
      });

      it('peekRepairs is oldest first and stops at the limit', async () => {
        const { control, clock } = await fresh();
        for (const keyId of ['c', 'a', 'b']) {
          await control.enqueueRepairs('m', 'old-to-new', [{ keyId, reason: 'TIMEOUT' }]);
          clock.advance(5);
        }
        await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'c', reason: 'AGAIN' }]);
        expect((await control.peekRepairs('m', 'old-to-new', 10)).map((e) => e.keyId)).toEqual(['c', 'a', 'b']);
        expect((await control.peekRepairs('m', 'old-to-new', 2)).map((e) => e.keyId)).toEqual(['c', 'a']);
        expect(await control.peekRepairs('m', 'old-to-new', 0)).toEqual([]);
        expect(await control.peekRepairs('m', 'new-to-old', 10)).toEqual([]);
        expect(await control.repairDepth('m')).toBe(3);
      });

      it('round-trips long and unicode key ids exactly, keeping keys apart that differ only in case or accents', async () => {
        const { control } = await fresh();
        await control.enqueueRepairs(
          'm',
          'old-to-new',
          AWKWARD_KEYS.map((keyId) => ({ keyId, reason: 'TIMEOUT' })),
        );
        const peeked = await control.peekRepairs('m', 'old-to-new', 100);
        expect(peeked.map((e) => e.keyId).sort()).toEqual([...AWKWARD_KEYS].sort());
        expect(await control.pendingRepairs('m', 'old-to-new', [...AWKWARD_KEYS, '["SA"]', '["n1","se😀"]'])).toEqual(
          new Set(AWKWARD_KEYS),
        );
        for (const e of peeked) expect(await control.completeRepair('m', 'old-to-new', e.keyId, e.seq)).toBe(true);
        expect(await control.repairDepth('m')).toBe(0);
      });

      it('enqueues a large batch in one call', async () => {
        const { control } = await fresh();
        const keys = Array.from({ length: 1500 }, (_, i) => `n${i}`);
        await control.enqueueRepairs(
          'm',
          'old-to-new',
          keys.map((keyId) => ({ keyId, reason: 'BACKFILL' })),
        );
        expect(await control.repairDepth('m', 'old-to-new')).toBe(1500);
        expect((await control.pendingRepairs('m', 'old-to-new', keys)).size).toBe(1500);
      });
    });

    repairQueueConformance(kind, { get, fresh });

    describe('checkpoints', () => {
      it('saves, overwrites and loads per migration and name; a missing one is undefined', async () => {
        const { control } = await fresh();
        expect(await control.loadCheckpoint('m', 'backfill')).toBeUndefined();
        await control.saveCheckpoint('m', 'backfill', '["n1"]');
        await control.saveCheckpoint('m', 'backfill', '["n2","sé😀"]');
        await control.saveCheckpoint('m', 'verify', '');
        await control.saveCheckpoint('other', 'backfill', 'x');
        expect(await control.loadCheckpoint('m', 'backfill')).toBe('["n2","sé😀"]');
        expect(await control.loadCheckpoint('m', 'verify')).toBe('');
        expect(await control.loadCheckpoint('other', 'backfill')).toBe('x');
        expect(await control.loadCheckpoint('m', 'Backfill')).toBeUndefined();
        const big = 'ü😀'.repeat(40_000);
        await control.saveCheckpoint('m', 'big', big);
        expect(await control.loadCheckpoint('m', 'big')).toBe(big);
      });

      it('deletes one checkpoint of one migration; deleting one that is not there does nothing', async () => {
        const { control } = await fresh();
        await control.saveCheckpoint('m', 'shadow:a', '{"n":1}');
        await control.saveCheckpoint('m', 'shadow:b', '{"n":2}');
        await control.saveCheckpoint('other', 'shadow:a', '{"n":3}');
        await control.deleteCheckpoint('m', 'shadow:a');
        expect(await control.loadCheckpoint('m', 'shadow:a')).toBeUndefined();
        expect(await control.loadCheckpoint('m', 'shadow:b')).toBe('{"n":2}');
        expect(await control.loadCheckpoint('other', 'shadow:a')).toBe('{"n":3}');
        await control.deleteCheckpoint('m', 'shadow:a');
        await control.deleteCheckpoint('m', 'Shadow:b');
        await control.deleteCheckpoint('never-created', 'x');
        expect(await control.loadCheckpoint('m', 'shadow:b')).toBe('{"n":2}');
        // A deleted checkpoint can be saved again.
        await control.saveCheckpoint('m', 'shadow:a', '{"n":4}');
        expect(await control.loadCheckpoint('m', 'shadow:a')).toBe('{"n":4}');
      });

      it('a deleted checkpoint is gone for another store object over the same tables', async () => {
        const { control: a, prefix, clock } = await fresh();
        const b = get().separate(prefix, { now: clock.now });
        await a.saveCheckpoint('m', 'verify:run', '{"runId":"r1","complete":false}');
        expect(await b.loadCheckpoint('m', 'verify:run')).toBe('{"runId":"r1","complete":false}');
        await b.deleteCheckpoint('m', 'verify:run');
        expect(await a.loadCheckpoint('m', 'verify:run')).toBeUndefined();
        await b.close();
      });
    });

    describe('shared state', () => {
      it('two store objects over the same database see each other’s writes', async () => {
        const { control: a, prefix, clock } = await fresh();
        const b = get().separate(prefix, { now: clock.now });
        await b.setup();
        const initial = await a.init('m', 'ops');
        expect(await b.init('m', 'someone else')).toEqual(initial);
        const changed = await b.compareAndSet('m', 1, { ...INITIAL_SETTING, phase: 'dual-write' }, audit('from b'));
        expect(await a.getState('m')).toEqual(changed);
        expect(await a.compareAndSet('m', 1, INITIAL_SETTING, audit('stale in a'))).toBeUndefined();
        expect((await a.auditLog('m')).map((e) => e.reason)).toEqual(['from b', 'migration created']);
        await a.enqueueRepairs('m', 'old-to-new', [{ keyId: 'n1', reason: 'TIMEOUT' }]);
        expect(await b.pendingRepairs('m', 'old-to-new', ['n1'])).toEqual(new Set(['n1']));
        const [entry] = await b.peekRepairs('m', 'old-to-new', 1);
        expect(await b.completeRepair('m', 'old-to-new', 'n1', entry?.seq ?? -1)).toBe(true);
        expect(await a.repairDepth('m')).toBe(0);
        await b.heartbeat({ migration: 'm', instanceId: 'b', host: 'h', phaseVersion: 2, inFlightWrites: 0 });
        expect((await a.instances('m', new Date(0))).map((i) => i.instanceId)).toEqual(['b']);
        await a.saveCheckpoint('m', 'backfill', 'n42');
        expect(await b.loadCheckpoint('m', 'backfill')).toBe('n42');
        await b.close();
      });

      // Two SQLite handles in one thread would wait on each other's write lock synchronously: that race is for processes.
      if (kind !== 'sqlite') {
        it('compareAndSets racing from two store objects: exactly one wins', async () => {
          const { control: a, prefix, clock } = await fresh();
          const b = get().separate(prefix, { now: clock.now });
          await a.init('m', 'ops');
          const results = await Promise.all(
            Array.from({ length: 8 }, async (_, i) =>
              (i % 2 === 0 ? a : b).compareAndSet(
                'm',
                1,
                { ...INITIAL_SETTING, phase: 'dual-write', rampPercent: i },
                audit(`attempt ${i}`),
              ),
            ),
          );
          expect(results.filter((r) => r !== undefined)).toHaveLength(1);
          expect(await b.auditLog('m')).toHaveLength(2);
          await b.close();
        });

        it('two processes creating ranges at once: one set wins whole, and a range is leased to one of them', async () => {
          const { control: a, prefix, clock } = await fresh();
          const b = get().separate(prefix, { now: clock.now });
          const setA = [{ hi: 'n10' }, { lo: 'n10' }];
          const setB = [{ hi: 'n5' }, { lo: 'n5', hi: 'n50' }, { lo: 'n50' }];
          const created = await Promise.all([a.createRanges('m', 'bf', setA), b.createRanges('m', 'bf', setB)]);
          expect(created.filter(Boolean)).toHaveLength(1);
          const listed = (await a.ranges('m', 'bf')).map((r) => ({
            ...(r.lo === undefined ? {} : { lo: r.lo }),
            ...(r.hi === undefined ? {} : { hi: r.hi }),
          }));
          expect(listed).toEqual(created[0] ? setA : setB);
          const claims = await Promise.all(
            Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).claimRange('m', 'bf', `w${i}`, 60_000)),
          );
          const ids = claims.filter((x) => x !== undefined).map((x) => x.rangeId);
          expect(new Set(ids).size).toBe(ids.length);
          expect(ids).toHaveLength(listed.length);
          await b.close();
        });
      }
    });

    // The memory store takes arguments as they come and has no tables.
    if (kind !== 'memory') {
      describe('upgrade of the instances table', () => {
        it('setup() adds the served-latency and store-call columns to an instances table an older midair created, keeping its rows', async () => {
          const { control, prefix } = await fresh();
          const base = { migration: 'm', host: 'h', phaseVersion: 2, inFlightWrites: 0 };
          await control.heartbeat({ ...base, instanceId: 'old' });
          const q = kind === 'mysql' ? (x: string): string => `\`${x}\`` : (x: string): string => `"${x}"`;
          const instances = q(`${prefix}instances`);
          // As the first release left it: without the served-latency columns, and without the store-call figures.
          const later = ['write_p99_ms', 'write_count', 'store_calls'];
          if (kind === 'sqlite')
            for (const col of later) await get().exec(`ALTER TABLE ${instances} DROP COLUMN ${q(col)}`);
          else await get().exec(`ALTER TABLE ${instances} ${later.map((col) => `DROP COLUMN ${q(col)}`).join(', ')}`);
          await expect(control.instances('m', new Date(0))).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' });
          await control.setup();
          await control.setup();
          expect(
            (await control.instances('m', new Date(0))).map((i) => [i.instanceId, i.servedWrites, i.storeCalls]),
          ).toEqual([['old', undefined, undefined]]);
          const none = { calls: 0, errors: 0, buckets: [] };
          const storeCalls = {
            phaseVersion: 2,
            old: { reads: { calls: 5, errors: 1, buckets: [[40, 5]] }, writes: none },
            new: { reads: none, writes: { calls: 1, errors: 0, buckets: [[80, 1]] } },
          } satisfies StoreCallFigures;
          await control.heartbeat({
            ...base,
            instanceId: 'new',
            servedWrites: { p99Ms: 2.5, count: 100 },
            storeCalls,
          });
          expect((await control.instances('m', new Date(0))).find((i) => i.instanceId === 'new')).toMatchObject({
            servedWrites: { p99Ms: 2.5, count: 100 },
            storeCalls,
          });
        });
      });

      describe('errors', () => {
        it('before setup, calls fail with SCHEMA_MISMATCH naming the table, not the values', async () => {
          const control = get().store(get().uniquePrefix());
          const err: unknown = await control.getState('secret-migration').catch((e: unknown) => e);
          expect(err).toBeInstanceOf(MidairError);
          expect((err as MidairError).code).toBe('SCHEMA_MISMATCH');
          expect((err as MidairError).message).toMatch(/getState on .*control.*setup\(\)/);
          expect((err as MidairError).message).not.toContain('secret-migration');
          await expect(
            control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'secret-key', reason: 'x' }]),
          ).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' });
        });

        it('refuses arguments it could not store or read back', async () => {
          const { control } = await fresh();
          await control.init('m', 'ops');
          await expect(
            control.compareAndSet('m', 1, { ...INITIAL_SETTING, phase: 'nope' as never }, audit('x')),
          ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
          await expect(
            control.enqueueRepairs('m', 'sideways' as never, [{ keyId: 'k', reason: 'x' }]),
          ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
          await expect(control.auditLog('m', { limit: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
          expect((await control.getState('m'))?.version).toBe(1);
        });

        if (kind === 'mysql') {
          it('refuses a key id longer than the MySQL column holds instead of truncating it', async () => {
            const { control } = await fresh();
            const err: unknown = await control
              .enqueueRepairs('m', 'old-to-new', [{ keyId: `s${'x'.repeat(700)}`, reason: 'x' }])
              .catch((e: unknown) => e);
            expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
            expect((err as Error).message).not.toContain('xxxx');
            expect(await control.repairDepth('m')).toBe(0);
          });
        }
      });
    }
  });
}
