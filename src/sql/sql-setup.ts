import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { CheckReport, ForeignKeyRef } from '../core/check-report.js';
import type { CallOptions } from '../core/store.js';
import type { MappedField } from '../mapping/mapping.js';
import type { TableInfo } from './sql-catalog.js';
import { checkSchema, uniqueFieldsOf } from './sql-check.js';
import type { StoreParts } from './sql-store-parts.js';

/** A store's schema: midair's own tables created (`setup`), and the mapping compared with the live schema (`check`). */
export class SqlSchema<K extends Key, E extends object> {
  readonly #p: StoreParts<K, E>;

  constructor(parts: StoreParts<K, E>) {
    this.#p = parts;
  }

  async introspect(table: string, schema: string | undefined): Promise<TableInfo | undefined> {
    return this.#p.runner.attempt('check', () => this.#p.dialect.introspect(this.#p.runner.driver, table, schema));
  }

  async setup(options?: CallOptions): Promise<void> {
    const { name, sql, runner } = this.#p;
    this.#p.open('setup', options);
    const primary = sql.primary;
    const info = await this.introspect(primary.table, primary.schema);
    if (!info) {
      throw new MidairError(
        'SCHEMA_MISMATCH',
        `setup on ${name}: table ${primary.table} does not exist; create it before midair's tombstone table`,
        {
          details: { store: name, operation: 'setup', table: primary.table },
        },
      );
    }
    const typeOf = (f: MappedField): string => {
      const column = info.columns.get(f.column);
      if (!column) {
        throw new MidairError(
          'SCHEMA_MISMATCH',
          `setup on ${name}: column ${primary.table}.${f.column} does not exist (run check() for the full report)`,
          {
            details: { store: name, operation: 'setup', table: primary.table, column: f.column },
          },
        );
      }
      return column.type;
    };
    await runner.query('setup', this.#p.writeSql.createTombstoneTable(typeOf), []);
    await runner.query('setup', this.#p.fences.createTable(), []);
    await runner.query('setup', this.#p.probe.createTable, []);
  }

  async check(options?: CallOptions): Promise<CheckReport> {
    const { mapping, name, dialect, fenceTable } = this.#p;
    this.#p.open('check', options);
    const infos = [];
    for (const t of mapping.tables) infos.push(await this.introspect(t.table, t.schema));
    const tomb = await this.introspect(mapping.tombstone.table, mapping.tombstone.schema);
    const fence = await this.introspect(fenceTable, mapping.tombstone.schema);
    const problems = checkSchema(mapping, dialect.name, infos, tomb, { table: fenceTable, info: fence });
    return {
      store: name,
      ok: !problems.some((p) => p.severity === 'error'),
      problems,
      uniques: uniqueFieldsOf(mapping, infos),
      referencedBy: await this.#referencedBy(infos.map((i) => i !== undefined)),
    };
  }

  /** Foreign keys of other tables into the mapped tables that exist (the mapping's own tables hold the key together). */
  async #referencedBy(exists: readonly boolean[]): Promise<ForeignKeyRef[]> {
    const { mapping, runner, dialect } = this.#p;
    const own = new Set(mapping.tables.map((t) => t.table));
    const refs: ForeignKeyRef[] = [];
    for (const [i, t] of mapping.tables.entries()) {
      if (!exists[i]) continue;
      const found = await runner.attempt('check', () => dialect.referencedBy(runner.driver, t.table, t.schema));
      refs.push(...found.filter((r) => !own.has(r.table)));
    }
    return refs;
  }
}
