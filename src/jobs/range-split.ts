import type { ControlStore } from '../control/control-store.js';
import { keyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';

/**
 * Splits a job's key space into ranges `(lo, hi]` at `ranges - 1` sampled
 * real keys and records them in the control store, unless they exist (one
 * creator wins a race; the others use its ranges). Resolves the ranges'
 * count.
 */
export async function splitKeySpace<K extends Key>(
  control: ControlStore,
  job: { readonly migration: string; readonly name: string },
  keySource: Pick<Store<K, object>, 'sampleKeys'>,
  ranges: number,
  signal?: AbortSignal,
): Promise<number> {
  const { migration, name } = job;
  const existing = await control.ranges(migration, name);
  if (existing.length > 0) return existing.length;
  const sample = ranges > 1 ? await keySource.sampleKeys(ranges - 1, { signal }) : [];
  const bounds = [...new Set(sample.map((k) => keyId(k)))];
  const split = [...bounds.map((hi, i) => ({ lo: bounds[i - 1], hi })), { lo: bounds.at(-1) }];
  await control.createRanges(migration, name, split); // false: another process created them first
  return (await control.ranges(migration, name)).length;
}

/** The rows a job's ranges copied so far (each counted once, by the renewal that held its lease). */
export async function rowsInRanges(control: ControlStore, migration: string, name: string): Promise<number> {
  let rows = 0;
  for (const range of await control.ranges(migration, name)) rows += range.rows;
  return rows;
}
