import { describe, expect, it } from 'vitest';
import { serverOf, serverUrlProblem } from '../../src/sql/server-url.js';

describe('adoption 8: errors that name the thing — connection URLs checked before connecting', () => {
  it('URLs the drivers take pass, whatever their shape', () => {
    const fine = [
      ['postgres://app:s3cret@db.internal:5432/app', 'postgres'],
      ['postgresql://app@127.0.0.1/app?sslmode=require', 'postgres'],
      ['postgres://app@[::1]:5432/app', 'postgres'],
      ['postgres://app@/app', 'postgres'], // pg connects to its default host
      ['postgres:///app?host=/var/run/postgresql', 'postgres'],
      ['postgres://app:p%40ss%2Fw@db/app', 'postgres'],
      ['postgres://db/app?user=me@corp', 'postgres'],
      ['mysql://root@127.0.0.1:3306/test', 'mysql'],
      ['mysql://root:pw@[::1]/test?ssl={}', 'mysql'],
    ] as const;
    for (const [url, engine] of fine)
      expect({ url, problem: serverUrlProblem(url, engine) }).toEqual({ url, problem: undefined });
  });

  it('each problem is named with its fix, and never quotes a password', () => {
    const bad = [
      [
        'postgres://app:pw@127.0.0.1:99999/app',
        'postgres',
        'the port 99999 is out of range: use 1–65535 (the default is 5432)',
      ],
      ['mysql://root@127.0.0.1:0/test', 'mysql', 'the port 0 is out of range: use 1–65535 (the default is 3306)'],
      ['postgres://app:pw@db:fivefour/app', 'postgres', 'the port "fivefour" is not a number'],
      ['postgres://app:pw@[::1:5432/app', 'postgres', 'the IPv6 host has no closing "]": write it as [::1]:5432'],
      ['postgres://app:pw@::1]:5432/app', 'postgres', 'the IPv6 host has no opening "[": write it as [::1]:5432'],
      ['postgres://app:pw@::1:5432/app', 'postgres', 'an IPv6 host goes in brackets: write it as [::1]:5432'],
      ['mysql://root@/test', 'mysql', 'the host is missing: write it as in mysql://user:password@127.0.0.1:3306/app'],
      ['postgres:app', 'postgres', 'not a URL of the form postgres://user:password@127.0.0.1:5432/app'],
    ] as const;
    for (const [url, engine, said] of bad)
      expect({ url, problem: serverUrlProblem(url, engine) }).toEqual({ url, problem: said });
  });

  it('a password with an unencoded "/" cuts the host short: the problem is said without quoting any of it', () => {
    const problem = serverUrlProblem('postgres://app:se/cr3t@db:5432/app', 'postgres');
    const encode = 'a "/", "?" or "#" in the user name or password must be percent-encoded: %2F, %3F, %23';
    expect(problem).toBe(`the port is not a number (${encode})`);
    expect(serverUrlProblem('postgres://app:12/45@db:5432/app', 'postgres')).toBe(`the host cannot be read: ${encode}`);
    expect(serverUrlProblem('postgres://app:12#45@db:5432/app', 'postgres')).toBe(`the host cannot be read: ${encode}`);
    expect(serverUrlProblem('postgres://app:99999#45@db:5432/app', 'postgres')).toBe(
      `the port is out of range: use 1–65535 (the default is 5432) (${encode})`,
    );
  });

  it('where a URL points is host:port with the default port, never the user or password', () => {
    expect(serverOf('postgres://app:s3cret@db.internal/app', 'postgres')).toBe('db.internal:5432');
    expect(serverOf('postgres://app@[::1]:6543/app', 'postgres')).toBe('[::1]:6543');
    expect(serverOf('postgres:///app?host=/var/run/postgresql', 'postgres')).toBe('/var/run/postgresql');
    expect(serverOf('mysql://root:pw@127.0.0.1/test', 'mysql')).toBe('127.0.0.1:3306');
    expect(serverOf('postgres://app@/app', 'postgres')).toBeUndefined();
  });
});
