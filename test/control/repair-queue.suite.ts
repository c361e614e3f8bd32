import { describe, expect, it } from 'vitest';
import type { ControlStore, PhaseSetting } from '../../src/index.js';
import { INITIAL_SETTING } from '../../src/adapter.js';
import type { RepairProblem } from '../../src/control/control-store.js';
import type { ControlKind as BackendKind } from './control-backends.js';
import type { ControlBackend, ManualClock } from './control-backends.js';

interface Suite {
  readonly get: () => ControlBackend;
  readonly fresh: () => Promise<{ control: ControlStore; prefix: string; clock: ManualClock }>;
}

const LEASE = 60_000;
const UNIQUE: RepairProblem = {
  code: 'UNIQUE_VIOLATION',
  store: 'new (users)',
  constraint: 'users_email_key',
  message: 'put on new (users): unique constraint users_email_key violated',
};
const ENCODING: RepairProblem = {
  code: 'ENCODING',
  store: 'old (users)',
  message: 'get on old (users): column email holds a value midair cannot read',
};
const keys = (entries: readonly { keyId: string }[]): string[] => entries.map((e) => e.keyId);

/** Enqueues keys one clock tick apart, so oldest-first order is theirs. */
async function enqueueInOrder(
  control: ControlStore,
  clock: ManualClock,
  keyIds: readonly string[],
  direction: 'old-to-new' | 'new-to-old' = 'old-to-new',
): Promise<number[]> {
  const seqs: number[] = [];
  for (const keyId of keyIds) {
    seqs.push(...(await control.enqueueRepairs('m', direction, [{ keyId, reason: 'TIMEOUT' }])));
    clock.advance(1);
  }
  return seqs;
}

