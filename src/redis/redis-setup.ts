import type { Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import { SCRIPTS, type RedisParts } from './redis-parts.js';

/** Keys per SCAN page and per indexing script. */
const PAGE = 1000;

/**
 * Indexes the entities the prefix holds already (a Redis a migration moves
 * data out of was written without midair's index), once: a marker key says
 * it was done, and from then on every write through the store keeps the
 * index itself. Each member is added only where its entity exists, in the
 * same script, so a delete through the store racing the walk leaves nothing
 * behind. Resolves how many keys were added.
 */
export async function indexExisting<K extends Key, E extends object>(
  p: RedisParts<K, E>,
  options?: CallOptions,
): Promise<number> {
  const { keys, prefix } = p.mapping;
  if ((await p.call('setup', async () => p.client.exists(keys.indexed), options)) === 1) return 0;
  let cursor = '0';
  let added = 0;
  do {
    const [next, names] = await p.call(
      'setup',
      async () => p.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', PAGE, 'TYPE', 'hash'),
      options,
    );
    cursor = next;
    const found = names.flatMap((name) => {
      const key = p.order.parseText(name.slice(prefix.length));
      return key === undefined ? [] : [{ name, member: p.order.encode(key) }];
    });
    if (found.length > 0)
      added += (await p.run(
        'setup',
        SCRIPTS.indexExisting,
        [keys.index, ...found.map((f) => f.name)],
        found.map((f) => f.member),
        options,
      )) as number;
  } while (cursor !== '0');
  await p.call('setup', async () => p.client.set(keys.indexed, new Date().toISOString()), options);
  return added;
}
