import { MidairError } from '../core/errors.js';
import { isPhase } from '../core/phases.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import type { SqlConnection, SqlDriver } from '../sql/sql-driver.js';
import { chunked } from '../core/collections.js';
import { AUDIT_ACTIONS, settingOf, type AuditInput, type ControlStore, type RangeLease, type PhaseSetting, type PhaseState } from './control-store.js';
import { INITIAL_SETTING } from './memory-control-store.js';
import { sqlControlContext } from './sql-control-context.js';
import { decodeAudit, decodeDeadLetter, decodeRange, decodeInstance, decodeState, num, settingJson, text } from './sql-control-rows.js';
import { MYSQL_KEY_LIMITS } from './sql-control-schema.js';
import { addMissingColumns } from './sql-control-upgrade.js';
import { sqlRepairQueue } from './sql-repair-queue.js';
import { repairToken } from './repair-token.js';

export interface SqlControlStoreOptions {
  /** A name for messages; default `<dialect>:control`. */
  readonly name?: string;
  /** Prepended to each control table's name; default `midair_` (`midair_phase`, `midair_audit` …). */
  readonly tablePrefix?: string;
  /** Runs inside the transaction of every phase change (PostgreSQL: NOTIFY, delivered on commit). */
  readonly onChange?: (conn: SqlConnection, migration: string) => Promise<void>;
  /**
   * The clock, in epoch milliseconds, for every time the store computes:
   * state and audit times, heartbeats' lastSeen, leases, due times and the
   * comparisons against them. Default `Date.now`. The database's own clock is
   * never used, so all backends agree and tests can move time by hand.
   */
  readonly now?: () => number;
}

const STATE_COLUMNS = ['migration', 'phase', 'ramp_percent', 'writes_paused', 'strict', 'version', 'changed_at'] as const;
const AUDIT_COLUMNS = ['seq', 'migration', 'at', 'actor', 'action', 'from_setting', 'to_setting', 'version', 'reason', 'forced'] as const;
const INSTANCE_COLUMNS = ['migration', 'instance_id', 'host', 'phase_version', 'in_flight_writes', 'last_seen', 'started_at'] as const;

/**
 * The control store over SQL — one implementation for PostgreSQL,
 * MySQL/MariaDB and SQLite, with the same semantics as
 * `memoryControlStore()`. Times are integer epoch milliseconds from the
 * process clock (`now`), so every backend stores them alike. Each change of
 * phase and its audit entry are written in one transaction; a
 * compare-and-set whose expected version is stale writes nothing.
 *
 * Use the factories `postgresControlStore`, `mysqlControlStore` and
 * `sqliteControlStore`; call `setup()` once to create the tables (it also
 * upgrades tables an older midair created).
 *
 * @example
 * ```ts
 * const control = sqlControlStore(new PostgresDialect(), postgresDriver(pool));
 * await control.setup();
 * const state = await control.init('users-to-pg', 'ops@host');
 * ```
 */
