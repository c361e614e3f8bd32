import { describe, expect, it } from 'vitest';
import { checkGate, checkGates, type MigrationFacts } from '../../src/index.js';

const now = new Date('2026-01-01T12:00:00Z');
const facts = (over: Partial<MigrationFacts> = {}): MigrationFacts => ({
  state: {
    migration: 'users',
    phase: 'ramp',
    rampPercent: 10,
    writesPaused: false,
    strict: false,
    version: 7,
    changedAt: now,
  },
  fleet: [],
  backfill: { complete: true, started: true },
  lastVerification: undefined,
  shadow: { comparisons: 0, mismatches: 0 },
  repairDepth: 0,
  parked: { count: 0, sample: [] },
  deadLetters: 0,
  enteredNewPrimaryAt: undefined,
  now,
  ...over,
});

describe('adoption 6: a migration no application follows', () => {
  it('regression: the fleet gate passed with 0 live instances, so the CLI moved a migration no application followed; now it fails and says how to go on', () => {
    const g = checkGate('fleet', facts({ fleet: [] }));
    expect(g.ok).toBe(false);
    expect(g.detail).toMatch(
      /no live instance of the application follows migration users.*migration\.start\(\).*--force/,
    );
  });
});

describe('gates', () => {
  it('regression: the fleet gate named a lagging instance by an opaque id only; now by host, pid and age', () => {
    const lagging = {
      migration: 'users',
      instanceId: 'web-3:4242:ab12cd34',
      host: 'web-3',
      phaseVersion: 6,
      inFlightWrites: 0,
      lastSeen: new Date(now.getTime() - 4000),
      startedAt: new Date(now.getTime() - 3_600_000),
    };
    const g = checkGate('fleet', facts({ fleet: [lagging] }));
    expect(g.ok).toBe(false);
    expect(g.detail).toContain(
      'web-3:4242:ab12cd34 (host web-3, pid 4242, at version 6, last seen 4 s ago, up 3600 s)',
    );
  });

  it('regression: parked repairs did not block a gate; now they do, each named', () => {
    const parked = {
      migration: 'users',
      direction: 'old-to-new' as const,
      keyId: 'n42',
      reason: 'UNIQUE_VIOLATION',
      problem: {
        code: 'UNIQUE_VIOLATION',
        store: 'new',
        constraint: 'users_email_key',
        message: 'insert on new failed',
      },
      attempts: 5,
      parkedAt: now,
    };
    const gates = checkGates('new-primary', facts({ parked: { count: 3, sample: [parked] } }));
    const g = gates.find((x) => x.gate === 'parked');
    expect(g).toMatchObject({ ok: false });
    expect(g?.detail).toContain('3 parked repair(s)');
    expect(g?.detail).toContain('n42 (old-to-new, UNIQUE_VIOLATION on new, constraint users_email_key)');
    expect(g?.detail).toContain('and 2 more');
    for (const into of ['ramp', 'old-read-only', 'complete'] as const)
      expect(checkGates(into, facts()).some((x) => x.gate === 'parked')).toBe(true);
  });

  it('dead letters block the backfill gate until retried or accepted', () => {
    expect(checkGate('backfill', facts({ deadLetters: 2 }))).toMatchObject({ ok: false });
    expect(checkGate('backfill', facts({ deadLetters: 2 })).detail).toContain(
      'midair dead-letters accept --force --reason',
    );
    expect(checkGate('backfill', facts())).toMatchObject({ ok: true });
  });
});
