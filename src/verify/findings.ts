import type { SavedFindings } from '../control/checkpoints.js';
import { diffEntities } from '../core/compare.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';

export const DIFF_KINDS = ['missing', 'extra', 'different'] as const;
/** `missing`: in old, not in new; `extra`: in new, not in old; `different`: in both, fields differ. */
export type DiffKind = (typeof DIFF_KINDS)[number];

export interface Candidate {
  readonly kind: DiffKind;
  readonly fields?: readonly string[];
}

/** What one range (or a whole run) found so far; saved with its checkpoint, so it holds key ids and field names only. */
export interface Findings {
  /** Old's entities covered. */
  rows: number;
  /** Entities found equal (sample mode counts them directly; the full pass works it out from `rows`). */
  matched: number;
  /** Keys left out for being younger than minAgeMs, and whether old held them. */
  readonly young: Map<string, boolean>;
  segments: { hashed: number; differing: number; rowCompared: number };
  /** Keys seen differing, to be rechecked (at most the track limit). */
  readonly candidates: Map<string, Candidate>;
  /** Keys seen missing in one range and extra in another: the stores order keys differently (collations); compared directly. */
  readonly crossed: Set<string>;
  /** Differences beyond the track limit, counted only. */
  untracked: number;
}

export function newFindings(): Findings {
  return {
    rows: 0,
    matched: 0,
    young: new Map(),
    segments: { hashed: 0, differing: 0, rowCompared: 0 },
    candidates: new Map(),
    crossed: new Set(),
    untracked: 0,
  };
}

export function addCandidate(f: Findings, id: string, c: Candidate, limit: number): void {
  const seen = f.candidates.get(id);
  if (seen) {
    if (seen.kind !== c.kind) {
      f.crossed.add(id);
      f.candidates.set(id, { kind: 'different' });
    }
    return;
  }
  if (f.candidates.size >= limit) f.untracked++;
  else f.candidates.set(id, c);
}

/** Findings as a range's checkpoint keeps them (its shape and decoder: `SavedFindings` in control/checkpoints.ts). */
export function saveFindings(f: Findings): SavedFindings {
  return {
    rows: f.rows,
    matched: f.matched,
    young: [...f.young],
    segments: { ...f.segments },
    candidates: [...f.candidates],
    crossed: [...f.crossed],
    untracked: f.untracked,
  };
}

export function loadFindings(saved: SavedFindings | undefined): Findings {
  const f = newFindings();
  if (saved)
    mergeFindings(
      f,
      { ...saved, young: new Map(saved.young), candidates: new Map(saved.candidates), crossed: new Set(saved.crossed) },
      Number.MAX_SAFE_INTEGER,
    );
  return f;
}

/** Adds `from` into `into` (ranges merged into a run). */
export function mergeFindings(into: Findings, from: Findings, limit: number): void {
  into.rows += from.rows;
  into.matched += from.matched;
  for (const [id, inOld] of from.young) into.young.set(id, inOld);
  into.untracked += from.untracked;
  into.segments.hashed += from.segments.hashed;
  into.segments.differing += from.segments.differing;
  into.segments.rowCompared += from.segments.rowCompared;
  for (const id of from.crossed) into.crossed.add(id);
  for (const [id, c] of from.candidates) addCandidate(into, id, c, limit);
}

/** How an entity pair compares: `undefined` when equal (or absent on both sides). */
export function classify(
  o: object | undefined,
  n: object | undefined,
  ignore: ReadonlySet<string>,
): Candidate | undefined {
  if (o === undefined) return n === undefined ? undefined : { kind: 'extra' };
  if (n === undefined) return { kind: 'missing' };
  const fields = diffEntities(o, n, ignore);
  return fields.length === 0 ? undefined : { kind: 'different', fields };
}

/** Whether an entity's version is a timestamp younger than `minAgeMs` (it may still be settling). */
export function isYoung<K extends Key, E extends object>(
  store: Store<K, E>,
  entity: E | undefined,
  minAgeMs: number | undefined,
  now = Date.now(),
): boolean {
  if (minAgeMs === undefined || entity === undefined) return false;
  let v: unknown;
  try {
    v = store.versionOf(entity);
  } catch {
    return false;
  }
  const at = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(at) && now - at < minAgeMs;
}
