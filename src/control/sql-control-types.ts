import type { SqlDialect } from '../sql/sql-dialect.js';

/** Column types that differ by dialect. */
export interface Types {
  readonly key: (chars: number) => string;
  /** A short ASCII key part (the repair direction). */
  readonly ascii: (chars: number) => string;
  readonly text: string;
  readonly longText: string;
  readonly int: string;
  readonly big: string;
  readonly real: string;
  readonly serial: string;
  readonly tableOptions: string;
}

const MYSQL_BIN = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';

export function columnTypes(dialect: SqlDialect): Types {
  switch (dialect.name) {
    case 'postgres':
      return {
        key: () => 'text',
        ascii: () => 'text',
        text: 'text',
        longText: 'text',
        int: 'integer',
        big: 'bigint',
        real: 'double precision',
        serial: 'bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
        tableOptions: '',
      };
    case 'mysql':
      return {
        // Binary collation: keys differing only in case or accents stay distinct, whatever the database's default.
        key: (n) => `VARCHAR(${n}) ${MYSQL_BIN}`,
        ascii: (n) => `VARCHAR(${n}) CHARACTER SET ascii COLLATE ascii_bin`,
        text: `TEXT ${MYSQL_BIN}`,
        longText: `LONGTEXT ${MYSQL_BIN}`,
        int: 'INT',
        big: 'BIGINT',
        real: 'DOUBLE',
        serial: 'BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY',
        tableOptions: ` ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      };
    case 'sqlite':
      return {
        key: () => 'TEXT',
        ascii: () => 'TEXT',
        text: 'TEXT',
        longText: 'TEXT',
        int: 'INTEGER',
        big: 'INTEGER',
        real: 'REAL',
        serial: 'INTEGER PRIMARY KEY AUTOINCREMENT',
        tableOptions: '',
      };
  }
}
