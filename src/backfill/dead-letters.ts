import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { parseKeyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import type { BackfillOptions } from './backfill-options.js';
import { deadLetterReason } from './chunks.js';

/** Copies the dead letters' keys again (after the code that failed them is fixed); removes the ones that now copy. */
export async function retryDeadLetters<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: Pick<BackfillOptions<E>, 'transform' | 'signal' | 'fence'> = {},
): Promise<{ retried: number; copied: number; stillFailing: number }> {
  let retried = 0;
  let copied = 0;
  const failing = new Set<string>();
  for (;;) {
    const letters = (await control.deadLetters(migration, 500)).filter((d) => !failing.has(d.keyId));
    if (letters.length === 0) break;
    const keys = letters.map((d) => parseKeyId(d.keyId) as K);
    const entities = await source.getMany(keys, { signal: options.signal });
    const done: string[] = [];
    for (let i = 0; i < letters.length; i++) {
      const id = (letters[i] as { keyId: string }).keyId;
      retried++;
      const entity = entities[i];
      try {
        if (entity !== undefined)
          await target.writeIfNewer([options.transform ? await options.transform(entity) : entity], {
            signal: options.signal,
            fence: options.fence,
          });
        done.push(id);
        if (entity !== undefined) copied++;
      } catch (error) {
        failing.add(id);
        await control.addDeadLetters(migration, [
          { keyId: id, reason: error instanceof MidairError ? deadLetterReason(error) : 'TRANSFORM' },
        ]);
      }
    }
    await control.removeDeadLetters(migration, done);
  }
  return { retried, copied, stillFailing: failing.size };
}

/**
 * The operator accepts the dead letters (all, or `keyIds`) as rows new will
 * not have: an audit entry `dead-letter-accept` records who, why and which
 * keys, then they leave the list, so the gates stop blocking on them. Needs
 * `force` and a reason; refused (nothing written) otherwise. Resolves how many.
 */
export async function acceptDeadLetters(
  migration: string,
  control: ControlStore,
  options: {
    readonly actor: string;
    readonly reason: string;
    readonly force: boolean;
    readonly keyIds?: readonly string[];
  },
): Promise<number> {
  if (!options.force || !options.reason.trim()) {
    throw new MidairError(
      'INVALID_ARGUMENT',
      'accepting dead letters drops rows new will never get: it needs force and a reason (--force --reason "<why>"), which go to the audit log',
    );
  }
  const ids = options.keyIds ?? (await control.deadLetters(migration, 100_000)).map((d) => d.keyId);
  if (ids.length === 0) return 0;
  const shown = ids.slice(0, 20).join(', ') + (ids.length > 20 ? `, and ${ids.length - 20} more` : '');
  await control.appendAudit(migration, {
    actor: options.actor,
    action: 'dead-letter-accept',
    reason: `${options.reason} [accepted ${ids.length} dead letter(s): ${shown}]`,
    forced: true,
  });
  return control.removeDeadLetters(migration, ids);
}
