import { MidairError } from '../core/errors.js';
import type { FieldValues } from '../core/lookup.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';

/** A lookup declared from the mapping: the entities whose `fields` equal the query's arguments, in order. */
export interface FieldLookup<E> {
  readonly by: readonly (keyof E & string)[];
}

/** A hand-written query: how to answer it on each side. */
export interface HandQuery<E> {
  readonly old: (...args: never[]) => Promise<E[]>;
  readonly new: (...args: never[]) => Promise<E[]>;
}

/**
 * Declares a lookup by mapped fields, run on each side as one statement
 * that returns whole entities: `queries: { byEmail: lookup('email') }`, then
 * `users.query('byEmail', 'ada@example.com')`. Arguments are the fields'
 * values in the order named here.
 *
 * @example
 * ```ts
 * queries: { byEmail: lookup<User>('email'), byTeamAndRole: lookup<User>('team', 'role') }
 * ```
 */
export function lookup<E>(...fields: readonly (keyof E & string)[]): FieldLookup<E> {
  if (fields.length === 0) throw new MidairError('INVALID_ARGUMENT', 'lookup(): name at least one field');
  return Object.freeze({ by: Object.freeze([...fields]) });
}

export function isLookup<E>(def: FieldLookup<E> | HandQuery<E>): def is FieldLookup<E> {
  return Array.isArray((def as { by?: unknown }).by);
}

/** The query's arguments as field values, refused when there are more or fewer than the lookup names. */
export function whereOf<E>(name: string, def: FieldLookup<E>, args: readonly unknown[]): FieldValues<E> {
  if (args.length !== def.by.length)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `query "${name}" looks up by ${def.by.map((f) => `"${f}"`).join(', ')}: give ${def.by.length} value${def.by.length === 1 ? '' : 's'}, in that order (got ${args.length})`,
    );
  return Object.fromEntries(def.by.map((f, i) => [f, args[i]])) as FieldValues<E>;
}

/** Runs a lookup on one store; refused where the store cannot look up. */
export async function runLookup<K extends Key, E extends object>(
  store: Store<K, E>,
  name: string,
  where: FieldValues<E>,
  signal: AbortSignal,
): Promise<E[]> {
  if (!store.lookups)
    throw new MidairError(
      'NOT_SUPPORTED',
      `query "${name}": ${store.name} cannot run lookups; declare the query with old and new functions instead`,
    );
  return store.lookups.findBy(where, { signal });
}
