import { MidairError } from '../core/errors.js';

/** Calls starting within this many ms of each other share one deadline (and one AbortSignal). */
const SLOT_MS = 10;

interface Pending {
  readonly operation: string;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly startedAt: number;
  /** Keeps the process alive only while a call of the slot runs (regression: a hung call in a script never timed out). */
  readonly timer: NodeJS.Timeout;
  readonly signal: AbortSignal;
  /** Calls of the slot still running; those left when it expires fail. Finished calls leave at once, so nothing is held longer than its call. */
  readonly pending: Set<Pending>;
}

/** The open slot per timeout length. */
const slots = new Map<number, Slot>();

/**
 * Forgets every open slot (the simulated clock starts each history with
 * none, so a slot of an earlier history can never take a call of this one).
 * Calls still pending in a forgotten slot keep their promise.
 */
export function resetTimeoutSlots(): void {
  slots.clear();
}

function slotFor(ms: number): Slot {
  const now = performance.now();
  const open = slots.get(ms);
  if (open && now - open.startedAt < SLOT_MS) return open;
  const controller = new AbortController();
  // It fires SLOT_MS late at most: every call of the slot gets its full `ms`.
  const timer = setTimeout(() => {
    if (slots.get(ms) === slot) slots.delete(ms);
    if (slot.pending.size === 0) return;
    controller.abort(new MidairError('TIMEOUT', `a store call timed out after ${ms} ms`));
    for (const p of slot.pending)
      p.reject(
        new MidairError('TIMEOUT', `${p.operation} timed out after ${ms} ms`, { details: { operation: p.operation } }),
      );
    slot.pending.clear();
  }, ms + SLOT_MS);
  const slot: Slot = { startedAt: now, timer, signal: controller.signal, pending: new Set() };
  slots.set(ms, slot);
  return slot;
}

/**
 * Runs a store call with a deadline: the call gets an AbortSignal, and the
 * promise rejects with TIMEOUT when the deadline passes even if the driver
 * ignores the signal.
 *
 * Calls that start within 10 ms of each other share one timer and one
 * AbortSignal (fired between `ms` and `ms + 10` after each call began), so a
 * call on the hot path allocates no controller and arms no timer of its own.
 *
 * @example await withTimeout((signal) => store.get(key, { signal }), 2000, 'get on new');
 */
export function withTimeout<T>(fn: (signal: AbortSignal) => Promise<T>, ms: number, operation: string): Promise<T> {
  const slot = slotFor(ms);
  // The store's own error passes through as it is (it is not ours to wrap).
  /* eslint-disable @typescript-eslint/prefer-promise-reject-errors */
  return new Promise<T>((resolve, reject) => {
    const entry: Pending = { operation, reject };
    if (slot.pending.size === 0) slot.timer.ref();
    slot.pending.add(entry);
    const done = (): boolean => {
      const was = slot.pending.delete(entry);
      if (slot.pending.size === 0) slot.timer.unref(); // a finished slot's deadline keeps nothing alive
      return was;
    };
    let running: Promise<T>;
    try {
      running = fn(slot.signal);
    } catch (error) {
      done();
      reject(error);
      return;
    }
    running.then(
      (value) => {
        if (done()) resolve(value);
      },
      (error: unknown) => {
        if (done()) reject(error);
      },
    );
  });
  /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
}
