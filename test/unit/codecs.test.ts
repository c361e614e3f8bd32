import { describe, expect, it } from 'vitest';
import { canonicalDecimal, codecs, MidairError } from '../../src/index.js';
import { wrapsWrites } from '../../src/mapping/codecs.js';
import { dateFromInstant, epochSecondsToInstant, epochSecondsToMs, formatDate, formatInstant, instantFromDate, instantToEpochSeconds, parseInstant, parseInstantMs } from '../../src/mapping/instant.js';

describe('instants', () => {
  it('parses ISO text with any offset into microseconds since the epoch', () => {
    expect(formatInstant(parseInstant('2024-06-01 12:00:00.123456+05:30'))).toBe('2024-06-01T06:30:00.123456Z');
    expect(formatInstant(parseInstant('2024-06-01T06:30:00.1Z'))).toBe('2024-06-01T06:30:00.100000Z');
    expect(formatInstant(parseInstant('2024-06-01 06:30:00-08'))).toBe('2024-06-01T14:30:00.000000Z');
    expect(formatInstant(parseInstant('2024-06-01 06:30:00+12:45'))).toBe('2024-05-31T17:45:00.000000Z');
  });

  it('regression: years 0–99 stay those years (Date.UTC read them as 1900–1999)', () => {
    expect(formatInstant(parseInstant('0005-01-01T00:00:00Z'))).toBe('0005-01-01T00:00:00.000000Z');
    expect(codecs.timestamp.decode('0099-12-31 23:59:59.5', 'postgres')).toBe('0099-12-31T23:59:59.500000');
  });

  it('formats instants before 1970 with a positive fraction', () => {
    const micros = parseInstant('1969-12-31T23:59:59.999999Z');
    expect(micros).toBe(-1n);
    expect(formatInstant(micros)).toBe('1969-12-31T23:59:59.999999Z');
  });

  it('converts to and from exact epoch seconds (MySQL TIMESTAMP)', () => {
    const micros = parseInstant('2030-01-02T03:04:05.678901Z');
    expect(instantToEpochSeconds(micros)).toBe('1893553445.678901');
    expect(epochSecondsToInstant('1893553445.678901')).toBe(micros);
    expect(epochSecondsToInstant('1893553445')).toBe(1893553445000000n);
  });

  it('rejects text that is not a timestamp, without echoing it', () => {
    expect(() => parseInstant('my-secret-value')).toThrow(MidairError);
    expect(() => parseInstant('my-secret-value')).not.toThrow(/secret/);
  });
});

describe('the fast timestamp paths agree with the general ones', () => {
  const texts = [
    '2024-06-01 12:00:00.123456+05:30',
    '2024-06-01T06:30:00.1Z',
    '2024-06-01 06:30:00-08',
    '2024-06-01 06:30:00+12:45',
    '2024-06-01 06:30:00.5+00',
    '1969-12-31T23:59:59.999999Z',
    '1970-01-01 00:00:00.0009+00',
    '2024-02-29 23:59:59.999999999-03:30',
    '2030-01-02 03:04:05',
    '9999-12-31 23:59:59.999999+00',
    '1000-01-01 00:00:00+00',
  ];
  it.each(texts)('%s reads to the same millisecond', (text) => {
    expect(parseInstantMs(text)).toBe(dateFromInstant(parseInstant(text)).getTime());
  });
  it.each(['0005-01-01T00:00:00Z', '2024-06-01 06:30:00+05:30:15', '2024-06-01 06:30', ' 2024-06-01 06:30:00', '2024-06-01 06:30:00 BC', '2024-06-01 06:30:00.+00', 'infinity'])(
    '%s is left to the general path',
    (text) => {
      expect(parseInstantMs(text)).toBeUndefined();
    },
  );
  it.each(['0', '1700000000', '1700000000.1', '1700000000.123456', '1700000000.999999999', '253402300799.999999', '0.0005'])('epoch seconds %s read to the same millisecond', (text) => {
    expect(epochSecondsToMs(text)).toBe(dateFromInstant(epochSecondsToInstant(text)).getTime());
  });
  it.each(['-1.5', '', '.5', '1e9', '12.', '1700000000.1234567890', ' 1'])('epoch seconds %j are left to the general path', (text) => {
    expect(epochSecondsToMs(text)).toBeUndefined();
  });
  it('formats Dates as the canonical text, inside and outside four-digit years', () => {
    for (const t of [0, -1, 1_700_000_000_123, -62_167_219_200_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001]) {
      const d = new Date(t);
      expect(formatDate(d)).toBe(formatInstant(instantFromDate(d)));
    }
  });
});

