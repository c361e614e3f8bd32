import { keyId, type Key } from '../core/keys.js';
import type { AutoHalt } from './auto-halt.js';
import type { TypedEvents } from './events.js';
import type { MigrationStats, Settings } from './options.js';
import type { Sidelines } from './repository-ports.js';
import type { ShadowComparator } from './shadow-comparator.js';
import { withTimeout } from './timeout.js';

export interface SidelineDeps<K extends Key, E extends object> {
  readonly settings: Settings<K, E>;
  readonly halt: AutoHalt;
  readonly comparator: ShadowComparator<K, E>;
  readonly stats: MigrationStats;
  readonly events: TypedEvents;
  readonly track: (work: Promise<unknown>) => void;
}

/** Health counts, shadow comparisons, lazy copies and background work, beside each answer. */
export function createSidelines<K extends Key, E extends object>(d: SidelineDeps<K, E>): Sidelines<K, E> {
  const o = d.settings;
  return {
    recordSecondary: (ok) => {
      if (!ok) d.stats.secondaryFailures++;
      d.halt.recordSecondary(!ok);
      if (!ok) d.halt.check();
    },
    shadow: (key, answer, servedFrom, state) => d.comparator.schedule(key, answer, servedFrom, state),
    lazyCopy: async (key, into, state) => {
      const target = into === 'new' ? o.new : o.old;
      const source = into === 'new' ? o.old : o.new;
      const value = await withTimeout((signal) => source.get(key, { signal }), o.timeoutMs, 'lazy read');
      if (value === undefined) return;
      const fence = { migration: o.name, epoch: state.version };
      const r = await withTimeout(
        (signal) => target.writeIfNewer([value], { signal, fence }),
        o.timeoutMs,
        'lazy copy',
      );
      if (r.inserted + r.updated > 0) {
        d.stats.lazyCopies++;
        d.events.emit('lazy-copied', { keyId: keyId(key) });
      }
    },
    track: d.track,
  };
}
