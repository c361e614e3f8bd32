import type { TestProject } from 'vitest/node';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { REQUIRE_SERVICES, SERVICE_LABELS, SERVICE_URLS, SERVICES, safeUrl, type Service } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: Record<Service, { available: boolean; reason: string }>;
    runId: string;
  }
}

async function probe(service: Service): Promise<string | undefined> {
  try {
    if (service === 'postgres') {
      const client = new pg.Client({ connectionString: SERVICE_URLS.postgres, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
    } else if (service === 'mysql') {
      const conn = await mysql.createConnection({ uri: SERVICE_URLS.mysql, connectTimeout: 3000 });
      await conn.query('SELECT 1');
      await conn.end();
    } else {
      const client = new Redis(SERVICE_URLS.redis, {
        connectTimeout: 3000,
        maxRetriesPerRequest: 0,
        lazyConnect: true,
      });
      try {
        await client.connect();
        await client.ping();
      } finally {
        client.disconnect();
      }
    }
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  }
}

/** Probes each server once, tells the suites which are up, and says which suites it skips. */
export default async function setup(project: TestProject): Promise<void> {
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const services = {} as Record<Service, { available: boolean; reason: string }>;
  const missing: string[] = [];
  for (const service of SERVICES) {
    const error = await probe(service);
    services[service] = { available: error === undefined, reason: error ?? '' };
    if (error !== undefined) missing.push(`${SERVICE_LABELS[service]} at ${safeUrl(SERVICE_URLS[service])}: ${error}`);
  }
  if (missing.length > 0 && REQUIRE_SERVICES) {
    throw new Error(`MIDAIR_REQUIRE_SERVICES=1 but a server is unreachable:\n  ${missing.join('\n  ')}`);
  }
  project.provide('services', services);
  project.provide('runId', runId);
  const summary = (): string =>
    SERVICES.map((s) =>
      services[s].available
        ? `${SERVICE_LABELS[s]} suites ran`
        : `${SERVICE_LABELS[s]} suites SKIPPED (unreachable: ${services[s].reason})`,
    ).join('; ');
  console.log(`[midair] servers: ${summary()}`);
}
