import { MidairError } from '../core/errors.js';

/**
 * Timestamps at microsecond precision, the precision PostgreSQL, MySQL and
 * MariaDB all keep. An instant is held as a bigint of microseconds since the
 * Unix epoch; its canonical text is `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
 */
const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/i;

interface Parts {
  readonly y: number;
  readonly mo: number;
  readonly d: number;
  readonly h: number;
  readonly mi: number;
  readonly s: number;
  readonly micros: number;
  readonly offsetSeconds: number | undefined;
}

function parseParts(text: string): Parts {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m)
    throw new MidairError(
      'ENCODING',
      'a timestamp is not in ISO 8601 form (expected YYYY-MM-DD HH:MM:SS[.ffffff][±HH:MM])',
    );
  const frac = (m[7] ?? '').padEnd(6, '0').slice(0, 6);
  let offsetSeconds: number | undefined;
  const zone = m[8];
  if (zone !== undefined) {
    if (zone === 'Z' || zone === 'z') offsetSeconds = 0;
    else {
      const digits = zone.slice(1).replace(/:/g, '');
      const oh = Number(digits.slice(0, 2));
      const om = Number(digits.slice(2, 4) || '0');
      const os = Number(digits.slice(4, 6) || '0');
      offsetSeconds = (zone.startsWith('-') ? -1 : 1) * (oh * 3600 + om * 60 + os);
    }
  }
  return {
    y: Number(m[1]),
    mo: Number(m[2]),
    d: Number(m[3]),
    h: Number(m[4] ?? '0'),
    mi: Number(m[5] ?? '0'),
    s: Number(m[6] ?? '0'),
    micros: Number(frac),
    offsetSeconds,
  };
}

function wallMicros(p: Parts): bigint {
  // Not Date.UTC(y, …): it reads years 0–99 as 1900–1999.
  const d = new Date(0);
  d.setUTCFullYear(p.y, p.mo - 1, p.d);
  d.setUTCHours(p.h, p.mi, p.s, 0);
  return BigInt(d.getTime()) * 1000n + BigInt(p.micros);
}

const digits = (text: string, from: number, count: number): number => {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return n;
};

/**
 * The common case of {@link parseInstant} without a regex or bigints, for
 * reading `Date` fields fast: `YYYY-MM-DD[ T]HH:MM:SS[.f…][Z|±HH[:MM]]`
 * with a year from 1000, to whole milliseconds (floored). Resolves
 * `undefined` for any other form; the caller then takes the general path.
 */
export function parseInstantMs(text: string): number | undefined {
  const n = text.length;
  if (
    n < 19 ||
    text[4] !== '-' ||
    text[7] !== '-' ||
    (text[10] !== ' ' && text[10] !== 'T') ||
    text[13] !== ':' ||
    text[16] !== ':'
  )
    return undefined;
  const y = digits(text, 0, 4);
  const wall = Date.UTC(
    y,
    digits(text, 5, 2) - 1,
    digits(text, 8, 2),
    digits(text, 11, 2),
    digits(text, 14, 2),
    digits(text, 17, 2),
  );
  if (Number.isNaN(wall) || y < 1000) return undefined;
  let i = 19;
  let ms = 0;
  if (text[i] === '.') {
    const start = ++i;
    while (i < n && i - start < 9 && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i === start) return undefined;
    ms = digits(text.slice(start, i).padEnd(3, '0'), 0, 3);
  }
  if (i === n) return wall + ms;
  const z = text[i];
  if ((z === 'Z' || z === 'z') && i + 1 === n) return wall + ms;
  if (z !== '+' && z !== '-') return undefined;
  const rest = text.slice(i + 1).replace(/:/g, '');
  if (rest.length !== 2 && rest.length !== 4) return undefined;
  const offset = digits(rest, 0, 2) * 3600 + (rest.length === 4 ? digits(rest, 2, 2) * 60 : 0);
  if (Number.isNaN(offset)) return undefined;
  return wall + ms - (z === '-' ? -offset : offset) * 1000;
}

/** Parses an ISO-like timestamp; text without a zone is read as UTC. */
export function parseInstant(text: string): bigint {
  const p = parseParts(text);
  return wallMicros(p) - BigInt(p.offsetSeconds ?? 0) * 1_000_000n;
}

/** Canonical UTC text with microseconds: `2024-05-01T12:00:00.000001Z`. */
export function formatInstant(micros: bigint): string {
  return `${formatWall(micros)}Z`;
}

/** Canonical zone-less text with microseconds: `2024-05-01T12:00:00.000001`. */
export function formatWall(micros: bigint): string {
  const ms = floorDiv(micros, 1000n);
  const iso = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const sub = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return `${iso.slice(0, 19)}.${sub.toString().padStart(6, '0')}`;
}

/** Reads a zone-less timestamp (any zone given is ignored) into canonical wall-clock text. */
export function canonicalWall(text: string): string {
  return formatWall(wallMicros(parseParts(text)));
}

/** Canonical UTC text of a `Date` (its microseconds are 000). */
export function formatDate(date: Date): string {
  const t = date.getTime();
  // Years 0000–9999 have the four-digit ISO form; others take the general path.
  if (t >= -62_167_219_200_000 && t < 253_402_300_800_000) return `${date.toISOString().slice(0, 23)}000Z`;
  return formatInstant(instantFromDate(date));
}

export function instantFromDate(date: Date): bigint {
  const t = date.getTime();
  if (Number.isNaN(t)) throw new MidairError('ENCODING', 'an invalid Date cannot be stored');
  return BigInt(t) * 1000n;
}

export function dateFromInstant(micros: bigint): Date {
  return new Date(Number(floorDiv(micros, 1000n)));
}

/** Seconds since the epoch as exact decimal text (`1700000000.123456`). */
export function instantToEpochSeconds(micros: bigint): string {
  const sec = floorDiv(micros, 1_000_000n);
  const sub = micros - sec * 1_000_000n;
  return `${sec.toString()}.${sub.toString().padStart(6, '0')}`;
}

/**
 * {@link epochSecondsToInstant} for the common case, to whole milliseconds
 * (floored) without a regex or bigints: a non-negative decimal. Resolves
 * `undefined` for any other form.
 */
export function epochSecondsToMs(text: string): number | undefined {
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  if (whole.length === 0 || whole.length > 12) return undefined;
  const seconds = digits(whole, 0, whole.length);
  if (Number.isNaN(seconds)) return undefined;
  if (dot < 0) return seconds * 1000;
  const frac = text.slice(dot + 1);
  if (frac.length === 0 || frac.length > 9 || Number.isNaN(digits(frac, 0, frac.length))) return undefined;
  return seconds * 1000 + digits(frac.padEnd(3, '0'), 0, 3);
}

/** Inverse of {@link instantToEpochSeconds}; accepts an integer or a decimal with up to 9 places. */
export function epochSecondsToInstant(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!m) throw new MidairError('ENCODING', 'an epoch timestamp is not a decimal number');
  const micros = BigInt(m[2] ?? '0') * 1_000_000n + BigInt((m[3] ?? '').padEnd(6, '0').slice(0, 6));
  return m[1] === '-' ? -micros : micros;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
