import { defineMigration, type ControlStore, type Migration, type Store } from '../../src/index.js';
import { faultyStore, heldBy, noFaults, type Faults } from '../support/faulty-store.js';
import { simNow } from '../support/sim-clock.js';
import type { Doc } from './harness.js';

/** Timing of every instance of a history (simulated milliseconds). */
export const TIMING = {
  pollMs: 5,
  instanceExpiryMs: 60,
  timeoutMs: 25,
  ackTimeoutMs: 5000,
  pauseTimeoutMs: 3000,
  repairMs: 10,
} as const;

/** One application instance of a history, and the process-level faults the harness plays on it. */
export interface Instance {
  readonly id: string;
  readonly migration: Migration<number, Doc>;
  readonly faults: Faults;
  killed: boolean;
  paused: boolean;
  /** Resolves when the instance is killed (its clients stop waiting for it). */
  readonly dead: Promise<void>;
  readonly die: () => void;
}

/** The control store as one instance sees it: every call waits while that instance is paused, and never ends once it is killed. */
export function instanceControl(control: ControlStore, faults: Faults): ControlStore {
  const held = (): Promise<void> => heldBy(faults);
  return new Proxy(control, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await held();
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await held(); // a pause or kill that began while the call ran holds its answer too
        return result;
      };
    },
  });
}

export interface InstanceSetup {
  readonly id: string;
  readonly old: Store<number, Doc>;
  readonly new: Store<number, Doc>;
  readonly control: ControlStore;
  readonly faults: Faults;
  /** An extra share of the new store's calls that fail (read each call). */
  readonly newErrorRate?: () => number;
  readonly trace?: string[];
}

export function instanceFaults(random: () => number, rate: number, lateCommits: boolean): Faults {
  return {
    ...noFaults(random),
    errorRate: rate,
    lateErrorRate: rate / 2,
    hangRate: rate / 2,
    hangMs: 40,
    maxDelayTurns: 3,
    lateCommitRate: lateCommits ? rate : 0,
    lateCommitMaxMs: TIMING.timeoutMs * 10,
  };
}

/** The timings every instance of the model runs with, the operator's included (auto-halt off: the operator decides). */
export const MODEL_OPTIONS = {
  pollMs: TIMING.pollMs,
  instanceExpiryMs: TIMING.instanceExpiryMs,
  timeoutMs: TIMING.timeoutMs,
  ackTimeoutMs: TIMING.ackTimeoutMs,
  pauseTimeoutMs: TIMING.pauseTimeoutMs,
  autoHalt: false,
  repair: { intervalMs: TIMING.repairMs },
} as const;

export async function startInstance(s: InstanceSetup): Promise<Instance> {
  const migration = defineMigration<number, Doc>({
    name: 'model',
    instanceId: s.id,
    actor: s.id,
    old: faultyStore(s.old, s.faults),
    new: faultyStore(s.new, s.faults, s.newErrorRate ? { extraErrorRate: s.newErrorRate } : {}),
    control: instanceControl(s.control, s.faults),
    ...MODEL_OPTIONS,
    shadow: { recheckMs: 0 },
  });
  const trace = s.trace;
  if (trace) {
    const at = (): string => `t${simNow()} ${s.id}`;
    migration.on('phase-changed', ({ to }) =>
      trace.push(
        `${at()} sees ${to.phase}${to.writesPaused ? '(paused)' : ''}${to.strict ? '(strict)' : ''}@${to.version}`,
      ),
    );
    migration.on('second-write-failed', (e) => trace.push(`${at()} second write failed ${e.keyId} ${e.code}`));
    migration.on('repair-enqueued', (e) => trace.push(`${at()} enqueued ${e.keyId} ${e.reason}`));
    migration.on('repaired', (e) => trace.push(`${at()} repaired ${e.keyId} ${JSON.stringify(e.result)}`));
    migration.on('error', (e) =>
      trace.push(
        `${at()} error in ${e.operation}: ${e.error instanceof Error ? `${e.error.message} / ${String(e.error.cause)}` : String(e.error)}`,
      ),
    );
  }
  let die = (): void => undefined;
  const dead = new Promise<void>((resolve) => (die = resolve));
  return { id: s.id, migration: await migration.start(), faults: s.faults, killed: false, paused: false, dead, die };
}

/**
 * Kills an instance: its calls in flight and every later one never complete,
 * and its timers stop (close() clears them synchronously; the rest of close()
 * waits forever, like the dead process). It never comes back.
 */
export function kill(instance: Instance): void {
  instance.killed = true;
  instance.faults.killed = true;
  instance.faults.afterApply = undefined;
  void instance.migration.close();
  instance.die();
}

/** Holds every store and control call of the instance until the returned function is called. */
export function pause(instance: Instance): () => void {
  let release = (): void => undefined;
  instance.faults.gate = new Promise<void>((resolve) => (release = resolve));
  instance.paused = true;
  return () => {
    instance.faults.gate = undefined;
    instance.paused = false;
    release();
  };
}
