import { MidairError } from '../core/errors.js';
import { WEBHOOK_EVENTS, type WebhookEvent, type WebhookOptions, type WebhookSettings } from './webhook-types.js';

/** A receiver, checked: its URL parsed, its events as a set, and how messages name it. */
export interface Receiver {
  readonly url: URL;
  readonly secret: string;
  readonly events: ReadonlySet<WebhookEvent>;
  /** `hook 1 (https://ops.example.com)`: its place and origin, never its path, query or credentials. */
  readonly label: string;
}

export const MIN_SECRET_LENGTH = 16;

const invalid = (what: string, message: string): MidairError =>
  new MidairError('INVALID_ARGUMENT', `${what}: ${message}`);

/**
 * Checks each receiver (nothing is sent before all are valid). `what` leads
 * the messages (`defineMigration users`), `field` names the list
 * (`migrations.users.webhooks` in a config file).
 */
export function checkWebhooks(
  hooks: readonly WebhookOptions[] | undefined,
  what: string,
  field = 'webhooks',
): Receiver[] {
  if (hooks === undefined) return [];
  if (!Array.isArray(hooks)) throw invalid(what, `${field} must be an array of { url, secret, events? }`);
  return hooks.map((hook: WebhookOptions, i) => {
    const at = `${field}[${i}]`;
    let url: URL | undefined;
    try {
      url = new URL(hook.url);
    } catch {
      url = undefined;
    }
    // The URL itself is never in a message: its path or query may be the receiver's token.
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw invalid(what, `${at}.url is not an http:// or https:// URL (its value is not shown: it may hold a token)`);
    if (url.username !== '' || url.password !== '')
      throw invalid(
        what,
        `${at}.url holds a user or a password, which fetch refuses to send; a receiver authenticates the request by its X-Midair-Signature (the secret)`,
      );
    if (typeof hook.secret !== 'string' || hook.secret.length < MIN_SECRET_LENGTH)
      throw invalid(
        what,
        `${at}.secret must be a string of at least ${MIN_SECRET_LENGTH} characters (a random one, e.g. \`openssl rand -hex 32\`); the receiver checks the X-Midair-Signature with it`,
      );
    const events = hook.events ?? WEBHOOK_EVENTS;
    for (const e of events) {
      if (!(WEBHOOK_EVENTS as readonly string[]).includes(e))
        throw invalid(
          what,
          `${at}.events: ${JSON.stringify(e)} is not an event; they are ${WEBHOOK_EVENTS.join(', ')}`,
        );
    }
    return { url, secret: hook.secret, events: new Set(events), label: `hook ${i + 1} (${url.origin})` };
  });
}

export type ResolvedWebhookSettings = Required<WebhookSettings>;

/** The delivery settings with their defaults, each checked. */
export function webhookSettings(s: WebhookSettings = {}, what: string): ResolvedWebhookSettings {
  const r: ResolvedWebhookSettings = {
    attempts: 5,
    timeoutMs: 5000,
    backoffMs: 500,
    maxBackoffMs: 30_000,
    maxQueue: 1000,
    closeTimeoutMs: 5000,
    random: Math.random,
    ...s,
  };
  const whole = (name: keyof WebhookSettings, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min)
      throw invalid(what, `webhookDelivery.${name} must be a whole number of at least ${min}`);
  };
  whole('attempts', r.attempts, 1);
  whole('timeoutMs', r.timeoutMs, 1);
  whole('backoffMs', r.backoffMs, 0);
  whole('maxBackoffMs', r.maxBackoffMs, 0);
  whole('maxQueue', r.maxQueue, 1);
  whole('closeTimeoutMs', r.closeTimeoutMs, 0);
  return r;
}
