import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { FeedEventName, FeedEvents } from './api-types.js';
import type { MigrationWatch } from './watch.js';

/** How often an idle feed sends a comment, so proxies and the browser keep it open. */
const KEEPALIVE_MS = 15_000;

/**
 * The live feed of one migration, as server-sent events: a `snapshot`
 * (the view and every sample kept) first, then each event of the sampler,
 * until the page goes away or the server closes (`closing`).
 */
export function feed(c: Context, watch: MigrationWatch, closing: AbortSignal): Response {
  return streamSSE(c, async (stream) => {
    const send = async <N extends FeedEventName>(event: N, data: FeedEvents[N]): Promise<void> =>
      stream.writeSSE({
        event,
        data: JSON.stringify(data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      });
    const view = watch.view;
    if (view) await send('snapshot', { view, samples: watch.samples() });
    // Writes queue in order on the stream; one that fails (the page left) is dropped, and the abort ends the feed.
    const off = watch.subscribe((event, data) => void send(event, data));
    const keepalive = setInterval(() => void stream.write(': keepalive\n\n'), KEEPALIVE_MS);
    try {
      await new Promise<void>((resolve) => {
        if (closing.aborted) return resolve();
        closing.addEventListener('abort', () => resolve(), { once: true });
        stream.onAbort(resolve);
      });
    } finally {
      clearInterval(keepalive);
      off();
    }
  });
}
