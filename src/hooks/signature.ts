import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers every webhook request carries. */
export const WEBHOOK_HEADERS = {
  signature: 'x-midair-signature',
  timestamp: 'x-midair-timestamp',
  delivery: 'x-midair-delivery',
  event: 'x-midair-event',
} as const;

/**
 * The `X-Midair-Signature` of a body sent at `timestamp` (Unix seconds, the
 * `X-Midair-Timestamp` header): `sha256=` and the hex HMAC-SHA256, keyed
 * with the hook's secret, of `<timestamp>.<body>`. The timestamp is signed
 * too, so a receiver that refuses old timestamps refuses a replayed request.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * A receiver's check of a request: the signature matches the body and the
 * timestamp (compared in constant time), and the timestamp is within
 * `toleranceS` (default 300 s) of `now`. Pass the raw body, as received.
 *
 * @example
 * ```ts
 * const ok = verifyWebhook({ secret, body: raw, signature: req.headers['x-midair-signature'], timestamp: req.headers['x-midair-timestamp'] });
 * ```
 */
export function verifyWebhook(check: {
  readonly secret: string;
  readonly body: string;
  readonly signature: string | readonly string[] | undefined;
  readonly timestamp: string | readonly string[] | undefined;
  readonly toleranceS?: number;
  readonly now?: number;
}): boolean {
  const { signature, timestamp } = check;
  if (typeof signature !== 'string' || typeof timestamp !== 'string' || !/^\d+$/.test(timestamp)) return false;
  const at = Number(timestamp);
  const now = Math.floor((check.now ?? Date.now()) / 1000);
  if (Math.abs(now - at) > (check.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signWebhook(check.secret, at, check.body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
