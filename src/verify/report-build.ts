import { errorSummary } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { Candidate, Findings } from './findings.js';
import type { VerifySide } from './sides.js';
import type { KeyList, SideReport, VerifyReport } from './verify-options.js';

/**
 * Entities found equal in a full pass: old's rows (the top-level segments
 * partition old) less every old key that differed — unless it proved equal
 * when read by key (a text key the engines order differently) — and less the
 * young ones left out. Counting equal segments instead would count a row
 * twice where two engines' orders make ranges overlap.
 */
export function matchedOf(findings: Findings, equalNow: readonly string[]): number {
  const equal = new Set(equalNow);
  let differed = 0;
  for (const [id, c] of findings.candidates) if (c.kind !== 'extra' && !equal.has(id)) differed++;
  let youngOld = 0;
  for (const [id, inOld] of findings.young) if (inOld && !findings.candidates.has(id)) youngOld++;
  return Math.max(0, findings.rows - differed - youngOld - findings.untracked);
}

/** What a mode other than `full` did instead of hashing. */
const NOT_HASHED = {
  count: 'count mode compares the two row counts only',
  sample: 'sample mode compares the sampled keys entity by entity',
} as const;

function keyList(ids: readonly string[], total: number, max: number): KeyList {
  return { total, keys: ids.slice(0, max) };
}

export function buildReport<K extends Key, E extends object>(
  mode: VerifyReport['mode'],
  status: VerifyReport['status'],
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  counts: { old: number; new: number },
  findings: Findings,
  real: ReadonlyMap<string, Candidate>,
  changed: readonly string[],
  extra: { resumed: boolean; sample: VerifyReport['sample']; durationMs: number; maxKeys: number; error?: unknown },
): VerifyReport {
  const side = (s: VerifySide<K, E>, count: number): SideReport =>
    mode === 'full'
      ? {
          store: s.store.name,
          count,
          hashing: s.hashing,
          ...(s.reason === undefined ? {} : { reason: s.reason }),
          rowHash: s.rowHash,
        }
      : { store: s.store.name, count, hashing: 'none', reason: NOT_HASHED[mode] };
  const of = (kind: Candidate['kind']): [string, Candidate][] => [...real].filter(([, c]) => c.kind === kind);
  const missing = of('missing').map(([id]) => id);
  const extraKeys = of('extra').map(([id]) => id);
  const different = of('different');
  const error = extra.error;
  return {
    mode,
    status,
    old: side(sides.old, counts.old),
    new: side(sides.new, counts.new),
    matched: findings.matched,
    missing: keyList(missing, missing.length, extra.maxKeys),
    extra: keyList(extraKeys, extraKeys.length, extra.maxKeys),
    different: {
      total: different.length,
      keys: different.slice(0, extra.maxKeys).map(([keyId, c]) => ({ keyId, fields: c.fields ?? [] })),
    },
    changedDuringRun: keyList(changed, changed.length, extra.maxKeys),
    skippedYoung: findings.young.size,
    segments: { ...findings.segments },
    ...(extra.sample ? { sample: extra.sample } : {}),
    untracked: findings.untracked,
    resumed: extra.resumed,
    durationMs: extra.durationMs,
    ...(error === undefined ? {} : { error: errorSummary(error) }),
  };
}

/** The Wilson score upper bound (95 %) of a proportion: how large the differing share could be, given a clean or nearly clean sample. */
export function wilsonUpper(hits: number, n: number): number {
  if (n === 0) return 1;
  const z = 1.96;
  const p = hits / n;
  const denom = 1 + (z * z) / n;
  const centre = p + (z * z) / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return Math.min(1, (centre + margin) / denom);
}
