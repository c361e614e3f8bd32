import { parseKeyId, type Key } from '../keys.js';
import { sleep } from '../backfill/steps.js';
import { chunked } from '../sql/sql-statements.js';
import { classify, isYoung, type Candidate, type Findings } from './findings.js';
import type { VerifySide } from './sides.js';

export interface Settled {
  /** Differences that held at every look. */
  readonly real: Map<string, Candidate>;
  /** Seen differing, equal when read again. */
  readonly changed: string[];
}

const BATCH = 500;

/**
 * Turns what the pass saw into what is true: keys the two stores order
 * differently (seen missing in one range, extra in another) are compared
 * directly first; then every difference is read again after a delay
 * (doubling per recheck) — equal by then, it was a write in flight.
 */
export async function settle<K extends Key, E extends object>(
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  findings: Findings,
  o: { readonly ignore: ReadonlySet<string>; readonly rechecks: number; readonly delayMs: number; readonly minAgeMs: number | undefined; readonly signal?: AbortSignal | undefined },
): Promise<Settled> {
  const real = new Map(findings.candidates);
  const changed: string[] = [];
  const look = async (ids: readonly string[], onEqual: (id: string) => void): Promise<void> => {
    for (const batch of chunked(ids, BATCH)) {
      const keys = batch.map((id) => parseKeyId(id) as K);
      const [olds, news] = await Promise.all([sides.old.getMany(keys, { signal: o.signal }), sides.new.getMany(keys, { signal: o.signal })]);
      const now = Date.now();
      batch.forEach((id, i) => {
        const c = classify(olds[i], news[i], o.ignore);
        if (!c) {
          real.delete(id);
          onEqual(id);
        } else if (isYoung(sides.old.store, olds[i], o.minAgeMs, now) || isYoung(sides.new.store, news[i], o.minAgeMs, now)) {
          real.delete(id);
          findings.skippedYoung++;
        } else real.set(id, c);
      });
    }
  };
  if (findings.crossed.size > 0) {
    await look([...findings.crossed].filter((id) => real.has(id)), () => findings.matched++);
  }
  for (let attempt = 0; attempt < o.rechecks && real.size > 0; attempt++) {
    if (o.signal?.aborted) break;
    await sleep(o.delayMs * 2 ** attempt, o.signal);
    await look([...real.keys()], (id) => changed.push(id));
  }
  return { real, changed };
}
