import type { MidairErrorCode } from '../core/errors.js';
import type { MidairErrorDetails } from '../core/errors.js';
import type { DialectName } from '../mapping/codecs.js';

/**
 * Why a connection failed, as an engine's classifier read it from the
 * driver's error: only identifiers (database, user, host) and error codes —
 * never the URL or a password.
 */
export type ConnectionProblem =
  | { readonly kind: 'unknown-database'; readonly database?: string | undefined }
  | { readonly kind: 'unknown-role'; readonly user?: string | undefined }
  | { readonly kind: 'bad-password'; readonly user?: string | undefined }
  /** MySQL/MariaDB: an unknown user and a wrong password give the same error. */
  | { readonly kind: 'access-denied'; readonly user?: string | undefined; readonly withPassword?: boolean | undefined }
  | { readonly kind: 'database-denied'; readonly user?: string | undefined; readonly database?: string | undefined }
  | { readonly kind: 'no-password' }
  /** PostgreSQL: no pg_hba.conf entry lets this user in; `tls`: whether the attempt used TLS. */
  | {
      readonly kind: 'not-allowed';
      readonly user?: string | undefined;
      readonly database?: string | undefined;
      readonly tls?: boolean | undefined;
    }
  | { readonly kind: 'tls-unsupported' }
  | { readonly kind: 'tls-required' }
  | { readonly kind: 'tls-untrusted'; readonly reason: string }
  | { readonly kind: 'unreachable'; readonly server?: string | undefined; readonly reason: string }
  | { readonly kind: 'unknown-host'; readonly host?: string | undefined; readonly reason: string }
  | { readonly kind: 'bad-url'; readonly reason: string };

/** What the store knows of where it connects (from its pool's settings): for messages only. */
export interface ConnectionTarget {
  /** `host:port` or a socket path. */
  readonly server?: string | undefined;
  /** How the URL asks for TLS (`sslmode=require`, `the ssl option`), when it does. */
  readonly tls?: string | undefined;
}

const CODES: Record<ConnectionProblem['kind'], MidairErrorCode> = {
  'unknown-database': 'UNKNOWN_DATABASE',
  'unknown-role': 'AUTH_FAILED',
  'bad-password': 'AUTH_FAILED',
  'access-denied': 'AUTH_FAILED',
  'database-denied': 'AUTH_FAILED',
  'no-password': 'AUTH_FAILED',
  'not-allowed': 'AUTH_FAILED',
  'tls-unsupported': 'TLS',
  'tls-required': 'TLS',
  'tls-untrusted': 'TLS',
  unreachable: 'CONNECTION',
  'unknown-host': 'CONNECTION',
  'bad-url': 'CONFIG',
};

export function problemCode(problem: ConnectionProblem): MidairErrorCode {
  return CODES[problem.kind];
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL']);
const UNRESOLVED = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL']);
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The problems Node's sockets and TLS report alike for every driver (by the error's `code`), or undefined. */
export function socketProblem(f: {
  readonly code?: string | undefined;
  readonly address?: string | undefined;
  readonly port?: number | undefined;
  readonly hostname?: string | undefined;
}): ConnectionProblem | undefined {
  const code = f.code ?? '';
  if (UNREACHABLE.has(code)) {
    const host = f.address?.includes(':') ? `[${f.address}]` : f.address;
    const server = host === undefined ? undefined : f.port === undefined ? host : `${host}:${f.port}`;
    return { kind: 'unreachable', server, reason: code };
  }
  if (UNRESOLVED.has(code)) return { kind: 'unknown-host', host: f.hostname, reason: code };
  if (UNTRUSTED.has(code)) return { kind: 'tls-untrusted', reason: code };
  if (code === 'ERR_INVALID_URL') return { kind: 'bad-url', reason: code };
  return undefined;
}

const quoteName = (engine: DialectName, name: string): string =>
  engine === 'mysql' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`;

/** The URL option that asks for TLS. */
const tlsOption = (engine: DialectName): string => (engine === 'mysql' ? 'ssl={}' : 'sslmode=require');

/** The identifiers a problem names, for the error's details. */
export function problemDetails(problem: ConnectionProblem, target: ConnectionTarget): MidairErrorDetails {
  const server = (problem.kind === 'unreachable' ? problem.server : undefined) ?? target.server;
  return {
    ...(server === undefined ? {} : { server }),
    ...('database' in problem && problem.database !== undefined ? { database: problem.database } : {}),
    ...('user' in problem && problem.user !== undefined ? { user: problem.user } : {}),
  };
}

/** The sentence for a connection problem: what is wrong, where, and what to fix. */
export function describeProblem(problem: ConnectionProblem, engine: DialectName, target: ConnectionTarget): string {
  const on = target.server ? ` on ${target.server}` : '';
  const who = (user: string | undefined): string => (user === undefined ? '' : ` "${user}"`);
  switch (problem.kind) {
    case 'unknown-database': {
      const db = problem.database ?? 'named in the URL';
      const create = problem.database ? ` (CREATE DATABASE ${quoteName(engine, problem.database)})` : '';
      return `database${problem.database ? ` "${db}"` : ` ${db}`} does not exist${on} — create it${create} or fix the database name in the URL`;
    }
    case 'unknown-role':
      return `role${who(problem.user)} does not exist${on} — create it${problem.user ? ` (CREATE ROLE ${quoteName(engine, problem.user)} LOGIN)` : ''} or fix the user name in the URL`;
    case 'bad-password':
      return `password authentication failed for user${who(problem.user)}${on} — fix the password in the URL (percent-encoded) or the role's password on the server`;
    case 'access-denied':
      return `access denied for user${who(problem.user)}${on}${problem.withPassword === false ? ' (the URL gives no password)' : ''} — MariaDB and MySQL report an unknown user and a wrong password alike: check the user name and password in the URL, and that this user may connect from this host`;
    case 'database-denied':
      return `user${who(problem.user)} may not use database${problem.database ? ` "${problem.database}"` : ''}${on} — grant the user access to it or fix the database name in the URL`;
    case 'no-password':
      return `the server${on} asks for a password but the URL gives none — add it to the URL (user:password@host, percent-encoded)`;
    case 'not-allowed':
      return `the server${on} has no pg_hba.conf entry that lets user${who(problem.user)} connect to database${problem.database ? ` "${problem.database}"` : ''} from this host${problem.tls === false ? ' without TLS' : ''} — ${problem.tls === false ? `add ${tlsOption(engine)} to the URL if the server takes TLS connections, or ` : ''}ask for a pg_hba.conf entry for this host`;
    case 'tls-unsupported':
      return `the server${on} does not accept TLS but the URL asks for ${target.tls ?? 'TLS'} — enable TLS on the server, or remove ${target.tls ?? 'the TLS option'} from the URL`;
    case 'tls-required':
      return `the server${on} accepts only TLS connections but the URL does not ask for TLS — add ${tlsOption(engine)} to the URL`;
    case 'tls-untrusted':
      return `the server's TLS certificate${on} is not trusted (${problem.reason}) — give the client the CA certificate that signed it, or connect with the host name the certificate names`;
    case 'unreachable':
      return `cannot reach ${problem.server ?? target.server ?? 'the server'} (${problem.reason}) — is the server running and is the host/port right?`;
    case 'unknown-host':
      return `cannot resolve the host${problem.host ? ` "${problem.host}"` : ''} (${problem.reason}) — check the host name in the URL`;
    case 'bad-url':
      return `the connection URL is not valid (${problem.reason}) — check its host and port, and percent-encode special characters in the user name and password`;
  }
}
