import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lockId64 } from '../../src/sql/lock-ids.js';

describe('key lock ids', () => {
  it('stay what every earlier version took (a fleet mid-upgrade still excludes itself): the first eight bytes of md5(namespace NUL key id)', () => {
    const earlier = (ns: string, id: string): string =>
      createHash('md5').update(ns).update('\u0000').update(id).digest().readBigInt64BE(0).toString();
    for (const [ns, id] of [
      ['users', '1'],
      ['"s"."users" ü', 's:Grüße 東京'],
      ['t', ''],
      ['t', 'a\u0000b'],
      ['t', 's:\ud800 lone'],
      ['t', '-9223372036854775808'],
    ] as const) {
      expect(lockId64(ns, id)).toBe(earlier(ns, id));
    }
    expect(lockId64('users', '1')).toBe('-5588505168143230922');
  });
});
