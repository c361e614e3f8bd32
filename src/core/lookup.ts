/**
 * Matching an entity by the values of some of its fields, as a lookup
 * declared from the mapping (`lookup('email')`) runs it: each field equals
 * its value; `null` matches a missing value. Stores run it in their own
 * language (one SQL statement); this is the same test in JS, for the memory
 * store and for merging two stores' answers.
 */
export type FieldValues<E> = Readonly<Partial<E>>;

/** Whether two field values are the same value (dates by instant, bytes by content, the rest by `===`). */
export function sameFieldValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Uint8Array && b instanceof Uint8Array)
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  return false;
}

/** Whether `entity` holds every value of `where`. */
export function matchesFields<E extends object>(entity: E, where: FieldValues<E>): boolean {
  const e = entity as Record<string, unknown>;
  return Object.entries(where).every(([field, value]) => sameFieldValue(e[field], value));
}
