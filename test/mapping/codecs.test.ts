import { describe, expect, it } from 'vitest';
import { JSON_NULL, LosslessNumber, MidairError, isLosslessNumber, jsonDecimal } from '../../src/index.js';
import { canonicalDecimal, codecs } from '../../src/adapter.js';
import { wrapsWrites } from '../../src/mapping/codecs.js';
import { rng } from '../support/rng.js';
import {
  dateFromInstant,
  epochSecondsToInstant,
  epochSecondsToMs,
  formatDate,
  formatInstant,
  instantFromDate,
  instantToEpochSeconds,
  parseInstant,
  parseInstantMs,
} from '../../src/mapping/instant.js';

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
  it.each([
    '0005-01-01T00:00:00Z',
    '2024-06-01 06:30:00+05:30:15',
    '2024-06-01 06:30',
    ' 2024-06-01 06:30:00',
    '2024-06-01 06:30:00 BC',
    '2024-06-01 06:30:00.+00',
    'infinity',
  ])('%s is left to the general path', (text) => {
    expect(parseInstantMs(text)).toBeUndefined();
  });
  it.each([
    '0',
    '1700000000',
    '1700000000.1',
    '1700000000.123456',
    '1700000000.999999999',
    '253402300799.999999',
    '0.0005',
  ])('epoch seconds %s read to the same millisecond', (text) => {
    expect(epochSecondsToMs(text)).toBe(dateFromInstant(epochSecondsToInstant(text)).getTime());
  });
  it.each(['-1.5', '', '.5', '1e9', '12.', '1700000000.1234567890', ' 1'])(
    'epoch seconds %j are left to the general path',
    (text) => {
      expect(epochSecondsToMs(text)).toBeUndefined();
    },
  );
  it('formats Dates as the canonical text, inside and outside four-digit years', () => {
    for (const t of [
      0, -1, 1_700_000_000_123, -62_167_219_200_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001,
    ]) {
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
    expect(codecs.uuid.encode('0B9A2C55-6F0E-4C41-9D5E-7A8F6A1D2E3F', 'postgres')).toBe(
      '0b9a2c55-6f0e-4c41-9d5e-7a8f6a1d2e3f',
    );
    expect(() => codecs.uuid.encode('not-a-uuid', 'postgres')).toThrow(/uuid/);
  });

  it('timestamptz in date mode returns Dates, in string mode canonical µs text', () => {
    expect(codecs.timestamptz().decode('2024-01-01 00:00:00.5+00', 'postgres')).toEqual(
      new Date('2024-01-01T00:00:00.500Z'),
    );
    expect(codecs.timestamptz({ as: 'string' }).decode('1704067200.000001', 'mysql')).toBe(
      '2024-01-01T00:00:00.000001Z',
    );
    expect(codecs.timestamptz().encode(new Date('2024-01-01T00:00:00.500Z'), 'mysql')).toBe('1704067200.500000');
  });

  it('custom codecs carry their own type name and accept any column by default', () => {
    const cents = codecs.custom<bigint>({
      type: 'cents',
      encode: (v) => v.toString(),
      decode: (r) => BigInt(String(r)),
    });
    expect(cents.type).toBe('custom:cents');
    expect(cents.accepts('postgres')).toContain('int64');
    expect(cents.decode('125', 'postgres')).toBe(125n);
  });
});

