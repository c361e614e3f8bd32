import type { Phase } from '../core/phases.js';
import { checkWebhooks, webhookSettings } from '../hooks/webhook-options.js';
import { Webhooks } from '../hooks/webhooks.js';
import type { TypedEvents } from './events.js';
import { boundLogger, logAt, logEvents, type MidairLogger } from './log-events.js';
import type { MigrationOptions } from './options.js';

/** What a migration instance tells the outside: its log lines and its webhooks (docs/decisions/0023). */
export interface Observability {
  readonly hooks: Webhooks;
  /** Starts logging the events (once the pieces exist: `phase` reads the phase this instance serves). */
  readonly logEvents: (phase: () => Phase | undefined) => void;
}

/**
 * Checks the webhooks (refused, INVALID_ARGUMENT, before anything is sent)
 * and binds the logger to the migration and the instance. A delivery that
 * finally failed is an `error` event (logged like any other); one that
 * went out is a debug line.
 */
export function observability(
  options: Pick<MigrationOptions<never, object>, 'logger' | 'webhooks' | 'webhookDelivery'>,
  who: { readonly migration: string; readonly instance: string },
  events: TypedEvents,
): Observability {
  const what = `defineMigration ${who.migration}`;
  const receivers = checkWebhooks(options.webhooks, what);
  const delivery = webhookSettings(options.webhookDelivery, what);
  const log: MidairLogger | undefined = options.logger && boundLogger(options.logger, { ...who });
  const hooks = new Webhooks(receivers, delivery, who, {
    failed: (operation, error) => events.emit('error', { operation, error }),
    ...(log
      ? {
          delivered: (d) =>
            logAt(log, 'debug', () => ({
              event: 'webhook-delivered',
              fields: { type: d.type, delivery: d.id, hook: d.hook, attempts: d.attempts, status: d.status },
              message: `webhook ${d.type} delivered to ${d.hook} (try ${d.attempts}, status ${d.status})`,
            })),
        }
      : {}),
  });
  return {
    hooks,
    logEvents: (phase) => {
      if (log) logEvents(events, log, phase);
    },
  };
}