/** The repair queue's claims, due times, parked entries and audit-only entries, for every backend. */
export function repairQueueConformance(kind: BackendKind, { get, fresh }: Suite): void {
  describe('repair queue: claims, due times and parked entries', () => {
    it('enqueueRepairs resolves each entry’s seq in order, the same one peekRepairs shows; a key given twice gets its last seq', async () => {
      const { control } = await fresh();
      const seqs = await control.enqueueRepairs('m', 'old-to-new', [
        { keyId: 'b', reason: 'A' },
        { keyId: 'a', reason: 'B' },
        { keyId: 'b', reason: 'C' },
      ]);
      expect(seqs).toHaveLength(3);
      const peeked = new Map((await control.peekRepairs('m', 'old-to-new', 10)).map((e) => [e.keyId, e]));
      expect(seqs).toEqual([peeked.get('b')?.seq, peeked.get('a')?.seq, peeked.get('b')?.seq]);
      expect(peeked.get('b')?.reason).toBe('C');
      expect(await control.enqueueRepairs('m', 'old-to-new', [])).toEqual([]);
    });

    it('claims are disjoint between two owners, oldest first, and a third owner gets nothing while the leases hold', async () => {
      const { control, clock } = await fresh();
      await enqueueInOrder(control, clock, ['f', 'e', 'd', 'c', 'b', 'a']);
      const a = await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 3, leaseMs: LEASE });
      const b = await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 10, leaseMs: LEASE });
      expect(keys(a)).toEqual(['f', 'e', 'd']);
      expect(keys(b)).toEqual(['c', 'b', 'a']);
      expect(a[0]).toMatchObject({ migration: 'm', direction: 'old-to-new', reason: 'TIMEOUT', attempts: 0 });
      expect(await control.claimRepairs('m', 'old-to-new', { owner: 'c', limit: 10, leaseMs: LEASE })).toEqual([]);
      expect(await control.claimRepairs('m', 'new-to-old', { owner: 'c', limit: 10, leaseMs: LEASE })).toEqual([]);
      expect(await control.claimRepairs('m', 'old-to-new', { owner: 'c', limit: 0, leaseMs: LEASE })).toEqual([]);
      // Claimed entries stay queued (and peekable) until completed.
      expect(await control.repairDepth('m', 'old-to-new')).toBe(6);
      expect(keys(await control.peekRepairs('m', 'old-to-new', 10))).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
    });

    it('an expired claim is taken over; a claim holds until the instant its lease ends', async () => {
      const { control, clock } = await fresh();
      const [seq] = await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
      expect(keys(await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 5, leaseMs: 1000 }))).toEqual([
        'k',
      ]);
      clock.advance(1000);
      expect(await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 5, leaseMs: 1000 })).toEqual([]);
      clock.advance(1);
      const taken = await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 5, leaseMs: 1000 });
      expect(taken.map((e) => [e.keyId, e.seq])).toEqual([['k', seq]]);
      expect(await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 5, leaseMs: 1000 })).toEqual([]);
      expect(await control.completeRepair('m', 'old-to-new', 'k', seq ?? -1)).toBe(true);
    });

    it('failRepair counts the attempt, resolves the attempts so far and releases the claim', async () => {
      const { control } = await fresh();
      const [seq = -1] = await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
      await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 5, leaseMs: LEASE });
      expect(await control.failRepair('m', 'old-to-new', 'k', seq)).toBe(1);
      expect(keys(await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 5, leaseMs: LEASE }))).toEqual([
        'k',
      ]);
      expect(await control.failRepair('m', 'old-to-new', 'k', seq)).toBe(2);
      await control.failRepair('m', 'old-to-new', 'k', seq + 1); // a stale seq counts nothing
      expect((await control.peekRepairs('m', 'old-to-new', 1))[0]?.attempts).toBe(2);
    });

    it('delayed entries are not claimed until due, are with includeDelayed, and peek shows what is left of the delay', async () => {
      const { control, clock } = await fresh();
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'later', reason: 'INTENT', delayMs: 500 }]);
      clock.advance(1);
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'now', reason: 'TIMEOUT' }]);
      const peeked = await control.peekRepairs('m', 'old-to-new', 10);
      expect(peeked.map((e) => [e.keyId, e.delayMs])).toEqual([
        ['later', 499],
        ['now', undefined],
      ]);
      expect(await control.pendingRepairs('m', 'old-to-new', ['later', 'now'])).toEqual(new Set(['later', 'now']));
      expect(keys(await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 10, leaseMs: LEASE }))).toEqual([
        'now',
      ]);
      clock.advance(498);
      expect(await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 10, leaseMs: LEASE })).toEqual([]);
      clock.advance(1);
      expect(keys(await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 10, leaseMs: LEASE }))).toEqual([
        'later',
      ]);

      // The cutover drain takes what is not due yet.
      await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'intent', reason: 'INTENT', delayMs: 3_600_000 }]);
      expect(await control.claimRepairs('m', 'new-to-old', { owner: 'drain', limit: 10, leaseMs: LEASE })).toEqual([]);
      expect(
        keys(
          await control.claimRepairs('m', 'new-to-old', {
            owner: 'drain',
            limit: 10,
            leaseMs: LEASE,
            includeDelayed: true,
          }),
        ),
      ).toEqual(['intent']);
    });

    it('re-enqueueing keeps the earlier due time', async () => {
      const { control, clock } = await fresh();
      await control.enqueueRepairs('m', 'old-to-new', [
        { keyId: 'soon', reason: 'INTENT', delayMs: 60_000 },
        { keyId: 'due', reason: 'TIMEOUT' },
      ]);
      const [soon, due] = await control.enqueueRepairs('m', 'old-to-new', [
        { keyId: 'soon', reason: 'TIMEOUT' }, // earlier than the intent's due time: due now
        { keyId: 'due', reason: 'RECHECK', delayMs: 60_000 }, // later than due now: stays due
      ]);
      clock.advance(1);
      const claimed = await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 10, leaseMs: LEASE });
      expect(claimed.map((e) => [e.keyId, e.seq, e.reason]).sort()).toEqual(
        [
          ['due', due, 'RECHECK'],
          ['soon', soon, 'TIMEOUT'],
        ].sort(),
      );
      await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'k', reason: 'INTENT', delayMs: 1000 }]);
      clock.advance(600);
      await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'k', reason: 'RECHECK', delayMs: 1000 }]);
      clock.advance(400); // due 1000 ms after the first enqueue, not the second
      expect(keys(await control.claimRepairs('m', 'new-to-old', { owner: 'a', limit: 10, leaseMs: LEASE }))).toEqual([
        'k',
      ]);
    });

    it('completing a claimed entry with its old seq leaves a newer enqueue of the key queued', async () => {
      const { control } = await fresh();
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
      const [claimed] = await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 1, leaseMs: LEASE });
      const [newer = -1] = await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'COMPENSATION' }]);
      expect(newer).not.toBe(claimed?.seq);
      expect(await control.completeRepair('m', 'old-to-new', 'k', claimed?.seq ?? -1)).toBe(false);
      expect(await control.pendingRepairs('m', 'old-to-new', ['k'])).toEqual(new Set(['k']));
      // The same owner may claim its own entry again, with the newer seq.
      const [again] = await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 1, leaseMs: LEASE });
      expect(again?.seq).toBe(newer);
      expect(await control.completeRepair('m', 'old-to-new', 'k', newer)).toBe(true);
      expect(await control.repairDepth('m')).toBe(0);
    });

    it('parks an entry with its problem; parked entries are not pending, not counted, not peeked and not claimed', async () => {
      const { control, clock } = await fresh();
      const [a = -1, b = -1] = await enqueueInOrder(control, clock, ['a', 'b', 'c']);
      await control.failRepair('m', 'old-to-new', 'a', a);
      await control.failRepair('m', 'old-to-new', 'a', a);
      expect(await control.parkRepair('m', 'old-to-new', 'a', a + 1, UNIQUE)).toBe(false); // stale seq: nothing moves
      const parkedAt = clock.now();
      expect(await control.parkRepair('m', 'old-to-new', 'a', a, UNIQUE)).toBe(true);
      expect(await control.parkRepair('m', 'old-to-new', 'a', a, UNIQUE)).toBe(false);
      clock.advance(1);
      expect(await control.parkRepair('m', 'old-to-new', 'b', b, ENCODING)).toBe(true);

      expect(await control.pendingRepairs('m', 'old-to-new', ['a', 'b', 'c'])).toEqual(new Set(['c']));
      expect(await control.repairDepth('m')).toBe(1);
      expect(keys(await control.peekRepairs('m', 'old-to-new', 10))).toEqual(['c']);
      expect(
        keys(
          await control.claimRepairs('m', 'old-to-new', {
            owner: 'x',
            limit: 10,
            leaseMs: LEASE,
            includeDelayed: true,
          }),
        ),
      ).toEqual(['c']);

      expect(await control.parkedCount('m')).toBe(2);
      expect(await control.parkedCount('other')).toBe(0);
      const parked = await control.parkedRepairs('m');
      expect(parked).toEqual([
        {
          migration: 'm',
          direction: 'old-to-new',
          keyId: 'a',
          reason: 'TIMEOUT',
          attempts: 2,
          parkedAt: new Date(parkedAt),
          problem: UNIQUE,
        },
        {
          migration: 'm',
          direction: 'old-to-new',
          keyId: 'b',
          reason: 'TIMEOUT',
          attempts: 0,
          parkedAt: new Date(parkedAt + 1),
          problem: ENCODING,
        },
      ]);
      expect(parked[1]?.problem.constraint).toBeUndefined();
      expect(keys(await control.parkedRepairs('m', { limit: 1 }))).toEqual(['a']);
    });

    it('retryParked puts keys back due at once with a fresh count of attempts; resolveParked drops them; both resolve how many', async () => {
      const { control, clock } = await fresh();
      const seqs = await control.enqueueRepairs(
        'm',
        'old-to-new',
        ['a', 'b', 'c'].map((keyId) => ({ keyId, reason: 'TIMEOUT', delayMs: 5000 })),
      );
      const [k = -1] = await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'a', reason: 'TIMEOUT' }]);
      await control.failRepair('m', 'old-to-new', 'a', seqs[0] ?? -1);
      for (const [i, keyId] of ['a', 'b', 'c'].entries())
        expect(await control.parkRepair('m', 'old-to-new', keyId, seqs[i] ?? -1, UNIQUE)).toBe(true);
      expect(await control.parkRepair('m', 'new-to-old', 'a', k, ENCODING)).toBe(true);
      expect(await control.parkedCount('m')).toBe(4);

      expect(await control.retryParked('m', ['a', 'absent'])).toBe(2); // both directions of a
      expect(await control.retryParked('m', [])).toBe(0);
      expect(await control.parkedCount('m')).toBe(2);
      const back = await control.claimRepairs('m', 'old-to-new', { owner: 'x', limit: 10, leaseMs: LEASE });
      expect(back.map((e) => [e.keyId, e.attempts, e.reason])).toEqual([['a', 0, 'TIMEOUT']]);
      expect(back[0]?.seq).not.toBe(seqs[0]);
      expect(keys(await control.claimRepairs('m', 'new-to-old', { owner: 'x', limit: 10, leaseMs: LEASE }))).toEqual([
        'a',
      ]);

      expect(await control.resolveParked('m', ['b', 'absent'])).toBe(1);
      expect(keys(await control.parkedRepairs('m'))).toEqual(['c']);
      clock.advance(1);
      expect(await control.retryParked('m')).toBe(1);
      expect(await control.retryParked('m')).toBe(0);
      expect(await control.parkedCount('m')).toBe(0);
      expect(await control.pendingRepairs('m', 'old-to-new', ['a', 'b', 'c'])).toEqual(new Set(['a', 'c']));
      expect(await control.resolveParked('m', [])).toBe(0);
    });

    it('refuses a negative or non-finite delay, a lease that is not positive, a bad limit or an empty owner, writing nothing', async () => {
      const { control } = await fresh();
      for (const delayMs of [-1, Number.NaN, Infinity]) {
        await expect(
          control.enqueueRepairs('m', 'old-to-new', [
            { keyId: 'ok', reason: 'x' },
            { keyId: 'k', reason: 'x', delayMs },
          ]),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      expect(await control.repairDepth('m')).toBe(0);
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'x' }]);
      for (const options of [
        { owner: 'a', limit: 1, leaseMs: 0 },
        { owner: 'a', limit: 1, leaseMs: -5 },
        { owner: 'a', limit: -1, leaseMs: LEASE },
        { owner: 'a', limit: 1.5, leaseMs: LEASE },
        { owner: '', limit: 1, leaseMs: LEASE },
      ]) {
        await expect(control.claimRepairs('m', 'old-to-new', options)).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      expect(keys(await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 1, leaseMs: LEASE }))).toEqual([
        'k',
      ]);
    });

    it('appendAudit records an entry that changes nothing: from = to = the current setting, at the current version', async () => {
      const { control, clock } = await fresh();
      const initial = await control.init('m', 'ops');
      const next: PhaseSetting = { ...INITIAL_SETTING, phase: 'dual-write', rampPercent: 0 };
      const state = await control.compareAndSet('m', initial.version, next, {
        actor: 'ops',
        action: 'advance',
        reason: 'go',
        forced: false,
      });
      clock.advance(1000);
      for (const action of ['evict', 'repair-retry', 'repair-resolve', 'dead-letter-accept', 'facts-reset'] as const) {
        await control.appendAudit('m', { actor: 'ops@host', action, reason: `${action} ✓`, forced: false });
      }
      expect(await control.getState('m')).toEqual(state);
      const log = await control.auditLog('m');
      expect(log.map((e) => e.action)).toEqual([
        'facts-reset',
        'dead-letter-accept',
        'repair-resolve',
        'repair-retry',
        'evict',
        'advance',
        'init',
      ]);
      expect(log[4]).toMatchObject({
        migration: 'm',
        actor: 'ops@host',
        action: 'evict',
        reason: 'evict ✓',
        version: 2,
        forced: false,
        from: next,
        to: next,
      });
      expect(log[4]?.at).toEqual(new Date(clock.now()));
      await expect(
        control.appendAudit('never-initialised', { actor: 'ops', action: 'evict', reason: 'x', forced: false }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    // Two SQLite handles in one thread would wait on each other's write lock synchronously: that race is for processes.
    if (kind !== 'sqlite') {
      it('concurrent claimers over two connection pools never get the same entry', async () => {
        const { control: a, prefix, clock } = await fresh();
        const b = get().separate(prefix, { now: clock.now });
        const all = Array.from({ length: 120 }, (_, i) => `n${String(i).padStart(3, '0')}`);
        await a.enqueueRepairs(
          'm',
          'old-to-new',
          all.map((keyId) => ({ keyId, reason: 'TIMEOUT' })),
        );
        const owners = new Map<string, string>();
        for (let round = 0; round < 40 && owners.size < all.length; round++) {
          const claims = await Promise.all(
            // A new owner every time: an owner may claim its own entries again.
            Array.from({ length: 8 }, async (_, i) => {
              const owner = `w${round}.${i}`;
              return {
                owner,
                got: await (i % 2 ? b : a).claimRepairs('m', 'old-to-new', { owner, limit: 7, leaseMs: LEASE }),
              };
            }),
          );
          for (const { owner, got } of claims) {
            for (const e of got) {
              expect(owners.get(e.keyId), `${e.keyId} claimed by ${owners.get(e.keyId)} and ${owner}`).toBeUndefined();
              owners.set(e.keyId, owner);
            }
          }
        }
        expect([...owners.keys()].sort()).toEqual(all);
        await b.close();
      });
    }
  });

  describe('repair queue: writes that may still land', () => {
    it('keeps the highest epoch given for a key until the entry completes; an entry without one has none', async () => {
      const { control } = await fresh();
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'INTENT', epoch: 7, delayMs: 1000 }]);
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'INTENT', epoch: 5 }]);
      const [seq = -1] = await control.enqueueRepairs('m', 'old-to-new', [
        { keyId: 'k', reason: 'TIMEOUT' },
        { keyId: 'plain', reason: 'TIMEOUT' },
      ]);
      const peeked = new Map((await control.peekRepairs('m', 'old-to-new', 10)).map((e) => [e.keyId, e]));
      expect(peeked.get('k')?.epoch).toBe(7);
      expect(peeked.get('plain')?.epoch).toBeUndefined();
      expect(await control.completeRepair('m', 'old-to-new', 'k', seq)).toBe(true);
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
      expect((await control.peekRepairs('m', 'old-to-new', 10)).find((e) => e.keyId === 'k')?.epoch).toBeUndefined();
      await expect(
        control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'x', reason: 'INTENT', epoch: -1 }]),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });

    it('an unknown outcome keeps its reason through later enqueues of the key, until it completes', async () => {
      const { control } = await fresh();
      await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'k', reason: 'UNKNOWN_OUTCOME', epoch: 3 }]);
      const [seq = -1] = await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'k', reason: 'INTENT', epoch: 3 }]);
      expect((await control.peekRepairs('m', 'new-to-old', 10))[0]?.reason).toBe('UNKNOWN_OUTCOME');
      expect(await control.completeRepair('m', 'new-to-old', 'k', seq)).toBe(true);
      await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'k', reason: 'INTENT' }]);
      expect((await control.peekRepairs('m', 'new-to-old', 10))[0]?.reason).toBe('INTENT');
    });

    it('a claim rests its entry, the claimer’s own next claim included; a re-enqueue frees it at once; a take-over ignores claims', async () => {
      const { control } = await fresh();
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
      expect(keys(await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 5, leaseMs: LEASE }))).toEqual([
        'k',
      ]);
      expect(await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 5, leaseMs: LEASE })).toEqual([]);
      expect(
        keys(
          await control.claimRepairs('m', 'old-to-new', { owner: 'drain', limit: 5, leaseMs: LEASE, takeOver: true }),
        ),
      ).toEqual(['k']);
      await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
      expect(keys(await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 5, leaseMs: LEASE }))).toEqual([
        'k',
      ]);
    });

    it('repairDepth leaves out the reasons asked', async () => {
      const { control } = await fresh();
      await control.enqueueRepairs('m', 'old-to-new', [
        { keyId: 'a', reason: 'INTENT', delayMs: 5000 },
        { keyId: 'b', reason: 'TIMEOUT' },
      ]);
      await control.enqueueRepairs('m', 'new-to-old', [{ keyId: 'c', reason: 'INTENT' }]);
      expect(await control.repairDepth('m')).toBe(3);
      expect(await control.repairDepth('m', undefined, { excludeReasons: ['INTENT'] })).toBe(1);
      expect(await control.repairDepth('m', 'new-to-old', { excludeReasons: ['INTENT', 'TIMEOUT'] })).toBe(0);
    });
  });

  if (kind !== 'memory') {
    describe('upgrade', () => {
      it('setup() adds the due time, the claim and the parked table to a control database an older midair created', async () => {
        const { control, prefix } = await fresh();
        await control.enqueueRepairs('m', 'old-to-new', [{ keyId: 'k', reason: 'TIMEOUT' }]);
        // Take the tables back to what the release before them created.
        const q = kind === 'mysql' ? (s: string): string => `\`${s}\`` : (s: string): string => `"${s}"`;
        const repairs = q(`${prefix}repairs`);
        await get().exec(`DROP TABLE ${q(`${prefix}parked`)}`);
        if (kind === 'sqlite')
          for (const col of ['due_at', 'owner', 'leased_until', 'epoch'])
            await get().exec(`ALTER TABLE ${repairs} DROP COLUMN ${q(col)}`);
        else
          await get().exec(
            `ALTER TABLE ${repairs} DROP COLUMN ${q('due_at')}, DROP COLUMN ${q('owner')}, DROP COLUMN ${q('leased_until')}, DROP COLUMN ${q('epoch')}`,
          );
        await expect(
          control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 1, leaseMs: LEASE }),
        ).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' });

        await control.setup();
        await control.setup();
        const [entry] = await control.claimRepairs('m', 'old-to-new', { owner: 'a', limit: 5, leaseMs: LEASE });
        expect(entry).toMatchObject({ keyId: 'k', reason: 'TIMEOUT', attempts: 0 });
        expect(await control.claimRepairs('m', 'old-to-new', { owner: 'b', limit: 5, leaseMs: LEASE })).toEqual([]);
        expect(await control.parkRepair('m', 'old-to-new', 'k', entry?.seq ?? -1, UNIQUE)).toBe(true);
        expect(keys(await control.parkedRepairs('m'))).toEqual(['k']);
      });
    });
  }
}