export function sqlControlStore(dialect: SqlDialect, driver: SqlDriver, options: SqlControlStoreOptions = {}): ControlStore {
  const x = sqlControlContext(dialect, driver, options);
  const { name, prefix, schema, t, c, ph, tuple, cols, batchRows, phs, query, transaction, wrap, invalid, fits, checkMigration, now: clock } = x;
  const checkSetting = (operation: string, s: PhaseSetting): void => {
    if (!isPhase(s.phase)) throw invalid(operation, 'unknown phase');
    if (!Number.isFinite(s.rampPercent)) throw invalid(operation, 'rampPercent must be a finite number');
    if (typeof s.writesPaused !== 'boolean' || typeof s.strict !== 'boolean') throw invalid(operation, 'writesPaused and strict must be booleans');
  };
  const checkAction = (operation: string, audit: AuditInput): void => {
    if (!(AUDIT_ACTIONS as readonly string[]).includes(audit.action)) throw invalid(operation, `action must be one of ${AUDIT_ACTIONS.join(', ')}`);
  };

  const selectState = `SELECT ${cols(STATE_COLUMNS)} FROM ${t.phase} WHERE ${c.migration} = ${ph(1)}`;
  const readState = async (conn: SqlConnection, migration: string, lock: boolean): Promise<PhaseState | undefined> => {
    const { rows } = await conn.query(selectState + (lock ? dialect.forUpdate : ''), [migration]);
    return rows[0] ? decodeState(rows[0], prefix + 'phase') : undefined;
  };
  const insertAudit = `INSERT INTO ${t.audit} (${cols(AUDIT_COLUMNS.slice(1))}) VALUES ${tuple(0, AUDIT_COLUMNS.length - 1)}`;
  const writeAudit = async (conn: SqlConnection, state: PhaseState, from: PhaseSetting | undefined, audit: AuditInput): Promise<void> => {
    const to = settingJson(state);
    const params = [state.migration, state.changedAt.getTime(), audit.actor, audit.action, from ? settingJson(from) : null, to, state.version, audit.reason, audit.forced ? 1 : 0];
    await conn.query(insertAudit, params);
  };
  const readRanges = async (migration: string, rangeName: string): Promise<RangeLease[]> => {
    const cols = ['range_id', 'lo', 'hi', 'after_key', 'owner', 'token', 'leased_until', 'complete'] as const;
    const sql = `SELECT ${cols.map((x) => c[x]).join(', ')} FROM ${t.ranges} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)} ORDER BY ${c.range_id}`;
    const { rows } = await query('ranges', sql, [migration, rangeName]);
    return rows.map((r) => decodeRange(r, prefix + 'ranges'));
  };

  return {
    name,

    async setup() {
      for (const sql of schema.ddl) await query('setup', sql, []);
      await addMissingColumns(x);
    },

    async init(migration, actor) {
      checkMigration('init', migration);
      return transaction('init', async (conn) => {
        const now = clock();
        const s = INITIAL_SETTING;
        const row = [migration, s.phase, s.rampPercent, s.writesPaused ? 1 : 0, s.strict ? 1 : 0, 1, now];
        const { affected } = await conn.query(schema.insertIfAbsent('phase', STATE_COLUMNS, ['migration'], [tuple(0, row.length)]), row);
        if (affected > 0) {
          const state: PhaseState = { migration, ...s, version: 1, changedAt: new Date(now) };
          await writeAudit(conn, state, undefined, { actor, action: 'init', reason: 'migration created', forced: false });
          return state;
        }
        // Another caller created it first and has committed (the insert waited for it): no locking read needed.
        const state = await readState(conn, migration, false);
        if (!state) throw new MidairError('UNKNOWN', `init on ${name}: the migration's state vanished while it was created`, { details: { store: name, operation: 'init' } });
        return state;
      });
    },

    async getState(migration) {
      const { rows } = await query('getState', selectState, [migration]);
      return rows[0] ? decodeState(rows[0], prefix + 'phase') : undefined;
    },

    async compareAndSet(migration, expectedVersion, next, audit) {
      checkSetting('compareAndSet', next);
      checkAction('compareAndSet', audit);
      if (!Number.isSafeInteger(expectedVersion)) return undefined;
      return transaction('compareAndSet', async (conn) => {
        const current = await readState(conn, migration, true);
        if (!current || current.version !== expectedVersion) return undefined;
        const now = clock();
        const sets = [c.phase, c.ramp_percent, c.writes_paused, c.strict, c.changed_at].map((col, i) => `${col} = ${ph(i + 1)}`);
        const { affected } = await conn.query(
          `UPDATE ${t.phase} SET ${sets.join(', ')}, ${c.version} = ${c.version} + 1 WHERE ${c.migration} = ${ph(6)} AND ${c.version} = ${ph(7)}`,
          [next.phase, next.rampPercent, next.writesPaused ? 1 : 0, next.strict ? 1 : 0, now, migration, expectedVersion],
        );
        if (affected === 0) return undefined;
        const state: PhaseState = {
          migration,
          ...settingOf(next),
          version: expectedVersion + 1,
          changedAt: new Date(now),
        };
        await writeAudit(conn, state, current, audit);
        await options.onChange?.(conn, migration);
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

    async heartbeat(info) {
      checkMigration('heartbeat', info.migration);
      fits('heartbeat', 'the instance id', info.instanceId, MYSQL_KEY_LIMITS.instanceId);
      const now = clock();
      const row = [info.migration, info.instanceId, info.host, info.phaseVersion, info.inFlightWrites, now, now];
      const sql = schema.upsert('instances', INSTANCE_COLUMNS, ['migration', 'instance_id'], [tuple(0, row.length)], (_cur, inc) =>
        (['host', 'phase_version', 'in_flight_writes', 'last_seen'] as const).map((x) => `${c[x]} = ${inc(x)}`),
      );
      await query('heartbeat', sql, row);
    },

    async instances(migration, since) {
      const sql = `SELECT ${cols(INSTANCE_COLUMNS)} FROM ${t.instances} WHERE ${c.migration} = ${ph(1)} AND ${c.last_seen} >= ${ph(2)} ORDER BY ${c.started_at}, ${c.instance_id}`;
      const { rows } = await query('instances', sql, [migration, since.getTime()]);
      return rows.map((r) => decodeInstance(r, prefix + 'instances'));
    },

    async removeInstance(migration, instanceId) {
      await query('removeInstance', `DELETE FROM ${t.instances} WHERE ${c.migration} = ${ph(1)} AND ${c.instance_id} = ${ph(2)}`, [migration, instanceId]);
    },

    ...sqlRepairQueue(x),

    async addDeadLetters(migration, entries) {
      checkMigration('addDeadLetters', migration);
      const byKey = new Map<string, string>();
      for (const e of entries) {
        fits('addDeadLetters', 'a key id', e.keyId, MYSQL_KEY_LIMITS.keyId);
        byKey.set(e.keyId, e.reason);
      }
      if (byKey.size === 0) return;
      const now = clock();
      await transaction('addDeadLetters', async (conn) => {
        for (const batch of chunked([...byKey.keys()].sort(), batchRows)) {
          const params: unknown[] = [];
          const rows = batch.map((keyId, i) => {
            params.push(migration, keyId, byKey.get(keyId) ?? '', now);
            return `(${phs(i * 4, 4)}, 1)`; // attempts
          });
          const sql = schema.upsert('dead_letters', ['migration', 'key_id', 'reason', 'at', 'attempts'], ['migration', 'key_id'], rows, (cur, inc) => [
            `${c.reason} = ${inc('reason')}`,
            `${c.attempts} = ${cur('attempts')} + 1`,
          ]);
          await conn.query(sql, params);
        }
      });
    },

    async deadLetters(migration, limit) {
      x.checkLimit('deadLetters', limit);
      const sql = `SELECT ${c.key_id}, ${c.reason}, ${c.at}, ${c.attempts} FROM ${t.dead_letters} WHERE ${c.migration} = ${ph(1)} ORDER BY ${c.at}, ${c.key_id} LIMIT ${ph(2)}`;
      const { rows } = await query('deadLetters', sql, [migration, limit]);
      return rows.map((r) => decodeDeadLetter(r, prefix + 'dead_letters'));
    },

    async removeDeadLetters(migration, keyIds) {
      let removed = 0;
      for (const batch of chunked([...new Set(keyIds)], batchRows)) {
        const sql = `DELETE FROM ${t.dead_letters} WHERE ${c.migration} = ${ph(1)} AND ${c.key_id} IN ${tuple(1, batch.length)}`;
        removed += (await query('removeDeadLetters', sql, [migration, ...batch])).affected;
      }
      return removed;
    },

    async deadLetterCount(migration) {
      const { rows } = await query('deadLetterCount', `SELECT COUNT(*) FROM ${t.dead_letters} WHERE ${c.migration} = ${ph(1)}`, [migration]);
      return rows[0] ? num(rows[0], 0, prefix + 'dead_letters', 'count') : 0;
    },

    async createRanges(migration, rangeName, ranges) {
      checkMigration('createRanges', migration);
      fits('createRanges', 'the backfill name', rangeName, MYSQL_KEY_LIMITS.checkpointName);
      return transaction('createRanges', async (conn) => {
        // One creator wins: the claim row blocks a concurrent creator until this commits, which then inserts nothing.
        const claim = await conn.query(schema.insertIfAbsent('checkpoints', ['migration', 'name', 'value', 'updated_at'], ['migration', 'name'], [tuple(0, 4)]), [
          migration,
          `${rangeName}:ranges`,
          String(ranges.length),
          clock(),
        ]);
        if (claim.affected === 0) return false;
        for (const batch of chunked(ranges.map((r, i) => ({ ...r, i })), batchRows)) {
          const params: unknown[] = [];
          const rows = batch.map((r, j) => {
            params.push(migration, rangeName, r.i, r.lo ?? null, r.hi ?? null);
            return `(${phs(j * 5, 5)}, NULL, NULL, 0, 0, 0)`;
          });
          const cols = ['migration', 'name', 'range_id', 'lo', 'hi', 'after_key', 'owner', 'token', 'leased_until', 'complete'] as const;
          await conn.query(`INSERT INTO ${t.ranges} (${cols.map((x) => c[x]).join(', ')}) VALUES ${rows.join(', ')}`, params);
        }
        return true;
      });
    },

    async claimRange(migration, rangeName, owner, leaseMs) {
      const now = clock();
      const sql = `SELECT ${c.range_id}, ${c.token} FROM ${t.ranges} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)} AND ${c.complete} = 0 AND ${c.leased_until} < ${ph(3)} ORDER BY ${c.range_id} LIMIT 20`;
      const { rows } = await query('claimRange', sql, [migration, rangeName, now]);
      for (const r of rows) {
        const rangeId = num(r, 0, prefix + 'ranges', 'range_id');
        const old = num(r, 1, prefix + 'ranges', 'token');
        const token = repairToken();
        // Compare-and-swap on the old token: of two claimers, one wins.
        const update =
          `UPDATE ${t.ranges} SET ${c.owner} = ${ph(1)}, ${c.token} = ${ph(2)}, ${c.leased_until} = ${ph(3)} ` +
          `WHERE ${c.migration} = ${ph(4)} AND ${c.name} = ${ph(5)} AND ${c.range_id} = ${ph(6)} AND ${c.token} = ${ph(7)} AND ${c.complete} = 0`;
        const { affected } = await query('claimRange', update, [owner, token, now + leaseMs, migration, rangeName, rangeId, old]);
        if (affected === 1) return (await readRanges(migration, rangeName)).find((x) => x.rangeId === rangeId);
      }
      return undefined;
    },

    async renewRange(migration, rangeName, rangeId, token, leaseMs, after) {
      const sql =
        `UPDATE ${t.ranges} SET ${c.leased_until} = ${ph(1)}, ${c.after_key} = COALESCE(${ph(2)}, ${c.after_key}) ` +
        `WHERE ${c.migration} = ${ph(3)} AND ${c.name} = ${ph(4)} AND ${c.range_id} = ${ph(5)} AND ${c.token} = ${ph(6)} AND ${c.complete} = 0`;
      const { affected } = await query('renewRange', sql, [clock() + leaseMs, after ?? null, migration, rangeName, rangeId, token]);
      return affected === 1;
    },

    async completeRange(migration, rangeName, rangeId, token) {
      const sql =
        `UPDATE ${t.ranges} SET ${c.complete} = 1, ${c.leased_until} = 0 ` +
        `WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)} AND ${c.range_id} = ${ph(3)} AND ${c.token} = ${ph(4)} AND ${c.complete} = 0`;
      const { affected } = await query('completeRange', sql, [migration, rangeName, rangeId, token]);
      return affected === 1;
    },

    ranges: (migration, rangeName) => readRanges(migration, rangeName),

    async dropRanges(migration, rangeName) {
      await transaction('dropRanges', async (conn) => {
        await conn.query(`DELETE FROM ${t.ranges} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`, [migration, rangeName]);
        await conn.query(`DELETE FROM ${t.checkpoints} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`, [migration, `${rangeName}:ranges`]);
      });
    },

    async saveCheckpoint(migration, checkpoint, value) {
      checkMigration('saveCheckpoint', migration);
      fits('saveCheckpoint', 'the checkpoint name', checkpoint, MYSQL_KEY_LIMITS.checkpointName);
      const sql = schema.upsert('checkpoints', ['migration', 'name', 'value', 'updated_at'], ['migration', 'name'], [tuple(0, 4)], (_cur, inc) => [
        `${c.value} = ${inc('value')}`,
        `${c.updated_at} = ${inc('updated_at')}`,
      ]);
      await query('saveCheckpoint', sql, [migration, checkpoint, value, clock()]);
    },

    async loadCheckpoint(migration, checkpoint) {
      const sql = `SELECT ${c.value} FROM ${t.checkpoints} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`;
      const { rows } = await query('loadCheckpoint', sql, [migration, checkpoint]);
      return rows[0] ? text(rows[0], 0, prefix + 'checkpoints', 'value') : undefined;
    },

    async close() {
      try {
        await driver.close();
      } catch (err) {
        throw wrap('close', err);
      }
    },
  };
}
