import type { ControlLifecycle } from './control-store.js';
import type { SqlControlContext } from './sql-control-context.js';
import { CONTROL_TABLES } from './sql-control-schema.js';
import { decodeState } from './sql-control-rows.js';
import { STATE_COLUMNS } from './sql-phase-log.js';

/** The migrations a SQL control store holds, and removing one of them with everything it recorded. */
export function sqlMigrations(x: SqlControlContext): Pick<ControlLifecycle, 'migrations' | 'removeMigration'> {
  const { t, c, ph, cols, prefix } = x;
  return {
    async migrations() {
      const { rows } = await x.query(
        'migrations',
        `SELECT ${cols(STATE_COLUMNS)} FROM ${t.phase} ORDER BY ${c.migration}`,
        [],
      );
      return rows.map((r) => decodeState(r, `${prefix}phase`));
    },
    async removeMigration(migration) {
      x.checkMigration('removeMigration', migration);
      await x.transaction('removeMigration', async (conn) => {
        // The phase row last: a store that was read meanwhile saw the migration whole until its state went.
        for (const table of [...CONTROL_TABLES].reverse())
          await conn.query(`DELETE FROM ${t[table]} WHERE ${c.migration} = ${ph(1)}`, [migration]);
      });
    },
  };
}
