import type { ControlStore } from '../control/control-store.js';
import type { TypedEvents } from './events.js';
import type { PhaseFollower } from './phase-follower.js';

/** What a started instance runs beside its calls: the phase poll, the repair tick, and the control store's push. */
export interface InstanceLoops {
  /** Stops the timers and the push subscription. */
  stop(): Promise<void>;
}

/**
 * Starts an instance's loops once it joined the fleet: the phase poll every
 * `pollMs`, the repair tick (unless repairs are off), and the control
 * store's pushed changes (PostgreSQL NOTIFY) where it has them — polling
 * stays as the fallback. The timers never keep the process alive.
 */
export async function startLoops(d: {
  readonly name: string;
  readonly control: ControlStore;
  readonly events: TypedEvents;
  readonly follower: PhaseFollower;
  readonly repairTick: { tick(): Promise<void> };
  readonly pollMs: number;
  readonly repair: { readonly enabled?: boolean; readonly intervalMs?: number } | undefined;
}): Promise<InstanceLoops> {
  const refresh = (operation: string) => (): void =>
    void d.follower.refresh().catch((error: unknown) => d.events.emit('error', { operation, error }));
  const timers = [setInterval(refresh('poll'), d.pollMs)];
  if (d.repair?.enabled ?? true) timers.push(setInterval(() => void d.repairTick.tick(), d.repair?.intervalMs ?? 500));
  for (const t of timers) t.unref();
  const unsubscribe = await d.control.subscribe?.(d.name, refresh('refresh on notify')).catch((error: unknown) => {
    d.events.emit('error', { operation: 'subscribe', error });
    return undefined;
  });
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      await unsubscribe?.().catch(() => undefined);
    },
  };
}
