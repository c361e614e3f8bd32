import { deleteAllowed } from '../core/entity.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type {
  CallOptions,
  DeleteOptions,
  Fence,
  KeyState,
  PutOptions,
  SyncResult,
  UpdateResult,
} from '../core/store.js';
import { validateFence, validateMigrationName } from '../core/fence-rules.js';
import type { StoreParts } from './sql-store-parts.js';
import type { SqlConnection } from './sql-driver.js';
import type { LockedKey, SqlWriteEngine } from './sql-write-engine.js';
import { SqlDirectWrites } from './sql-direct.js';

/** The writes of one key (and the reads that take its lock), and the fence. */
export class SqlKeyWrites<K extends Key, E extends object> {
  readonly #p: StoreParts<K, E>;
  readonly #engine: SqlWriteEngine<K, E>;
  readonly #versioned: boolean;
  readonly #direct: SqlDirectWrites<K, E>;

  constructor(parts: StoreParts<K, E>, engine: SqlWriteEngine<K, E>) {
    this.#p = parts;
    this.#direct = new SqlDirectWrites(parts);
    this.#engine = engine;
    this.#versioned = parts.mapping.versionField !== undefined;
  }

  async put(entity: E, options?: PutOptions): Promise<void> {
    this.#p.open('put', options);
    const [prepared] = this.#p.codec.prepare([entity]);
    if (!prepared) return;
    if (options?.direct && (await this.#direct.put(prepared, options))) return;
    const keep = options?.keepTombstone === true || options?.direct === true;
    await this.#engine.write('put', options, async (conn) => {
      await this.#engine.lockOnly(conn, [prepared.id]);
      if (!keep) await this.#engine.deleteTombstones(conn, [prepared.key]);
      await this.#engine.upsert(conn, [prepared]);
    });
  }

  async delete(key: K, options?: DeleteOptions): Promise<boolean> {
    this.#p.open('delete', options);
    const version = options?.version;
    if (version !== undefined && !this.#versioned) {
      throw new MidairError(
        'INVALID_ARGUMENT',
        `delete on ${this.#p.name}: a version was given but the mapping has no version field`,
      );
    }
    if (options?.direct && version === undefined && (await this.#direct.delete(key, options))) return true;
    const tombstone = !options?.direct && (options?.tombstone ?? true);
    return this.#engine.write('delete', options, async (conn) => {
      const current = await this.#engine.lockKey(conn, key);
      if (current.row && !deleteAllowed(version, current.rowVersion)) return false;
      return this.#engine.deleteLocked(conn, key, current, tombstone ? { version } : undefined);
    });
  }

  /** A direct patch (see {@link SqlDirectWrites.patch}). */
  async patch(key: K, fields: Partial<E>, options?: CallOptions): Promise<E | undefined> {
    this.#p.open('patch', options);
    return this.#direct.patch(key, fields, options);
  }

  async syncKey(key: K, read: () => Promise<E | undefined>, options?: CallOptions): Promise<SyncResult> {
    this.#p.open('syncKey', options);
    return this.#engine.write('syncKey', options, async (conn) => {
      const current = await this.#engine.lockKey(conn, key);
      return this.#writeLocked(conn, key, current, await read(), 'syncKey');
    });
  }

  /**
   * The key's row and tombstone at one instant: read under the key's lock,
   * the one every midair writer of this store takes first, so no write of the
   * key can fall between the two reads. Writes nothing.
   */
  async readKey(key: K, options?: CallOptions): Promise<KeyState<K, E>> {
    this.#p.open('readKey', options);
    const { signal } = options ?? {};
    return this.#engine.write('readKey', signal ? { signal } : undefined, async (conn) =>
      this.#stateLocked(conn, key, await this.#engine.lockKey(conn, key)),
    );
  }

  async updateKey(
    key: K,
    next: (current: KeyState<K, E>) => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult> {
    this.#p.open('updateKey', options);
    return this.#engine.write('updateKey', options, async (conn) => {
      const current = await this.#engine.lockKey(conn, key);
      const value = await next(await this.#stateLocked(conn, key, current));
      return value === null ? 'unchanged' : this.#writeLocked(conn, key, current, value, 'updateKey');
    });
  }

  /** Under the key's lock: a put of `value` that clears the tombstone, or for `undefined` a delete that leaves one. */
  async #writeLocked(
    conn: SqlConnection,
    key: K,
    current: LockedKey,
    value: E | undefined,
    operation: string,
  ): Promise<SyncResult> {
    if (value === undefined)
      return (await this.#engine.deleteLocked(conn, key, current, { version: undefined })) ? 'deleted' : 'absent';
    const prepared = this.#p.codec.prepareFor(key, value, operation);
    if (current.tombstone) await this.#engine.deleteTombstones(conn, [key]);
    await this.#engine.upsert(conn, [prepared]);
    return 'put';
  }

  /** The row and tombstone of a key whose lock `conn` holds. */
  async #stateLocked(conn: SqlConnection, key: K, current: LockedKey): Promise<KeyState<K, E>> {
    const { sql, codec } = this.#p;
    if (current.row) {
      const statement = sql.byKey(key);
      const { rows } = await conn.query(statement.sql, statement.params);
      if (rows[0] !== undefined) return { entity: codec.decode(rows[0]) };
    }
    if (!current.tombstone) return {};
    const statement = sql.tombstoneDeletedAt(key);
    const { rows } = await conn.query(statement.sql, statement.params);
    const deletedAt = rows[0] ? codec.decodeDeletedAt(rows[0][0]) : new Date(0);
    return { tombstone: { key, version: current.tombVersion, deletedAt } };
  }

  async purgeTombstones(options?: CallOptions): Promise<number> {
    this.#p.open('purgeTombstones', options);
    const { affected } = await this.#p.runner.query('purgeTombstones', this.#p.writeSql.purgeTombstones(), []);
    return affected;
  }

  async raiseFence(fence: Fence, options?: CallOptions): Promise<void> {
    this.#p.open('raiseFence', options);
    validateFence(fence, `raiseFence on ${this.#p.name}`);
    // Not itself fenced: the raise is what moves the fence.
    await this.#engine.write('raiseFence', { ...(options?.signal ? { signal: options.signal } : {}) }, async (conn) =>
      this.#p.fences.raise(conn, fence),
    );
  }

  async fenceOf(migration: string, options?: CallOptions): Promise<number> {
    this.#p.open('fenceOf', options);
    validateMigrationName(migration, `fenceOf on ${this.#p.name}`);
    return this.#p.runner.attempt(
      'fenceOf',
      async () => (await this.#p.fences.read(this.#p.runner.driver, migration)) ?? 0,
    );
  }
}