describe('regression: timestamptz fields kept PostgreSQL off COPY and array parameters', () => {
  it('only MySQL wraps a timestamptz placeholder; PostgreSQL and SQLite take the value as it is', () => {
    const ts = codecs.timestamptz();
    expect(wrapsWrites(ts, 'mysql')).toBe(true);
    expect(wrapsWrites(ts, 'postgres')).toBe(false);
    expect(wrapsWrites(ts, 'sqlite')).toBe(false);
    expect(wrapsWrites(codecs.text, 'postgres')).toBe(false);
  });
});

describe('codecs', () => {
  it('canonicalises decimals: no trailing zeros, no leading zeros, no negative zero', () => {
    expect(canonicalDecimal('12.3400')).toBe('12.34');
    expect(canonicalDecimal('-0.000')).toBe('0');
    expect(canonicalDecimal('007.50')).toBe('7.5');
    expect(canonicalDecimal('+.5')).toBe('0.5');
    expect(canonicalDecimal('100')).toBe('100');
    expect(() => canonicalDecimal('1e5')).toThrow(/plain decimal/);
  });

  it('decodes booleans from every driver spelling', () => {
    for (const t of ['t', 'true', '1', 1, 1n, true]) expect(codecs.boolean.decode(t as never, 'postgres')).toBe(true);
    for (const f of ['f', 'false', '0', 0, 0n, false]) expect(codecs.boolean.decode(f as never, 'mysql')).toBe(false);
    expect(codecs.boolean.encode(true, 'sqlite')).toBe(1);
    expect(codecs.boolean.encode(true, 'postgres')).toBe(true);
  });

  it('keeps bigints exact beyond 2^53 on every dialect', () => {
    expect(codecs.bigint.encode(9007199254740993n, 'postgres')).toBe('9007199254740993');
    expect(codecs.bigint.encode(9007199254740993n, 'mysql')).toBe(9007199254740993n);
    expect(codecs.bigint.decode('9007199254740993', 'postgres')).toBe(9007199254740993n);
    expect(() => codecs.integer.decode('9007199254740993', 'postgres')).toThrow(/col.bigint/);
  });

  it('reads PostgreSQL bytea hex text and rejects non-binary values', () => {
    expect(codecs.bytes.decode('\\x00ff00', 'postgres')).toEqual(Buffer.from([0, 255, 0]));
    expect(() => codecs.bytes.encode('text' as never, 'postgres')).toThrow(/Uint8Array/);
  });

  it('lower-cases uuids and rejects malformed ones', () => {
    expect(codecs.uuid.encode('0B9A2C55-6F0E-4C41-9D5E-7A8F6A1D2E3F', 'postgres')).toBe('0b9a2c55-6f0e-4c41-9d5e-7a8f6a1d2e3f');
    expect(() => codecs.uuid.encode('not-a-uuid', 'postgres')).toThrow(/uuid/);
  });

  it('timestamptz in date mode returns Dates, in string mode canonical µs text', () => {
    expect(codecs.timestamptz().decode('2024-01-01 00:00:00.5+00', 'postgres')).toEqual(new Date('2024-01-01T00:00:00.500Z'));
    expect(codecs.timestamptz({ as: 'string' }).decode('1704067200.000001', 'mysql')).toBe('2024-01-01T00:00:00.000001Z');
    expect(codecs.timestamptz().encode(new Date('2024-01-01T00:00:00.500Z'), 'mysql')).toBe('1704067200.500000');
  });

  it('custom codecs carry their own type name and accept any column by default', () => {
    const cents = codecs.custom<bigint>({ type: 'cents', encode: (v) => v.toString(), decode: (r) => BigInt(String(r)) });
    expect(cents.type).toBe('custom:cents');
    expect(cents.accepts('postgres')).toContain('int64');
    expect(cents.decode('125', 'postgres')).toBe(125n);
  });
});
