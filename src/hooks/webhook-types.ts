import type { Phase, Side } from '../core/phases.js';

/** What a webhook can be told of (docs/decisions/0023). */
export const WEBHOOK_EVENTS = ['phase-changed', 'halted', 'gate-refused', 'verified', 'repair-parked'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/**
 * One receiver. Its URL is never printed (a path or a query may be its
 * token): messages name its origin and its place in the list.
 *
 * @example { url: 'https://ops.example.com/midair', secret: process.env.MIDAIR_HOOK_SECRET!, events: ['halted', 'gate-refused'] }
 */
export interface WebhookOptions {
  /** Where each event is posted as JSON (http or https). */
  readonly url: string;
  /** The HMAC-SHA256 key of the `X-Midair-Signature` header: at least 16 characters. */
  readonly secret: string;
  /** Which events it gets; default every one. */
  readonly events?: readonly WebhookEvent[];
}

/** How webhooks are delivered (one queue per receiver, in order, one request at a time). */
export interface WebhookSettings {
  /** Tries per event, the first included. Default 5. */
  readonly attempts?: number;
  /** Deadline of each request. Default 5000 ms. */
  readonly timeoutMs?: number;
  /** The wait before the first retry, doubled for each next one, ± half of it at random. Default 500 ms. */
  readonly backoffMs?: number;
  /** The longest wait between two tries. Default 30 000 ms. */
  readonly maxBackoffMs?: number;
  /** Events held per receiver; past it a new event is dropped (and said). Default 1000. */
  readonly maxQueue?: number;
  /** How long the migration's `close()` waits for what is queued; the rest is dropped (and said). Default 5000 ms. */
  readonly closeTimeoutMs?: number;
  /** The jitter's random numbers in [0, 1) (tests seed it). Default Math.random. */
  readonly random?: () => number;
}

/** A phase state as a webhook tells it. */
export interface PhaseSummary {
  readonly phase: Phase;
  readonly version: number;
  readonly rampPercent: number;
  readonly strict: boolean;
}

/** What each event carries besides `{ id, type, migration, instance, at }`: identifiers and counts, never a value. */
export interface WebhookPayloads {
  /** Sent by the process whose change it was (an operator's call, or the instance whose auto-halt fired). */
  'phase-changed': {
    readonly from: PhaseSummary | null;
    readonly to: PhaseSummary;
    /** The audit log's action: advance, rollback, set (ramp), strict, halt. */
    readonly action: string;
    readonly actor: string;
    readonly reason: string;
    readonly forced: boolean;
  };
  /** Sent by the instance whose auto-halt moved the fleet back. */
  halted: { readonly from: Phase; readonly to: Phase; readonly reason: string };
  /** A gated advance was refused: which gates failed and why (counts and thresholds). */
  'gate-refused': {
    readonly from: Phase;
    readonly to: Phase;
    readonly gates: readonly { readonly gate: string; readonly detail: string }[];
  };
  /** A verification finished (also the rollback's re-sync): its status and counts. */
  verified: {
    readonly mode: string;
    readonly status: string;
    readonly matched: number;
    readonly missing: number;
    readonly extra: number;
    readonly different: number;
    readonly changedDuringRun: number;
    readonly untracked: number;
    readonly durationMs: number;
    readonly repair?: { readonly repaired: number; readonly stillDifferent: number };
    readonly error?: { readonly code: string; readonly message: string };
  };
  /** A repair that no retry can fix (a constraint) was parked for the operator. */
  'repair-parked': {
    readonly keyId: string;
    readonly side: Side;
    readonly store: string;
    readonly code: string;
    readonly constraint?: string;
  };
}

/** A webhook's JSON body (a union over the events). `id` is the delivery id: the same on every try, and the `X-Midair-Delivery` header. */
export type WebhookBody<T extends WebhookEvent = WebhookEvent> = T extends WebhookEvent
  ? {
      readonly id: string;
      readonly type: T;
      readonly migration: string;
      readonly instance: string;
      readonly at: string;
    } & WebhookPayloads[T]
  : never;

/** Where webhooks are sent from: each acting piece of a migration announces what it did through this. */
export interface Notify {
  <T extends WebhookEvent>(type: T, payload: WebhookPayloads[T]): void;
}
