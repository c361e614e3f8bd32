/**
 * Runs `fn` over the items with at most `limit` at once. After a failure no
 * new item starts; those running finish, then the first error is thrown.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw failed.error;
}

/** Adds each count of `part` into `into` (results summed over batches). */
export function addCounts<T extends Record<string, number>>(into: T, part: Readonly<T>): void {
  for (const k of Object.keys(part) as (keyof T)[]) (into as Record<keyof T, number>)[k] += part[k];
}
