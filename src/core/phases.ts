/**
 * The phases of a migration, as data: which store is authoritative, where
 * reads go, what is compared. A migration moves one step at a time.
 *
 * @example PHASES.indexOf('ramp') // 3
 */
export const PHASES = [
  'old-only',
  'dual-write',
  'shadow-read',
  'ramp',
  'new-primary',
  'old-read-only',
  'complete',
] as const;
export type Phase = (typeof PHASES)[number];

export const SIDES = ['old', 'new'] as const;
export type Side = (typeof SIDES)[number];

export interface PhaseRules {
  /** The store whose write decides the client's result. */
  readonly authoritative: Side;
  /** Whether the other store receives a best-effort second write. */
  readonly secondWrite: boolean;
  /** Whether reads may be served from the new store (fully or for ramped keys). */
  readonly readsNew: 'never' | 'ramped' | 'always';
  /** Whether the other store is read off the hot path and compared. */
  readonly compare: boolean;
  /** Whether a miss in new falls back to old (and may copy lazily). */
  readonly fallbackToOld: boolean;
  /**
   * Whether a write returns only after its second write landed (or its repair
   * is queued). True in `ramp`, where reads may come from the other store; in
   * `shadow-read`, the phase before it (an instance still there while a
   * neighbour ramps must not leave a write it acknowledged invisible to that
   * neighbour's reads); and in `new-primary`, across the cutover from `ramp`,
   * where a neighbour still frozen in `ramp` reads old.
   */
  readonly awaitSecondWrite: boolean;
  /**
   * Whether the application's writes go to the authority as its own
   * statements would (a direct write: no key lock, tombstones left alone).
   * Only in `old-only`: no midair writer syncs into old there, old holds
   * every key (it needs no tombstone to tell "deleted" from "not copied"),
   * and the fence, checked in the statement, keeps a stalled write from
   * landing behind the backfill (docs/decisions/0016).
   */
  readonly directWrites: boolean;
}

export const PHASE_RULES: Readonly<Record<Phase, PhaseRules>> = Object.freeze({
  'old-only': {
    authoritative: 'old',
    secondWrite: false,
    readsNew: 'never',
    compare: false,
    fallbackToOld: false,
    awaitSecondWrite: false,
    directWrites: true,
  },
  'dual-write': {
    authoritative: 'old',
    secondWrite: true,
    readsNew: 'never',
    compare: false,
    fallbackToOld: false,
    awaitSecondWrite: false,
    directWrites: false,
  },
  'shadow-read': {
    authoritative: 'old',
    secondWrite: true,
    readsNew: 'never',
    compare: true,
    fallbackToOld: false,
    awaitSecondWrite: true,
    directWrites: false,
  },
  ramp: {
    authoritative: 'old',
    secondWrite: true,
    readsNew: 'ramped',
    compare: true,
    fallbackToOld: true,
    awaitSecondWrite: true,
    directWrites: false,
  },
  'new-primary': {
    authoritative: 'new',
    secondWrite: true,
    readsNew: 'always',
    compare: true,
    fallbackToOld: true,
    awaitSecondWrite: true,
    directWrites: false,
  },
  'old-read-only': {
    authoritative: 'new',
    secondWrite: false,
    readsNew: 'always',
    compare: false,
    fallbackToOld: true,
    awaitSecondWrite: false,
    directWrites: false,
  },
  complete: {
    authoritative: 'new',
    secondWrite: false,
    readsNew: 'always',
    compare: false,
    fallbackToOld: false,
    awaitSecondWrite: false,
    directWrites: false,
  },
});

export function nextPhase(phase: Phase): Phase | undefined {
  return PHASES[PHASES.indexOf(phase) + 1];
}

export function previousPhase(phase: Phase): Phase | undefined {
  const i = PHASES.indexOf(phase);
  return i > 0 ? PHASES[i - 1] : undefined;
}

/** True when moving between the two phases changes which store is authoritative. */
export function crossesAuthority(from: Phase, to: Phase): boolean {
  return PHASE_RULES[from].authoritative !== PHASE_RULES[to].authoritative;
}

/** Where auto-halt falls back to: the previous phase where the failing store no longer affects clients. */
export const HALT_TARGET: Readonly<Partial<Record<Phase, Phase>>> = Object.freeze({
  'dual-write': 'old-only',
  'shadow-read': 'dual-write',
  ramp: 'shadow-read',
});

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value);
}