describe('json: every number, -0 and JSON null kept', () => {
  const json = codecs.json;
  const read = (text: string): unknown => json.decode(text, 'sqlite');
  const tiny = `0.${'0'.repeat(399)}1`;

  it('reads numbers a double cannot hold as LosslessNumbers with their exact value, and -0 as -0', () => {
    const doc = read(
      '{"big":12345678901234567890,"pi":3.14159265358979323846264338,"small":1e-400,"n":-0.0}',
    ) as Record<string, unknown>;
    expect(doc).toEqual({
      big: new LosslessNumber('12345678901234567890'),
      pi: new LosslessNumber('3.14159265358979323846264338'),
      small: new LosslessNumber(tiny),
      n: -0,
    });
    expect(Object.is(doc.n, -0)).toBe(true);
    expect(isLosslessNumber(doc.big)).toBe(true);
    expect(read('9007199254740993')).toEqual(new LosslessNumber('9007199254740993'));
    expect(read('[1e400, -1e-400]')).toEqual([
      new LosslessNumber(`1${'0'.repeat(400)}`),
      new LosslessNumber(`-${tiny}`),
    ]);
  });

  it('keeps ordinary JSON plain JS values, as JSON.parse reads them', () => {
    for (const text of [
      '{"a":1,"b":[1.5,-2,0.1,1e23,1e21,5e-324],"c":{"d":null,"e":"x\\u00e9 1e400 12345678901234567890"},"f":true}',
      '[0.30000000000000004, 1.7976931348623157e308]',
      '"a string"',
      '42.5',
      'true',
      '[]',
    ]) {
      const value = read(text);
      expect(value, text).toEqual(JSON.parse(text));
      expect(JSON.stringify(value)).toBe(JSON.stringify(JSON.parse(text)));
    }
    // A duplicate key keeps its last value, as JSON.parse and jsonb do, on both paths.
    expect(read('{"a":1,"a":2}')).toEqual({ a: 2 });
    expect(read('{"a":1e-400,"a":2}')).toEqual({ a: 2 });
    // "__proto__" is a member, not the prototype.
    expect(Object.keys(read('{"__proto__":{"x":1e-400}}') as object)).toEqual(['__proto__']);
  });

  it('reads back what it writes for random documents, whichever way each is read (strings that look like numbers included)', () => {
    const random = rng(8);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const numbers = [
      0,
      -0,
      1.5,
      -2,
      0.1,
      1e21,
      5e-324,
      123456789012345,
      new LosslessNumber('12345678901234567890'),
      new LosslessNumber(`0.${'0'.repeat(30)}70000000000000000001`),
      new LosslessNumber('-3.14159265358979323846'),
    ];
    const strings = [
      '',
      'plain',
      '0b9a2c55-6f0e-4c41-9d5e-7a8f6a1d2e3f',
      '1e400',
      '12345678901234567890',
      'quote " and \\ 1e5',
      'ü😀',
    ];
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.4) return r < 0.2 ? pick(numbers) : r < 0.35 ? pick(strings) : pick([true, false, null]);
      if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, () => [pick(strings), value(depth + 1)]),
      );
    };
    for (let i = 0; i < 500; i++) {
      const doc = value(0);
      const text = json.encode(doc, 'sqlite') as string;
      expect(read(text), text).toEqual(doc === null ? JSON_NULL : doc);
    }
  });

  it('keeps JSON null apart from SQL NULL: a stored null reads as JSON_NULL, and JSON_NULL writes null', () => {
    expect(read('null')).toBe(JSON_NULL);
    expect(read(' null ')).toBe(JSON_NULL);
    expect(read('[null]')).toEqual([null]);
    expect(json.encode(JSON_NULL, 'postgres')).toBe('null');
    expect(json.encode({ a: JSON_NULL }, 'postgres')).toBe('{"a":null}');
  });

  it('writes what it reads back: digits of LosslessNumbers and bigints, -0 as -0', () => {
    const values = [
      {
        big: new LosslessNumber('12345678901234567890'),
        small: new LosslessNumber(tiny),
        n: -0,
        z: [0, -0],
        i: 12345678901234567890n,
      },
      -0,
      new LosslessNumber('3.14159265358979323846264338'),
      { a: [1.5, 'x', null, true, { b: 1e21 }] },
    ];
    for (const v of values) {
      const text = json.encode(v, 'mysql') as string;
      expect(read(text)).toEqual(
        typeof v === 'object' && 'i' in v ? { ...v, i: new LosslessNumber('12345678901234567890') } : v,
      );
    }
    // LosslessNumbers in their one exact spelling, so no engine keeps a scale (jsonb's 1.50) that hashes apart from JS.
    const written = {
      n: -0,
      l: new LosslessNumber('1.2345678901234567890e-5'),
      z: new LosslessNumber('12345678901234567890.000'),
      i: 10n ** 20n,
    };
    expect(json.encode(written, 'postgres')).toBe(
      '{"n":-0,"l":0.00001234567890123456789,"z":12345678901234567890,"i":100000000000000000000}',
    );
  });

  it('refuses NaN and infinities (JSON.stringify would write null) without echoing the value', () => {
    expect(() => json.encode({ secret: Number.NaN }, 'postgres')).toThrow(/NaN or an infinite number/);
    expect(() => json.encode([Infinity], 'postgres')).toThrow(MidairError);
    expect(() => json.encode({ secret: Number.NaN }, 'postgres')).not.toThrow(/secret/);
  });

  it('writes every number in one exact decimal form (jsonDecimal)', () => {
    const cases: [string, string][] = [
      ['0', '0'],
      ['-0', '-0'],
      ['-0.000e7', '-0'],
      ['1.50', '1.5'],
      ['1.5e1', '15'],
      ['1e3', '1000'],
      ['1E-3', '0.001'],
      ['0.00120', '0.0012'],
      ['100', '100'],
      ['-12.340e-2', '-0.1234'],
      ['12345678901234567890', '12345678901234567890'],
      ['1e-400', tiny],
      ['1e999999999', '1e999999999'],
      ['-1.230e-999999999', '-1.23e-999999999'],
    ];
    for (const [text, form] of cases) expect(jsonDecimal(text), text).toBe(form);
    // Exponents past a double's integers stay exact.
    expect(jsonDecimal('1e99999999999999999999')).toBe('1e99999999999999999999');
    expect(jsonDecimal('10e99999999999999999999')).toBe('1e100000000000000000000');
    expect(jsonDecimal('0.01e-99999999999999999999')).toBe('1e-100000000000000000001');
    expect(() => jsonDecimal('0x10')).toThrow(MidairError);
  });

  it('check() names what a column type loses: jsonb loses -0, a MySQL JSON column rounds to doubles, the rest nothing', () => {
    expect(json.loses?.({ type: 'jsonb', family: 'json' }, 'postgres')).toMatch(/-0/);
    expect(json.loses?.({ type: 'json', family: 'json' }, 'postgres')).toBeUndefined();
    expect(json.loses?.({ type: 'json', family: 'json' }, 'mysql')).toMatch(/doubles/);
    expect(json.loses?.({ type: 'longtext', family: 'text' }, 'mysql')).toBeUndefined();
    expect(json.loses?.({ type: 'text', family: 'text' }, 'sqlite')).toBeUndefined();
  });
});
