import { randomUUID } from 'node:crypto';
import { MidairError, type MidairErrorCode } from '../core/errors.js';
import { signWebhook, WEBHOOK_HEADERS } from './signature.js';
import type { Receiver, ResolvedWebhookSettings } from './webhook-options.js';
import type { Notify, WebhookEvent, WebhookPayloads } from './webhook-types.js';

/** What the sender says of its deliveries: never thrown, only told. */
export interface WebhookReports {
  /** A delivery that finally failed, or an event dropped (a full queue, a close that stopped waiting). */
  readonly failed: (operation: string, error: MidairError) => void;
  readonly delivered?: (d: {
    readonly type: WebhookEvent;
    readonly id: string;
    readonly hook: string;
    readonly attempts: number;
    readonly status: number;
  }) => void;
}

interface Queued {
  readonly id: string;
  readonly type: WebhookEvent;
  readonly body: string;
}

interface ReceiverQueue {
  readonly receiver: Receiver;
  readonly items: Queued[];
  busy: boolean;
}

type Outcome =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly retry: boolean; readonly code: MidairErrorCode; readonly why: string };

/** Statuses worth another try: the receiver is down, overloaded or slow. */
const retried = (status: number): boolean => status >= 500 || status === 429 || status === 408;

/**
 * Posts a migration's events to its webhooks (docs/decisions/0023): one
 * queue per receiver, bounded, delivered in order, one request at a time,
 * each signed, retried with exponential backoff and jitter. `send` only
 * queues — nothing the migration does waits for a receiver, and a failure
 * is reported, never thrown. `close()` waits for the queues, up to its
 * deadline.
 */
export class Webhooks {
  readonly #queues: ReceiverQueue[];
  readonly #s: ResolvedWebhookSettings;
  readonly #who: { readonly migration: string; readonly instance: string };
  readonly #reports: WebhookReports;
  /** Aborted when close() stops waiting: requests in flight and waits between tries end. */
  readonly #stop = new AbortController();
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(
    receivers: readonly Receiver[],
    settings: ResolvedWebhookSettings,
    who: { readonly migration: string; readonly instance: string },
    reports: WebhookReports,
  ) {
    this.#queues = receivers.map((receiver) => ({ receiver, items: [], busy: false }));
    this.#s = settings;
    this.#who = who;
    this.#reports = reports;
  }

  /** Events queued or in flight, over all receivers. */
  get pending(): number {
    return this.#queues.reduce((n, q) => n + q.items.length, 0);
  }

