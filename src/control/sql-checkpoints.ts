import type { CheckpointStore } from './checkpoint-store.js';
import type { SqlControlContext } from './sql-control-context.js';
import { text } from './sql-control-rows.js';
import { MYSQL_KEY_LIMITS } from './sql-control-schema.js';

/** Checkpoints over SQL: one row per (migration, name) in `checkpoints`, its value as text. */
export function sqlCheckpoints(x: SqlControlContext): CheckpointStore {
  const { prefix, schema, t, c, ph, tuple, query, fits, checkMigration, now: clock } = x;
  return {
    async saveCheckpoint(migration, checkpoint, value) {
      checkMigration('saveCheckpoint', migration);
      fits('saveCheckpoint', 'the checkpoint name', checkpoint, MYSQL_KEY_LIMITS.checkpointName);
      const sql = schema.upsert(
        'checkpoints',
        ['migration', 'name', 'value', 'updated_at'],
        ['migration', 'name'],
        [tuple(0, 4)],
        (_cur, inc) => [`${c.value} = ${inc('value')}`, `${c.updated_at} = ${inc('updated_at')}`],
      );
      await query('saveCheckpoint', sql, [migration, checkpoint, value, clock()]);
    },

    async loadCheckpoint(migration, checkpoint) {
      const sql = `SELECT ${c.value} FROM ${t.checkpoints} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`;
      const { rows } = await query('loadCheckpoint', sql, [migration, checkpoint]);
      return rows[0] ? text(rows[0], 0, prefix + 'checkpoints', 'value') : undefined;
    },

    async deleteCheckpoint(migration, checkpoint) {
      await query(
        'deleteCheckpoint',
        `DELETE FROM ${t.checkpoints} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`,
        [migration, checkpoint],
      );
    },
  };
}
