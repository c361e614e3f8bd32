import { describe, expect, it } from 'vitest';
import { bearerToken, chooseToken, isLoopback, MIN_TOKEN_LENGTH, tokenMatches } from '../../src/dashboard/auth.js';

describe('the dashboard’s token and bind', () => {
  it('the token matches only itself, whatever the length of what was sent', () => {
    const token = 'correct-horse-battery-staple-42';
    expect(tokenMatches(token, token)).toBe(true);
    for (const given of [undefined, '', 'correct', `${token}x`, token.toUpperCase(), 'x'.repeat(10_000)])
      expect(tokenMatches(token, given)).toBe(false);
  });

  it('reads the token from an Authorization: Bearer header only', () => {
    expect(bearerToken('Bearer abc.def-123')).toBe('abc.def-123');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    for (const h of [undefined, '', 'abc', 'Basic abc', 'Bearer', 'Bearer a b']) expect(bearerToken(h)).toBeUndefined();
  });

  it('knows loopback addresses from the others', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]'])
      expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', 'example.com', '128.0.0.1'])
      expect(isLoopback(h), h).toBe(false);
  });

  it('makes a token on loopback unless one is given; off loopback it must be chosen, and long enough', () => {
    const made = chooseToken({ host: '127.0.0.1' });
    expect(made.generated).toBe(true);
    expect(made.token.length).toBeGreaterThanOrEqual(32);
    expect(chooseToken({ host: '127.0.0.1' }).token).not.toBe(made.token);
    expect(chooseToken({ host: '127.0.0.1', env: 'from-the-environment-1234' })).toEqual({
      token: 'from-the-environment-1234',
      generated: false,
    });
    expect(
      chooseToken({ host: '127.0.0.1', token: 'from-the-flag-123456', env: 'from-the-environment-1234' }).token,
    ).toBe('from-the-flag-123456');
    expect(() => chooseToken({ host: '0.0.0.0' })).toThrow(
      /reachable from the network: it needs a token you choose, in MIDAIR_DASHBOARD_TOKEN/,
    );
    expect(() => chooseToken({ host: '0.0.0.0', env: '' })).toThrow(/needs a token you choose/);
    expect(chooseToken({ host: '0.0.0.0', env: 'a-chosen-token-of-some-length' }).generated).toBe(false);
    expect(() => chooseToken({ host: '127.0.0.1', token: 'short' })).toThrow(
      new RegExp(`at least ${MIN_TOKEN_LENGTH}`),
    );
  });
});
