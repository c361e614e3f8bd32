import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { MidairError } from '../core/errors.js';
import type { ApiError } from './api-types.js';

/** Where the dashboard takes its token from when `--token` is not given. */
export const TOKEN_ENV = 'MIDAIR_DASHBOARD_TOKEN';

/** The shortest token an operator may choose (a generated one is 32 characters). */
export const MIN_TOKEN_LENGTH = 16;

/** A fresh token: 24 random bytes, in URL-safe base64. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Whether `given` is the token, compared in constant time: both are hashed
 * first, so the comparison runs over two digests of equal length whatever
 * was sent (its length tells an attacker nothing either).
 */
export function tokenMatches(token: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(token), digest(given));
}

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m?.[1];
}

/** Whether the dashboard would listen on this machine only: localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export interface TokenChoice {
  readonly token: string;
  /** Made at start (neither `--token` nor the environment gave one): the server prints it. */
  readonly generated: boolean;
}

/**
 * The token and the bind, checked before anything listens: `--token`, else
 * {@link TOKEN_ENV}, else a fresh one. Off loopback (only with an explicit
 * `--host`) the operator must choose the token, so that a dashboard
 * reachable from the network never runs with one only its own terminal saw.
 */
export function chooseToken(o: {
  readonly host: string;
  readonly token?: string | undefined;
  readonly env?: string | undefined;
}): TokenChoice {
  const chosen = o.token ?? (o.env === '' ? undefined : o.env);
  if (chosen !== undefined && chosen.length < MIN_TOKEN_LENGTH)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `the dashboard token is ${chosen.length} characters long: choose one of at least ${MIN_TOKEN_LENGTH} (e.g. \`openssl rand -base64 24\`)`,
    );
  if (!isLoopback(o.host) && chosen === undefined)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `--host ${o.host} makes the dashboard reachable from the network: it needs a token you choose, in ${TOKEN_ENV} (or --token); nothing was started`,
    );
  return chosen === undefined ? { token: newToken(), generated: true } : { token: chosen, generated: false };
}

const refusal = (message: string): ApiError => ({ error: { code: 'UNAUTHORIZED', message } });

/**
 * Lets a request through only with the token in its `Authorization: Bearer`
 * header; a cookie or a query parameter never counts. Refused: 401, nothing run.
 */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    const given = bearerToken(c.req.header('Authorization'));
    if (!tokenMatches(token, given))
      return c.json(
        refusal(
          given === undefined
            ? 'this needs the dashboard token in an "Authorization: Bearer <token>" header (the token `midair dashboard` printed, or the one it was given); nothing changed'
            : 'the token does not match the dashboard’s; nothing changed',
        ),
        401,
      );
    await next();
  };
}

/** The name of a Host header (`[::1]:7420` → `[::1]`, `localhost:7420` → `localhost`). */
const hostName = (host: string): string =>
  host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');

/**
 * On a loopback bind, answers only requests addressed to a loopback name: a
 * page elsewhere that points its own host name at 127.0.0.1 (DNS rebinding)
 * gets a 403 instead of the migration's state.
 */
export function loopbackHostsOnly(): MiddlewareHandler {
  return async (c, next) => {
    // The address the request was sent to: its Host header (in-process requests may have none: their URL's host).
    const host = c.req.header('Host');
    if (!isLoopback(host === undefined ? new URL(c.req.url).hostname : hostName(host)))
      return c.json(
        {
          error: { code: 'FORBIDDEN', message: 'this dashboard answers only on localhost / 127.0.0.1' },
        } satisfies ApiError,
        403,
      );
    await next();
  };
}
