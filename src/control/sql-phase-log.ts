import { MidairError } from '../core/errors.js';
import { isPhase } from '../core/phases.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import {
  AUDIT_ACTIONS,
  settingOf,
  type AuditInput,
  type PhaseLog,
  type PhaseSetting,
  type PhaseState,
} from './phase-log.js';
import { INITIAL_SETTING } from './memory-control-store.js';
import type { SqlControlContext } from './sql-control-context.js';
import { decodeAudit, decodeState, settingJson } from './sql-control-rows.js';

export const STATE_COLUMNS = [
  'migration',
  'phase',
  'ramp_percent',
  'writes_paused',
  'strict',
  'version',
  'changed_at',
] as const;
const AUDIT_COLUMNS = [
  'seq',
  'migration',
  'at',
  'actor',
  'action',
  'from_setting',
  'to_setting',
  'version',
  'reason',
  'forced',
] as const;

/** Throws what `fail` makes of the first thing wrong with the setting. */
function settingProblem(s: PhaseSetting, fail: (what: string) => Error): void {
  if (!isPhase(s.phase)) throw fail('unknown phase');
  if (!Number.isFinite(s.rampPercent)) throw fail('rampPercent must be a finite number');
  if (typeof s.writesPaused !== 'boolean' || typeof s.strict !== 'boolean')
    throw fail('writesPaused and strict must be booleans');
}

function actionProblem(audit: AuditInput, fail: (what: string) => Error): void {
  if (!(AUDIT_ACTIONS as readonly string[]).includes(audit.action))
    throw fail(`action must be one of ${AUDIT_ACTIONS.join(', ')}`);
}

/** What the phase log's methods share: the context, the change hook, checks and the statements on `phase` and `audit`. */
interface PhaseSql {
  readonly x: SqlControlContext;
  readonly onChange: ((conn: SqlConnection, migration: string) => Promise<void>) | undefined;
  readonly checkSetting: (operation: string, s: PhaseSetting) => void;
  readonly checkAction: (operation: string, audit: AuditInput) => void;
  readonly selectState: string;
  readonly readState: (conn: SqlConnection, migration: string, lock: boolean) => Promise<PhaseState | undefined>;
  readonly writeAudit: (
    conn: SqlConnection,
    state: PhaseState,
    from: PhaseSetting | undefined,
    audit: AuditInput,
  ) => Promise<void>;
}

function phaseSql(
  x: SqlControlContext,
  onChange: ((conn: SqlConnection, migration: string) => Promise<void>) | undefined,
): PhaseSql {
  const { prefix, dialect, t, c, ph, tuple, cols, invalid } = x;
  const checkSetting = (operation: string, s: PhaseSetting): void =>
    settingProblem(s, (what) => invalid(operation, what));
  const checkAction = (operation: string, audit: AuditInput): void =>
    actionProblem(audit, (what) => invalid(operation, what));

  const selectState = `SELECT ${cols(STATE_COLUMNS)} FROM ${t.phase} WHERE ${c.migration} = ${ph(1)}`;
  const readState = async (conn: SqlConnection, migration: string, lock: boolean): Promise<PhaseState | undefined> => {
    const { rows } = await conn.query(selectState + (lock ? dialect.forUpdate : ''), [migration]);
    return rows[0] ? decodeState(rows[0], prefix + 'phase') : undefined;
  };
  const insertAudit = `INSERT INTO ${t.audit} (${cols(AUDIT_COLUMNS.slice(1))}) VALUES ${tuple(0, AUDIT_COLUMNS.length - 1)}`;
  const writeAudit = async (
    conn: SqlConnection,
    state: PhaseState,
    from: PhaseSetting | undefined,
    audit: AuditInput,
  ): Promise<void> => {
    await conn.query(insertAudit, [
      state.migration,
      state.changedAt.getTime(),
      audit.actor,
      audit.action,
      from ? settingJson(from) : null,
      settingJson(state),
      state.version,
      audit.reason,
      audit.forced ? 1 : 0,
    ]);
  };
  return { x, onChange, checkSetting, checkAction, selectState, readState, writeAudit };
}

