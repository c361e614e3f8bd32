import { col, sqlMapping } from '../../src/mapping/mapping.js';

export interface User {
  id: bigint;
  email: string;
  name: string;
}

/** The mappings of the config `writeSqliteUsers` writes (test/cli/cli-support.ts). */
export const OLD_USERS = sqlMapping<User>({
  key: 'id',
  tables: [{ table: 'users', columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('name') } }],
});
export const NEW_USERS = sqlMapping<User>({
  key: 'id',
  tables: [
    { table: 'users', columns: { id: col.bigint('id'), email: col.text('email') } },
    { table: 'user_profiles', columns: { id: col.bigint('user_id'), name: col.text('full_name') } },
  ],
});
