import { describeFailure, MidairError } from '../errors.js';
import { isPhase } from '../migration/phases.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import type { SqlConnection, SqlDriver, SqlResult } from '../sql/sql-driver.js';
import { chunked } from '../sql/sql-statements.js';
import { AUDIT_ACTIONS, REPAIR_DIRECTIONS, settingOf, type AuditInput, type ControlStore, type RangeLease, type PhaseSetting, type PhaseState, type RepairDirection } from './control-store.js';
import { INITIAL_SETTING } from './memory-control-store.js';
import { decodeAudit, decodeDeadLetter, decodeRange, decodeInstance, decodeRepair, decodeState, num, settingJson, text } from './sql-control-rows.js';
import { controlSchema, MYSQL_KEY_LIMITS, type ControlColumn } from './sql-control-schema.js';
import { repairToken } from './repair-token.js';

export interface SqlControlStoreOptions {
  /** A name for messages; default `<dialect>:control`. */
  readonly name?: string;
  /** Prepended to each control table's name; default `midair_` (`midair_phase`, `midair_audit` …). */
  readonly tablePrefix?: string;
  /** Runs inside the transaction of every phase change (PostgreSQL: NOTIFY, delivered on commit). */
  readonly onChange?: (conn: SqlConnection, migration: string) => Promise<void>;
}

const DEADLOCK_RETRIES = 8;
const STATE_COLUMNS = ['migration', 'phase', 'ramp_percent', 'writes_paused', 'strict', 'version', 'changed_at'] as const;
const AUDIT_COLUMNS = ['seq', 'migration', 'at', 'actor', 'action', 'from_setting', 'to_setting', 'version', 'reason', 'forced'] as const;
const INSTANCE_COLUMNS = ['migration', 'instance_id', 'host', 'phase_version', 'in_flight_writes', 'last_seen', 'started_at'] as const;

const REPAIR_COLUMNS = ['migration', 'direction', 'key_id', 'seq', 'reason', 'enqueued_at', 'attempts'] as const;

/**
 * The control store over SQL — one implementation for PostgreSQL,
 * MySQL/MariaDB and SQLite, with the same semantics as
 * `memoryControlStore()`. Times are integer epoch milliseconds from the
 * process clock, so every backend stores them alike. Each change of phase
 * and its audit entry are written in one transaction; a compare-and-set
 * whose expected version is stale writes nothing.
 *
 * Use the factories `postgresControlStore`, `mysqlControlStore` and
 * `sqliteControlStore`; call `setup()` once to create the tables.
 *
 * @example
 * ```ts
 * const control = sqlControlStore(new PostgresDialect(), postgresDriver(pool));
 * await control.setup();
 * const state = await control.init('users-to-pg', 'ops@host');
 * ```
 */
