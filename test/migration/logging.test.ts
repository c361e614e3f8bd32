import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EVENT_LOG_LEVELS, MidairError, type MidairLogger } from '../../src/index.js';
import { item, rig } from './setup.js';

/** A value planted in rows: it must appear in no log line. */
const PLANTED = 'planted-value-4d1f';
const PINO_LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

type Line = Record<string, unknown> & { level: number; event: string; msg: string };

/** pino writing JSON lines to memory. */
function memoryPino(): { logger: pino.Logger; raw: string[]; lines: Line[] } {
  const raw: string[] = [];
  const lines: Line[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (s: string) => {
        raw.push(s);
        lines.push(JSON.parse(s) as Line);
      },
    },
  );
  return { logger, raw, lines };
}

describe('structured logs', () => {
  it('a scripted migration logs phase changes, second-write failures, mismatches and halts with their fields, and no value', async () => {
    const { logger, raw, lines } = memoryPino();
    const r = await rig({
      logger,
      instanceId: 'inst-1',
      shadow: { recheckMs: 0, includeValues: true }, // values reach the event, never the log
      autoHalt: { minSamples: 10, maxErrorRate: 0.3 },
    });
    await r.goTo('shadow-read');
    await r.oldStore.put(item(1, 1, `${PLANTED}-old`));
    await r.newStore.put(item(1, 1, `${PLANTED}-new`));
    const repo = r.migration.repository();
    await repo.get(1);
    await r.migration.settle();
    r.newFaults.down = true;
    await repo.put(item(2, 1, PLANTED));
    r.newFaults.down = false;
    await r.goTo('ramp', 100);
    for (let id = 10; id < 40; id++) await r.oldStore.put(item(id, 1, PLANTED));
    r.newFaults.down = true;
    for (let id = 10; id < 40; id++) await repo.get(id);
    await r.migration.settle();
    expect(r.migration.state.phase).toBe('shadow-read');
    r.newFaults.down = false;

    expect(raw.join('')).not.toContain(PLANTED);
    for (const line of lines) {
      expect(line).toMatchObject({ migration: 'items', instance: 'inst-1' });
      expect(typeof line.event).toBe('string');
      expect(line).toHaveProperty('phase');
    }
    const of = (event: string): Line[] => lines.filter((l) => l.event === event);
    expect(of('phase-changed').map((l) => [l.level, l.from, l.phase])).toEqual([
      [PINO_LEVEL.info, null, 'old-only'],
      [PINO_LEVEL.info, 'old-only', 'dual-write'],
      [PINO_LEVEL.info, 'dual-write', 'shadow-read'],
      [PINO_LEVEL.info, 'shadow-read', 'ramp'],
      [PINO_LEVEL.info, 'ramp', 'shadow-read'],
    ]);
    expect(of('mismatch')).toEqual([
      expect.objectContaining({ level: PINO_LEVEL.warn, keyId: 'n1', fields: ['v'], phase: 'shadow-read' }),
    ]);
    expect(of('second-write-failed')).toEqual([
      expect.objectContaining({
        level: PINO_LEVEL.warn,
        keyId: 'n2',
        side: 'new',
        code: 'CONNECTION',
        phase: 'shadow-read',
      }),
    ]);
    expect(of('halted')).toEqual([
      expect.objectContaining({ level: PINO_LEVEL.error, from: 'ramp', to: 'shadow-read', phase: 'shadow-read' }),
    ]);
    expect(String(of('halted')[0]?.reason)).toMatch(/^the new store failed \d+ of \d+ calls/);
    // Every call is an event too, but never a line.
    expect(of('store-call')).toEqual([]);
    expect(of('served')).toEqual([]);
  });

  it('each event has its level, and the too-hot ones none', () => {
    expect(EVENT_LOG_LEVELS).toMatchObject({
      'phase-changed': 'info',
      halted: 'error',
      'second-write-failed': 'warn',
      mismatch: 'warn',
      'repair-parked': 'error',
      error: 'error',
      repaired: 'debug',
      'lazy-copied': 'debug',
      'store-call': null,
      served: null,
    });
  });

  it('an error is logged through safeError: its code, message and cause codes, no driver detail or foreign message', async () => {
    const { logger, raw, lines } = memoryPino();
    const r = await rig({ logger });
    const driver = Object.assign(new Error(`duplicate entry '${PLANTED}' for key 'items_v'`), {
      code: '23505',
      constraint: 'items_v',
      table: 'items',
      detail: `Key (v)=(${PLANTED}) already exists.`,
      where: `row ${PLANTED}`,
      parameters: [PLANTED],
    });
    // A listener that throws is reported as an `error` event: the one way a caller can raise one.
    r.migration.on('phase-changed', () => {
      throw new MidairError('UNIQUE_VIOLATION', 'put on new failed: a unique constraint was violated (table items)', {
        cause: driver,
        details: { table: 'items', constraint: 'items_v', driverCode: '23505' },
      });
    });
    await r.migration.advance({ reason: 'test: dual writes' });
    expect(raw.join('')).not.toContain(PLANTED);
    const [line] = lines.filter((l) => l.event === 'error');
    expect(line).toMatchObject({
      level: PINO_LEVEL.error,
      operation: 'listener for phase-changed',
      code: 'UNIQUE_VIOLATION',
      error: {
        name: 'MidairError',
        code: 'UNIQUE_VIOLATION',
        message: 'put on new failed: a unique constraint was violated (table items)',
        details: { table: 'items', constraint: 'items_v', driverCode: '23505' },
        cause: { name: 'Error', code: '23505', constraint: 'items_v', table: 'items' },
      },
    });
    expect(Object.keys((line?.error as { cause: object }).cause).sort()).toEqual([
      'code',
      'constraint',
      'name',
      'table',
    ]);
  });

  it('a logger without child() gets the bindings on every line; one that throws never breaks the migration', async () => {
    const got: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const method =
      (level: string) =>
      (fields: object, message: string): void => {
        got.push({ level, fields: fields as Record<string, unknown>, message });
      };
    const plain: MidairLogger = {
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
    };
    const r = await rig({ logger: plain, instanceId: 'inst-2' });
    await r.migration.advance({ reason: 'test: dual writes' });
    expect(got.find((g) => g.fields.event === 'phase-changed' && g.fields.phase === 'dual-write')).toMatchObject({
      level: 'info',
      fields: { migration: 'items', instance: 'inst-2', from: 'old-only' },
      message: 'phase old-only → dual-write (version 2)',
    });

    const throwing: MidairLogger = {
      ...plain,
      info: () => {
        throw new Error('the log is full');
      },
    };
    const t = await rig({ logger: throwing });
    await expect(t.migration.advance({ reason: 'test: dual writes' })).resolves.toMatchObject({ phase: 'dual-write' });
  });
});
