import { MidairError } from './errors.js';
import type { Fence } from './store.js';

/**
 * The fencing rules every store adapter shares (memory and SQL): what a
 * fence may hold, and the error a refused write throws.
 */

/** Longest migration name a fence is kept under (an indexable VARCHAR in every SQL dialect). */
export const MAX_MIGRATION_NAME = 191;

/** Throws INVALID_ARGUMENT unless `migration` is a name the fence table can hold. */
export function validateMigrationName(migration: unknown, where: string): void {
  if (typeof migration !== 'string' || migration.length === 0 || migration.length > MAX_MIGRATION_NAME) {
    throw new MidairError(
      'INVALID_ARGUMENT',
      `${where}: a fence's migration must be a name of 1 to ${MAX_MIGRATION_NAME} characters`,
    );
  }
}

/** Throws INVALID_ARGUMENT unless the fence names a migration and carries a non-negative integer epoch. */
export function validateFence(fence: Fence, where: string): void {
  if (typeof fence !== 'object' || fence === null)
    throw new MidairError('INVALID_ARGUMENT', `${where}: a fence must be { migration, epoch }`);
  validateMigrationName(fence.migration, where);
  if (!Number.isSafeInteger(fence.epoch) || fence.epoch < 0)
    throw new MidairError('INVALID_ARGUMENT', `${where}: a fence's epoch must be a non-negative integer`);
}

/** FENCED: the write carries an epoch below the store's fence for its migration, and wrote nothing. */
export function fencedError(store: string, operation: string, fence: Fence, at: number): MidairError {
  return new MidairError(
    'FENCED',
    `${operation} on ${store}: migration "${fence.migration}" is fenced at epoch ${at} and this write carries epoch ${fence.epoch}; nothing was written (the instance must reload its phase state)`,
    { details: { store, operation } },
  );
}