export function sqlControlStore(dialect: SqlDialect, driver: SqlDriver, options: SqlControlStoreOptions = {}): ControlStore {
  const name = options.name ?? `${dialect.name}:control`;
  const prefix = options.tablePrefix ?? 'midair_';
  const schema = controlSchema(dialect, prefix);
  const { t, c } = schema;
  const ph = (i: number): string => dialect.placeholder(i);
  /** `?, ?, …` for `width` parameters numbered after `offset`. */
  const phs = (offset: number, width: number): string => Array.from({ length: width }, (_, i) => ph(offset + i + 1)).join(', ');
  const tuple = (offset: number, width: number): string => `(${phs(offset, width)})`;
  const cols = (list: readonly ControlColumn[]): string => list.map((x) => c[x]).join(', ');
  const batchRows = Math.max(1, Math.min(500, Math.floor(dialect.maxParams / 8)));

  const wrap = (operation: string, err: unknown): MidairError => {
    if (err instanceof MidairError) return err;
    const { code, details } = dialect.classifyError(err);
    const full = { ...details, store: name, operation };
    const hint = code === 'SCHEMA_MISMATCH' ? '; run setup() to create the control tables' : '';
    return new MidairError(code, describeFailure(code, full) + hint, { cause: err, details: full });
  };
  const invalid = (operation: string, what: string): MidairError =>
    new MidairError('INVALID_ARGUMENT', `${operation} on ${name}: ${what}`, { details: { store: name, operation } });

  const query = async (operation: string, sql: string, params: readonly unknown[]): Promise<SqlResult> => {
    try {
      return await driver.query(sql, params);
    } catch (err) {
      throw wrap(operation, err);
    }
  };
  /** One transaction, retried when the database aborts it for a deadlock (it then wrote nothing). */
  const transaction = async <T>(operation: string, fn: (conn: SqlConnection) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await driver.transaction(fn);
      } catch (err) {
        const error = wrap(operation, err);
        if (error.code !== 'DEADLOCK' || attempt >= DEADLOCK_RETRIES) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  };

  /** MySQL key columns are VARCHAR(n): refuse what would not fit rather than let a lax server truncate it. */
  const fits = (operation: string, what: string, value: string, limit: number): void => {
    if (dialect.name === 'mysql' && [...value].length > limit) throw invalid(operation, `${what} is longer than the ${limit} characters MySQL's control tables hold`);
  };
  const checkMigration = (operation: string, migration: string): void => fits(operation, 'the migration name', migration, MYSQL_KEY_LIMITS.migration);
  const checkDirection = (operation: string, direction: RepairDirection): void => {
    if (!(REPAIR_DIRECTIONS as readonly string[]).includes(direction)) throw invalid(operation, `direction must be one of ${REPAIR_DIRECTIONS.join(', ')}`);
  };
  const checkSetting = (operation: string, s: PhaseSetting): void => {
    if (!isPhase(s.phase)) throw invalid(operation, 'unknown phase');
    if (!Number.isFinite(s.rampPercent)) throw invalid(operation, 'rampPercent must be a finite number');
    if (typeof s.writesPaused !== 'boolean' || typeof s.strict !== 'boolean') throw invalid(operation, 'writesPaused and strict must be booleans');
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
  const repairKey = `${c.migration} = ${ph(1)} AND ${c.direction} = ${ph(2)}`;
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
    },

    async init(migration, actor) {
      checkMigration('init', migration);
      return transaction('init', async (conn) => {
        const now = Date.now();
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
      if (!(AUDIT_ACTIONS as readonly string[]).includes(audit.action)) throw invalid('compareAndSet', `action must be one of ${AUDIT_ACTIONS.join(', ')}`);
      if (!Number.isSafeInteger(expectedVersion)) return undefined;
      return transaction('compareAndSet', async (conn) => {
        const current = await readState(conn, migration, true);
        if (!current || current.version !== expectedVersion) return undefined;
        const now = Date.now();
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

    async auditLog(migration, opts) {
      const limit = opts?.limit;
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) throw invalid('auditLog', 'limit must be a non-negative integer');
      const sql = `SELECT ${cols(AUDIT_COLUMNS)} FROM ${t.audit} WHERE ${c.migration} = ${ph(1)} ORDER BY ${c.seq} DESC${limit === undefined ? '' : ` LIMIT ${ph(2)}`}`;
      const { rows } = await query('auditLog', sql, limit === undefined ? [migration] : [migration, limit]);
      return rows.map((r) => decodeAudit(r, prefix + 'audit'));
    },

    async heartbeat(info) {
      checkMigration('heartbeat', info.migration);
      fits('heartbeat', 'the instance id', info.instanceId, MYSQL_KEY_LIMITS.instanceId);
      const now = Date.now();
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

    async enqueueRepairs(migration, direction, entries) {
      checkMigration('enqueueRepairs', migration);
      checkDirection('enqueueRepairs', direction);
      // One row per key, with the last reason; every enqueue gets a fresh token as its seq.
      const byKey = new Map<string, { reason: string }>();
      for (const e of entries) {
        fits('enqueueRepairs', 'a key id', e.keyId, MYSQL_KEY_LIMITS.keyId);
        byKey.set(e.keyId, { reason: e.reason });
      }
      if (byKey.size === 0) return;
      // Sorted, so concurrent enqueues lock keys in one order.
      const keys = [...byKey.keys()].sort();
      const now = Date.now();
      await transaction('enqueueRepairs', async (conn) => {
        for (const batch of chunked(keys, batchRows)) {
          const params: unknown[] = [];
          const rows = batch.map((keyId, i) => {
            const e = byKey.get(keyId) ?? { reason: '' };
            params.push(migration, direction, keyId, repairToken(), e.reason, now);
            return `(${phs(i * 6, 6)}, 0)`; // attempts
          });
          const sql = schema.upsert('repairs', REPAIR_COLUMNS, ['migration', 'direction', 'key_id'], rows, (cur, inc) => [
            `${c.seq} = ${inc('seq')}`,
            `${c.reason} = ${inc('reason')}`,
          ]);
          await conn.query(sql, params);
        }
      });
    },

    async pendingRepairs(migration, direction, keyIds) {
      const found = new Set<string>();
      for (const batch of chunked([...new Set(keyIds)], batchRows)) {
        const sql = `SELECT ${c.key_id} FROM ${t.repairs} WHERE ${repairKey} AND ${c.key_id} IN ${tuple(2, batch.length)}`;
        const { rows } = await query('pendingRepairs', sql, [migration, direction, ...batch]);
        for (const r of rows) found.add(text(r, 0, prefix + 'repairs', 'key_id'));
      }
      return found;
    },

    async peekRepairs(migration, direction, limit) {
      if (!(Number.isSafeInteger(limit) && limit >= 0)) throw invalid('peekRepairs', 'limit must be a non-negative integer');
      const sql = `SELECT ${cols(REPAIR_COLUMNS)} FROM ${t.repairs} WHERE ${repairKey} ORDER BY ${c.enqueued_at}, ${c.key_id} LIMIT ${ph(3)}`;
      const { rows } = await query('peekRepairs', sql, [migration, direction, limit]);
      return rows.map((r) => decodeRepair(r, prefix + 'repairs'));
    },

    async completeRepair(migration, direction, keyId, seq) {
      const sql = `DELETE FROM ${t.repairs} WHERE ${repairKey} AND ${c.key_id} = ${ph(3)} AND ${c.seq} = ${ph(4)}`;
      const { affected } = await query('completeRepair', sql, [migration, direction, keyId, seq]);
      return affected > 0;
    },

    async failRepair(migration, direction, keyId, seq) {
      const sql = `UPDATE ${t.repairs} SET ${c.attempts} = ${c.attempts} + 1 WHERE ${repairKey} AND ${c.key_id} = ${ph(3)} AND ${c.seq} = ${ph(4)}`;
      await query('failRepair', sql, [migration, direction, keyId, seq]);
    },

    async repairDepth(migration, direction) {
      const where = direction === undefined ? `${c.migration} = ${ph(1)}` : repairKey;
      const { rows } = await query('repairDepth', `SELECT COUNT(*) FROM ${t.repairs} WHERE ${where}`, direction === undefined ? [migration] : [migration, direction]);
      return rows[0] ? num(rows[0], 0, prefix + 'repairs', 'count') : 0;
    },

    async addDeadLetters(migration, entries) {
      checkMigration('addDeadLetters', migration);
      const byKey = new Map<string, string>();
      for (const e of entries) {
        fits('addDeadLetters', 'a key id', e.keyId, MYSQL_KEY_LIMITS.keyId);
        byKey.set(e.keyId, e.reason);
      }
      if (byKey.size === 0) return;
      const now = Date.now();
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
      if (!(Number.isSafeInteger(limit) && limit >= 0)) throw invalid('deadLetters', 'limit must be a non-negative integer');
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
          Date.now(),
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
      const now = Date.now();
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
      const { affected } = await query('renewRange', sql, [Date.now() + leaseMs, after ?? null, migration, rangeName, rangeId, token]);
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
      await query('saveCheckpoint', sql, [migration, checkpoint, value, Date.now()]);
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