  /** Queues the event for every receiver that takes it, and returns at once. */
  readonly send: Notify = <T extends WebhookEvent>(type: T, payload: WebhookPayloads[T]): void => {
    const targets = this.#queues.filter((q) => q.receiver.events.has(type));
    if (targets.length === 0) return;
    const id = randomUUID();
    const body = JSON.stringify({
      id,
      type,
      migration: this.#who.migration,
      instance: this.#who.instance,
      at: new Date().toISOString(),
      ...payload,
    });
    for (const q of targets) {
      if (this.#closed) {
        this.#fail(q, { id, type, body }, 'CLOSED', 'the migration is closed; the event was not sent');
      } else if (q.items.length >= this.#s.maxQueue) {
        this.#fail(
          q,
          { id, type, body },
          'ABORTED',
          `${q.items.length} events wait for this receiver already (webhookDelivery.maxQueue ${this.#s.maxQueue}); this one was dropped`,
        );
      } else {
        q.items.push({ id, type, body });
        this.#pump(q);
      }
    }
  };

  /**
   * Stops taking events and waits until every queue is delivered, or
   * `closeTimeoutMs` passed: then requests in flight are aborted, and what is
   * left is dropped and reported. Keeps the process alive while it waits.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#queues.every((q) => !q.busy && q.items.length === 0)) return;
    const deadline = setTimeout(() => this.#stop.abort(), this.#s.closeTimeoutMs);
    try {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    } finally {
      clearTimeout(deadline);
    }
  }

  #pump(q: ReceiverQueue): void {
    if (q.busy) return;
    q.busy = true;
    void (async () => {
      try {
        for (let item = q.items[0]; item; item = q.items[0]) {
          if (this.#stop.signal.aborted) {
            this.#fail(q, item, 'TIMEOUT', `close() stopped waiting after ${this.#s.closeTimeoutMs} ms; not sent`);
          } else {
            await this.#deliver(q, item);
          }
          q.items.shift();
        }
      } catch (error) {
        this.#reports.failed(
          `webhooks to ${q.receiver.label}`,
          new MidairError('UNKNOWN', `the delivery to ${q.receiver.label} stopped unexpectedly`, { cause: error }),
        );
        q.items.length = 0;
      } finally {
        q.busy = false;
        this.#wake();
      }
    })();
  }

  async #deliver(q: ReceiverQueue, item: Queued): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#post(q.receiver, item);
      if (outcome.ok) {
        try {
          this.#reports.delivered?.({
            type: item.type,
            id: item.id,
            hook: q.receiver.label,
            attempts: attempt,
            status: outcome.status,
          });
        } catch {
          // A logger that throws does not undo a delivery.
        }
        return;
      }
      const last = !outcome.retry || attempt >= this.#s.attempts || this.#stop.signal.aborted;
      if (last) {
        this.#fail(q, item, outcome.code, `${outcome.why}, on try ${attempt} of ${this.#s.attempts}; not sent again`);
        return;
      }
      await this.#wait(this.#backoff(attempt));
    }
  }

  async #post(receiver: Receiver, item: Queued): Promise<Outcome> {
    const timestamp = Math.floor(Date.now() / 1000);
    const signal = AbortSignal.any([AbortSignal.timeout(this.#s.timeoutMs), this.#stop.signal]);
    try {
      const response = await fetch(receiver.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'midair-webhooks',
          [WEBHOOK_HEADERS.event]: item.type,
          [WEBHOOK_HEADERS.delivery]: item.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(receiver.secret, timestamp, item.body),
        },
        body: item.body,
        redirect: 'manual',
        signal,
      });
      await response.body?.cancel().catch(() => undefined);
      const { status } = response;
      if (status >= 200 && status < 300) return { ok: true, status };
      return { ok: false, retry: retried(status), code: 'UNKNOWN', why: `the receiver answered ${status}` };
    } catch (error) {
      if (this.#stop.signal.aborted)
        return {
          ok: false,
          retry: false,
          code: 'TIMEOUT',
          why: `close() stopped waiting after ${this.#s.closeTimeoutMs} ms`,
        };
      if ((error as { name?: unknown } | null)?.name === 'TimeoutError')
        return { ok: false, retry: true, code: 'TIMEOUT', why: `no answer within ${this.#s.timeoutMs} ms` };
      const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
      // Only the cause's code: its message may quote the URL.
      const code = typeof cause?.code === 'string' ? cause.code : 'no error code';
      return { ok: false, retry: true, code: 'CONNECTION', why: `the request failed (${code})` };
    }
  }

  /** The wait after try `attempt`: backoffMs doubled per try, between half and one and a half times that, capped. */
  #backoff(attempt: number): number {
    const base = this.#s.backoffMs * 2 ** (attempt - 1);
    return Math.min(this.#s.maxBackoffMs, Math.round(base * (0.5 + this.#s.random())));
  }

  async #wait(ms: number): Promise<void> {
    const stop = this.#stop.signal;
    if (stop.aborted) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stop.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref(); // a process that ends without close() is not held up by a retry
      stop.addEventListener('abort', done);
    });
  }

  #fail(q: ReceiverQueue, item: Queued, code: MidairErrorCode, why: string): void {
    this.#reports.failed(
      `webhook ${item.type} to ${q.receiver.label}`,
      new MidairError(code, `webhook ${item.type} (delivery ${item.id}) to ${q.receiver.label}: ${why}`, {
        details: { operation: 'webhook' },
      }),
    );
  }

  #wake(): void {
    if (this.#queues.some((q) => q.busy || q.items.length > 0)) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}
