import { parseKeyId, type Key } from '../core/keys.js';
import { sleep } from '../core/sleep.js';
import { chunked } from '../core/collections.js';
import { classify, isYoung, type Candidate, type Findings } from './findings.js';
import type { VerifySide } from './sides.js';

export interface Settled {
  /** Differences that held at every look. */
  readonly real: Map<string, Candidate>;
  /** Seen differing, equal when read again after a delay. */
  readonly changed: string[];
  /** Seen differing only because the two stores order text keys differently: equal at once when read by key. */
  readonly equalNow: string[];
}

/** Whether a key has a text part (only text keys can be ordered differently by two engines). */
function hasText(id: string): boolean {
  try {
    const key = parseKeyId(id);
    return Array.isArray(key) ? key.some((p) => typeof p === 'string') : typeof key === 'string';
  } catch {
    return false;
  }
}

const BATCH = 500;

/**
 * Turns what the pass saw into what is true: text keys the two stores may
 * order differently (seen missing or extra in a range) are compared by key
 * at once first; then every difference is read again after a delay
 * (doubling per recheck) — equal by then, it was a write in flight.
 */
export async function settle<K extends Key, E extends object>(
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  findings: Findings,
  o: {
    readonly ignore: ReadonlySet<string>;
    readonly rechecks: number;
    readonly delayMs: number;
    readonly minAgeMs: number | undefined;
    /** Segments were compared by key ranges, so order disagreements may show as differences. */
    readonly ranged: boolean;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<Settled> {
  const real = new Map(findings.candidates);
  const changed: string[] = [];
  const equalNow: string[] = [];
  const look = async (ids: readonly string[], onEqual: (id: string) => void): Promise<void> => {
    for (const batch of chunked(ids, BATCH)) {
      const keys = batch.map((id) => parseKeyId(id) as K);
      const [olds, news] = await Promise.all([
        sides.old.getMany(keys, { signal: o.signal }),
        sides.new.getMany(keys, { signal: o.signal }),
      ]);
      const now = Date.now();
      batch.forEach((id, i) => {
        const c = classify(olds[i], news[i], o.ignore);
        if (!c) {
          real.delete(id);
          onEqual(id);
        } else if (
          isYoung(sides.old.store, olds[i], o.minAgeMs, now) ||
          isYoung(sides.new.store, news[i], o.minAgeMs, now)
        ) {
          real.delete(id);
          findings.young.set(id, olds[i] !== undefined);
        } else real.set(id, c);
      });
    }
  };
  if (o.ranged) {
    // A text key seen missing in one range and extra in another, or extra where a neighbouring range matched it.
    const suspects = [...real]
      .filter(([id, c]) => findings.crossed.has(id) || (c.kind !== 'different' && hasText(id)))
      .map(([id]) => id);
    if (suspects.length > 0) await look(suspects, (id) => equalNow.push(id));
  }
  for (let attempt = 0; attempt < o.rechecks && real.size > 0; attempt++) {
    if (o.signal?.aborted) break;
    await sleep(o.delayMs * 2 ** attempt, o.signal);
    await look([...real.keys()], (id) => changed.push(id));
  }
  return { real, changed, equalNow };
}
