import { MidairError } from './errors.js';
import { createHash } from 'node:crypto';
import type { CallOptions, Fence } from './store.js';

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
    { details: { store, operation, fence: fence.migration } },
  );
}

/** The fences a write carries: its phase fence and its job's lease, either absent. */
export function fencesOf(options: CallOptions | undefined): Fence[] {
  const out: Fence[] = [];
  if (options?.fence) out.push(options.fence);
  if (options?.lease) out.push(options.lease);
  return out;
}

/** Validates every fence a write carries (INVALID_ARGUMENT before anything is read or written). */
export function validateFences(options: CallOptions | undefined, where: string): void {
  for (const fence of fencesOf(options)) validateFence(fence, where);
}

/** What a migration's name may not contain: lease fences are kept under names with it, apart from every migration's. */
export const LEASE_FENCE_MARK = '#';

/**
 * The name a store keeps the fence of one leased range under, beside the
 * migration's own fence: `<migration>#<run>#<range>`, or, where that is longer
 * than a fence name may be, `<migration prefix>#<digest>`. A migration's name
 * holds no `#`, so the two never meet.
 */
export function leaseFenceName(migration: string, run: string, rangeId: number): string {
  const plain = `${migration}${LEASE_FENCE_MARK}${run}${LEASE_FENCE_MARK}${rangeId}`;
  if (plain.length <= MAX_MIGRATION_NAME) return plain;
  const digest = createHash('sha256').update(plain).digest('hex').slice(0, 40);
  return `${migration.slice(0, MAX_MIGRATION_NAME - digest.length - 1)}${LEASE_FENCE_MARK}${digest}`;
}

/** Whether `error` is a write refused by the lease fence `lease`: its range changed hands, and this holder must let it go. */
export function lostLease(error: unknown, lease: Fence | undefined): boolean {
  return (
    lease !== undefined &&
    error instanceof MidairError &&
    error.code === 'FENCED' &&
    error.details.fence === lease.migration
  );
}
