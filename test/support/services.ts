/**
 * Where the test servers are, and whether a missing one is a skip or a
 * failure. Every run uses its own schema/database names so runs never collide.
 */
export const SERVICES = ['postgres', 'mysql', 'redis'] as const;
export type Service = (typeof SERVICES)[number];

export const SERVICE_URLS: Record<Service, string> = {
  postgres: process.env.MIDAIR_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.MIDAIR_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
  redis: process.env.MIDAIR_REDIS_URL ?? 'redis://127.0.0.1:6379',
};

export const SERVICE_LABELS: Record<Service, string> = {
  postgres: 'PostgreSQL',
  mysql: 'MySQL/MariaDB',
  redis: 'Redis',
};

/** `MIDAIR_REQUIRE_SERVICES=1` turns "server unreachable" from a skip into a failure (CI sets it). */
export const REQUIRE_SERVICES = process.env.MIDAIR_REQUIRE_SERVICES === '1';

/** Which adapters to run: `MIDAIR_STORES=memory,sqlite` (default: all). */
export function storeFilter(): ReadonlySet<string> | undefined {
  const v = process.env.MIDAIR_STORES;
  return v ? new Set(v.split(',').map((s) => s.trim())) : undefined;
}

/** A URL with its password masked, for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
