import { MidairError } from '../core/errors.js';

/** The engines midair reaches over the network. */
export type ServerEngine = 'postgres' | 'mysql';

const DEFAULT_PORTS: Record<ServerEngine, number> = { postgres: 5432, mysql: 3306 };
const EXAMPLES: Record<ServerEngine, string> = {
  postgres: 'postgres://user:password@127.0.0.1:5432/app',
  mysql: 'mysql://user:password@127.0.0.1:3306/app',
};

/** The `user:password@host:port` part of `scheme://…/…`, or undefined when the URL has no `//`. */
function authorityOf(url: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1];
}

/**
 * Whether the driver's own parser takes the URL. `pg` percent-encodes stray
 * spaces and `%` and accepts an empty host after `@` (it then uses its
 * defaults), as pg-connection-string does; `mysql2` takes what `new URL` takes.
 */
function parses(url: string, engine: ServerEngine): boolean {
  const attempts =
    engine === 'postgres'
      ? [/ |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url) ? encodeURI(url).replace(/%25(\d\d)/g, '%$1') : url]
      : [url];
  if (engine === 'postgres') attempts.push((attempts[0] as string).replace('@/', '@___/'));
  return attempts.some((candidate) => URL.canParse(candidate));
}

/** What is wrong with the port text `port` (undefined: nothing); `quotable`: it cannot be part of a password. */
function portProblem(port: string | undefined, quotable: boolean, engine: ServerEngine): string | undefined {
  if (port === undefined || port === '') return undefined;
  const shown = quotable ? ` ${port}` : '';
  if (!/^\d+$/.test(port)) return `the port${quotable ? ` "${port}"` : ''} is not a number`;
  const n = Number(port);
  if (n < 1 || n > 65535)
    return `the port${shown} is out of range: use 1–65535 (the default is ${DEFAULT_PORTS[engine]})`;
  return undefined;
}

/** What is wrong with `host:port` (an IPv6 host in brackets), or undefined. */
function hostPortProblem(hostPort: string, quotable: boolean, engine: ServerEngine): string | undefined {
  const port = DEFAULT_PORTS[engine];
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return `the IPv6 host has no closing "]": write it as [::1]:${port}`;
    const rest = hostPort.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return `only ":port" may follow the IPv6 host's "]", as in [::1]:${port}`;
    return portProblem(rest.slice(1), quotable, engine);
  }
  if (hostPort.includes(']')) return `the IPv6 host has no opening "[": write it as [::1]:${port}`;
  const colons = hostPort.split(':').length - 1;
  if (colons > 1) return `an IPv6 host goes in brackets: write it as [::1]:${port}`;
  return colons === 1 ? portProblem(hostPort.slice(hostPort.indexOf(':') + 1), quotable, engine) : undefined;
}

/**
 * What is wrong with a server's connection URL, said without quoting the URL
 * (it may hold a password), or undefined when the driver can use it: a port
 * out of range or not a number, an IPv6 host with a bracket missing, text the
 * driver's URL parser refuses.
 */
export function serverUrlProblem(url: string, engine: ServerEngine): string | undefined {
  const authority = authorityOf(url);
  if (authority === undefined) return `not a URL of the form ${EXAMPLES[engine]}`;
  const at = authority.lastIndexOf('@');
  // Without "@" in the authority but with one later, a password's "/", "?" or "#" cut the authority short: quote nothing of it.
  const quotable = at >= 0 || !url.includes('@');
  const hostPort = authority.slice(at + 1);
  if (engine === 'mysql' && hostPort === '') return `the host is missing: write it as in ${EXAMPLES.mysql}`;
  const encode = 'a "/", "?" or "#" in the user name or password must be percent-encoded: %2F, %3F, %23';
  const problem = hostPortProblem(hostPort, quotable, engine);
  if (problem) return quotable ? problem : `${problem} (${encode})`;
  const rest = url.slice(url.indexOf('//') + 2 + authority.length);
  const hash = rest.indexOf('#');
  // "user:pa/ss@host" or "user:pa#ss@host": the "@" of the user info landed in the path or the fragment.
  if (at < 0 && (/^[^?#]*@/.test(rest) || (hash >= 0 && rest.slice(hash).includes('@'))))
    return `the host cannot be read: ${encode}`;
  if (!parses(url, engine))
    return 'not a valid URL: percent-encode special characters in the user name and password (@ as %40, # as %23, / as %2F)';
  return undefined;
}

/** Throws CONFIG naming `from` (the config field, or "the connection URL") when {@link serverUrlProblem} finds one. */
export function assertServerUrl(url: string, engine: ServerEngine, from: string): void {
  const problem = serverUrlProblem(url, engine);
  if (problem)
    throw new MidairError('CONFIG', `${from}: ${problem}`, { details: { field: from, operation: 'connect' } });
}

/** Where a connection URL points, for messages: `host:port` (the engine's default port if none), a socket path, or undefined. */
export function serverOf(url: string, engine: ServerEngine): string | undefined {
  try {
    const u = new URL(url);
    const param = (name: string): string | null => (engine === 'postgres' ? u.searchParams.get(name) : null);
    const host = param('host') ?? decodeURIComponent(u.hostname);
    if (host === '') return undefined;
    if (host.startsWith('/')) return host;
    return `${host}:${param('port') ?? (u.port || DEFAULT_PORTS[engine])}`;
  } catch {
    return undefined;
  }
}
