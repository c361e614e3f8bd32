import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** A name for this process that is unique across a fleet: host, pid and a random suffix. */
export function processInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