/** Creating a migration's state and reading it. */
function stateMethods(p: PhaseSql): Pick<PhaseLog, 'init' | 'getState'> {
  const { readState, writeAudit, selectState } = p;
  const { name, prefix, schema, tuple, query, transaction, checkMigration, now: clock } = p.x;
  return {
    async init(migration, actor) {
      checkMigration('init', migration);
      return transaction('init', async (conn) => {
        const now = clock();
        const s = INITIAL_SETTING;
        const row = [migration, s.phase, s.rampPercent, s.writesPaused ? 1 : 0, s.strict ? 1 : 0, 1, now];
        const { affected } = await conn.query(
          schema.insertIfAbsent('phase', STATE_COLUMNS, ['migration'], [tuple(0, row.length)]),
          row,
        );
        if (affected > 0) {
          const state: PhaseState = { migration, ...s, version: 1, changedAt: new Date(now) };
          await writeAudit(conn, state, undefined, {
            actor,
            action: 'init',
            reason: 'migration created',
            forced: false,
          });
          return state;
        }
        // Another caller created it first and has committed (the insert waited for it): no locking read needed.
        const state = await readState(conn, migration, false);
        if (!state)
          throw new MidairError('UNKNOWN', `init on ${name}: the migration's state vanished while it was created`, {
            details: { store: name, operation: 'init' },
          });
        return state;
      });
    },

    async getState(migration) {
      const { rows } = await query('getState', selectState, [migration]);
      return rows[0] ? decodeState(rows[0], prefix + 'phase') : undefined;
    },
  };
}

/** Changing the state by compare-and-set, and the audit log. */
function changeMethods(p: PhaseSql): Pick<PhaseLog, 'compareAndSet' | 'appendAudit' | 'auditLog'> {
  const { x, onChange, checkSetting, checkAction, readState, writeAudit } = p;
  const { prefix, t, c, ph, cols, query, transaction, invalid, now: clock } = x;
  return {
    async compareAndSet(migration, expectedVersion, next, audit) {
      checkSetting('compareAndSet', next);
      checkAction('compareAndSet', audit);
      if (!Number.isSafeInteger(expectedVersion)) return undefined;
      return transaction('compareAndSet', async (conn) => {
        const current = await readState(conn, migration, true);
        if (!current || current.version !== expectedVersion) return undefined;
        const now = clock();
        const sets = [c.phase, c.ramp_percent, c.writes_paused, c.strict, c.changed_at].map(
          (col, i) => `${col} = ${ph(i + 1)}`,
        );
        const { affected } = await conn.query(
          `UPDATE ${t.phase} SET ${sets.join(', ')}, ${c.version} = ${c.version} + 1 WHERE ${c.migration} = ${ph(6)} AND ${c.version} = ${ph(7)}`,
          [
            next.phase,
            next.rampPercent,
            next.writesPaused ? 1 : 0,
            next.strict ? 1 : 0,
            now,
            migration,
            expectedVersion,
          ],
        );
        if (affected === 0) return undefined;
        const state: PhaseState = {
          migration,
          ...settingOf(next),
          version: expectedVersion + 1,
          changedAt: new Date(now),
        };
        await writeAudit(conn, state, current, audit);
        await onChange?.(conn, migration);
        return state;
      });
    },

    async appendAudit(migration, audit) {
      checkAction('appendAudit', audit);
      await transaction('appendAudit', async (conn) => {
        // Locked, so the entry carries the version it was written at.
        const current = await readState(conn, migration, true);
        if (!current) throw invalid('appendAudit', 'the migration has no state yet (init it first)');
        await writeAudit(conn, { ...current, changedAt: new Date(clock()) }, current, audit);
      });
    },

    async auditLog(migration, opts) {
      const limit = opts?.limit;
      if (limit !== undefined) x.checkLimit('auditLog', limit);
      const sql = `SELECT ${cols(AUDIT_COLUMNS)} FROM ${t.audit} WHERE ${c.migration} = ${ph(1)} ORDER BY ${c.seq} DESC${limit === undefined ? '' : ` LIMIT ${ph(2)}`}`;
      const { rows } = await query('auditLog', sql, limit === undefined ? [migration] : [migration, limit]);
      return rows.map((r) => decodeAudit(r, prefix + 'audit'));
    },
  };
}

/**
 * The phase log over SQL: one row per migration in `phase`, changed by
 * compare-and-set on its version, and its audit entries in `audit`. Each
 * change and its entry are written in one transaction; `onChange` runs
 * inside it (PostgreSQL: NOTIFY, delivered on commit).
 */
export function sqlPhaseLog(
  x: SqlControlContext,
  onChange?: (conn: SqlConnection, migration: string) => Promise<void>,
): Omit<PhaseLog, 'subscribe'> {
  const p = phaseSql(x, onChange);
  return { ...stateMethods(p), ...changeMethods(p) };
}
