/**
 * Counts the statements a database client sends: wraps a `pg` pool or a
 * `mysql2` pool so every `query`/`execute` — on the pool, or on a connection
 * it hands out — is logged (its SQL text, the first word enough to tell
 * BEGIN from UPDATE). For tests and benchmarks that say how many statements
 * a call costs; it never changes what runs.
 */
export interface StatementLog {
  /** Every statement sent since the last `reset`, in order. */
  readonly statements: string[];
  reset(): void;
}

const RUNS = new Set(['query', 'execute']);
const HANDS_OUT = new Set(['connect', 'getConnection']);

function sqlOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg && typeof arg === 'object') {
    const o = arg as { text?: unknown; sql?: unknown };
    if (typeof o.text === 'string') return o.text;
    if (typeof o.sql === 'string') return o.sql;
  }
  return undefined; // a COPY stream object: counted by the statement that made it
}

function logging<T extends object>(target: T, log: StatementLog): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (RUNS.has(prop)) {
        return (...args: unknown[]) => {
          const sql = sqlOf(args[0]);
          if (sql !== undefined) log.statements.push(sql);
          return fn.apply(obj, args);
        };
      }
      if (HANDS_OUT.has(prop)) {
        return async (...args: unknown[]) => {
          const conn = (await fn.apply(obj, args)) as object;
          return logging(conn, log);
        };
      }
      return fn.bind(obj);
    },
  });
}

/** `pool`, logging every statement sent through it, and the log. */
export function withStatementLog<T extends object>(pool: T): { pool: T; log: StatementLog } {
  const log: StatementLog = {
    statements: [],
    reset() {
      log.statements.length = 0;
    },
  };
  return { pool: logging(pool, log), log };
}
