import type { Store } from '../../src/index.js';
import type { Doc } from './harness.js';

const show = (d: Doc | undefined | null): string => (d ? d.tag : 'absent');

/**
 * The raw store as every caller reaches it, noting each write as it applies
 * (what a put, delete or sync left behind). It wraps every history, traced or
 * not, so a traced replay runs exactly the same steps as the run it explains.
 */
export function recorded(store: Store<number, Doc>, note: (line: string) => void): Store<number, Doc> {
  const name = store.name;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      switch (prop) {
        case 'put':
          return async (e: Doc, o?: unknown) => {
            await fn.call(target, e, o);
            note(`${name}: k${e.id} := ${e.tag} (put)`);
          };
        case 'delete':
          return async (k: number, o?: unknown) => {
            const r = await fn.call(target, k, o);
            note(`${name}: k${k} := absent (delete)`);
            return r;
          };
        case 'syncKey':
          return async (k: number, read: () => Promise<Doc | undefined>, o?: unknown) => {
            let seen: Doc | undefined;
            const r = await fn.call(target, k, async () => (seen = await read()), o);
            note(`${name}: k${k} := ${show(seen)} (sync: ${JSON.stringify(r)})`);
            return r;
          };
        case 'updateKey':
          return async (k: number, next: (state: unknown) => Promise<Doc | undefined | null>, o?: unknown) => {
            let decided: Doc | undefined | null = null;
            const r = await fn.call(target, k, async (state: unknown) => (decided = await next(state)), o);
            note(
              `${name}: k${k} := ${decided === null ? '(unchanged)' : show(decided)} (update: ${JSON.stringify(r)})`,
            );
            return r;
          };
        case 'syncMany':
          return async (
            ks: readonly number[],
            read: (ks: readonly number[]) => Promise<readonly (Doc | undefined | null)[]>,
            o?: unknown,
          ) => {
            let seen: readonly (Doc | undefined | null)[] = [];
            const r = await fn.call(target, ks, async (keys: readonly number[]) => (seen = await read(keys)), o);
            note(`${name}: ${ks.map((k, i) => `k${k} := ${show(seen[i])}`).join(', ')} (syncMany)`);
            return r;
          };
        case 'writeIfNewer':
          return async (es: readonly Doc[], o?: unknown) => {
            const r = await fn.call(target, es, o);
            note(`${name}: ${es.map((e) => `k${e.id} ?= ${e.tag}`).join(', ')} (writeIfNewer: ${JSON.stringify(r)})`);
            return r;
          };
        default:
          return fn.bind(target);
      }
    },
  });
}
