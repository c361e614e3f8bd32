import { TIMING, kill, pause, type Instance } from './instances.js';
import type { Workload } from './harness.js';

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const FIRST_WRITES: ReadonlySet<string> = new Set(['put', 'delete']);

export interface DisruptionSetup {
  readonly instances: readonly Instance[];
  readonly workload: Required<Workload>;
  readonly random: () => number;
  readonly running: () => boolean;
  readonly note: (line: string) => void;
  readonly counts: { pauses: number; kills: number };
}

/**
 * The process-level faults of a history: instances paused (briefly, or far
 * past every expiry and grace; at once, or between a write's first and
 * second store) and resumed; instances killed (at once, or between a
 * write's two stores), one always left alive.
 */
export function disrupt(setup: DisruptionSetup): { readonly done: Promise<void>; readonly releaseAll: () => void } {
  const { instances, workload, random, running, note, counts } = setup;
  const live = (): Instance[] => instances.filter((x) => !x.killed);
  const releases = new Set<() => void>();
  const hold = (victim: Instance, ms: number): void => {
    const release = pause(victim);
    counts.pauses++;
    const done = (): void => {
      if (!releases.delete(done)) return;
      if (!victim.killed) note(`${victim.id} resumes`);
      release();
    };
    releases.add(done);
    note(`${victim.id} paused for ${Math.round(ms)} ms`);
    setTimeout(done, ms);
  };
  // (a) Pauses: an instance stops (store and control calls hang) — briefly, or far past every expiry — and resumes.
  const pauser = (async () => {
    while (running()) {
      await sleep(10 + random() * 40);
      if (!running() || random() < 0.5) continue;
      const pool = live().filter((x) => !x.paused);
      const victim = pool[Math.floor(random() * pool.length)];
      if (!victim) continue;
      const long = workload.longPauses && random() < 0.3;
      const ms = long ? 100 * TIMING.instanceExpiryMs * (0.1 + 0.9 * random()) : 30 + random() * 80;
      if (workload.longPauses && random() < 0.5) {
        // Mid-write: right after the next first write applies, before its second write.
        victim.faults.afterApply = (store, op) => {
          if (!FIRST_WRITES.has(op) || !running() || victim.killed) return;
          victim.faults.afterApply = undefined;
          note(`${victim.id} stops mid-write after ${op} on ${store}`);
          hold(victim, ms);
        };
        await sleep(ms);
        victim.faults.afterApply = undefined;
      } else {
        hold(victim, ms);
        await sleep(ms);
      }
    }
  })();

  // (b) Kills: an instance dies (at once, or between a write's two stores) and never comes back; one always survives.
  const killer = (async () => {
    if (!workload.kills) return;
    while (running()) {
      await sleep(20 + random() * 150);
      if (!running() || random() < 0.75) continue;
      const pool = live();
      if (pool.length <= 1) return;
      const victim = pool[Math.floor(random() * pool.length)] as Instance;
      const die = (why: string): void => {
        if (victim.killed || live().length <= 1) return;
        note(`${victim.id} killed ${why}`);
        counts.kills++;
        kill(victim);
      };
      if (random() < 0.5) die('at once');
      else {
        victim.faults.afterApply = (store, op) => {
          if (FIRST_WRITES.has(op) && running()) die(`after ${op} on ${store}, before its second write`);
        };
        await sleep(50);
        victim.faults.afterApply = undefined;
      }
    }
  })();

  return {
    done: Promise.all([pauser, killer]).then(() => undefined),
    releaseAll: () => {
      for (const release of [...releases]) release();
    },
  };
}
