import { MidairError } from '../core/errors.js';
import type { Key, KeyPart } from '../core/keys.js';

/** How one key field is held: an integer (`number` or `bigint`) or text. */
export type KeyPartKind = 'number' | 'bigint' | 'text';

const OFFSET = 1n << 63n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
/** A lone surrogate has no UTF-8 form: such a key could not be stored or ordered by its bytes. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const ESCAPE = Buffer.from([0x00, 0xff]);
const END = Buffer.from([0x00, 0x01]);

/**
 * The index's encoding of keys: byte strings whose byte order is the key
 * order, so one sorted set of members at one score, read with
 * `ZRANGEBYLEX`, walks the keys in order (docs/decisions/0025).
 *
 * - an integer part is 16 hex digits of `n + 2^63`: signed 64-bit integers
 *   sort numerically;
 * - a text part is its UTF-8 bytes (code point order, the memory store's);
 *   in a composite key each text part escapes 0x00 as 00 FF and ends with
 *   00 01, so a part that is a prefix of another sorts first and the parts
 *   after it cannot change that.
 */
export class OrderKeys<K extends Key> {
  readonly #kinds: readonly KeyPartKind[];
  readonly #where: string;

  constructor(kinds: readonly KeyPartKind[], where: string) {
    this.#kinds = kinds;
    this.#where = where;
  }

  /** The key's member in the index. */
  encode(key: K): Buffer {
    const parts = this.#parts(key);
    if (parts.length === 1) return this.#part(parts[0] as KeyPart, this.#kinds[0] as KeyPartKind, false);
    return Buffer.concat(parts.map((p, i) => this.#part(p, this.#kinds[i] as KeyPartKind, true)));
  }

  /** The key a member encodes. */
  decode(member: Buffer): K {
    if (this.#kinds.length === 1) return this.#decodePart(member, this.#kinds[0] as KeyPartKind) as K;
    const parts: KeyPart[] = [];
    let at = 0;
    for (const kind of this.#kinds) {
      if (kind !== 'text') {
        parts.push(this.#decodePart(member.subarray(at, at + 16), kind));
        at += 16;
        continue;
      }
      const bytes: number[] = [];
      for (;;) {
        const b = member[at];
        if (b === undefined) throw this.#corrupt();
        if (b === 0x00) {
          const next = member[at + 1];
          at += 2;
          if (next === 0x01) break;
          if (next !== 0xff) throw this.#corrupt();
          bytes.push(0x00);
          continue;
        }
        bytes.push(b);
        at++;
      }
      parts.push(Buffer.from(bytes).toString('utf8'));
    }
    if (at !== member.length) throw this.#corrupt();
    return parts as unknown as K;
  }

  /** The key's text in its Redis key name: an integer in decimal, text as it is, composite parts joined by `:`. */
  text(key: K): string {
    return this.#parts(key)
      .map((p) => (typeof p === 'string' ? p : p.toString()))
      .join(':');
  }

  /**
   * The key a Redis key name's text holds (what `setup()` indexes), or
   * `undefined` where the text is no key of these fields. A composite key
   * splits at `:`; only its last part may hold one.
   */
  parseText(text: string): K | undefined {
    const pieces = text.split(':');
    if (pieces.length < this.#kinds.length) return undefined;
    const parts = [...pieces.slice(0, this.#kinds.length - 1), pieces.slice(this.#kinds.length - 1).join(':')].map(
      (piece, i): KeyPart | undefined => {
        const kind = this.#kinds[i] as KeyPartKind;
        if (kind === 'text') return piece;
        if (!/^-?(0|[1-9]\d*)$/.test(piece)) return undefined;
        const n = BigInt(piece);
        if (n < INT64_MIN || n > INT64_MAX) return undefined;
        if (kind === 'bigint') return n;
        return Number.isSafeInteger(Number(n)) ? Number(n) : undefined;
      },
    );
    if (parts.some((p) => p === undefined)) return undefined;
    if (pieces.length > this.#kinds.length && this.#kinds.at(-1) !== 'text') return undefined;
    return (parts.length === 1 ? parts[0] : parts) as K;
  }

  #parts(key: K): readonly KeyPart[] {
    return this.#kinds.length === 1 ? [key as KeyPart] : (key as readonly KeyPart[]);
  }

  #part(part: KeyPart, kind: KeyPartKind, composite: boolean): Buffer {
    if (kind === 'text') {
      if (typeof part !== 'string') throw this.#invalid('a text key field holds a non-string value');
      if (LONE_SURROGATE.test(part))
        throw this.#invalid('a text key holds a lone surrogate, which has no UTF-8 form to store it under');
      const bytes = Buffer.from(part, 'utf8');
      if (!composite) return bytes;
      const out: Buffer[] = [];
      let from = 0;
      for (let i = bytes.indexOf(0x00); i !== -1; i = bytes.indexOf(0x00, i + 1)) {
        out.push(bytes.subarray(from, i), ESCAPE);
        from = i + 1;
      }
      out.push(bytes.subarray(from), END);
      return Buffer.concat(out);
    }
    if (typeof part === 'string') throw this.#invalid('an integer key field holds a string');
    const n = BigInt(part);
    if (n < INT64_MIN || n > INT64_MAX) throw this.#invalid('an integer key is beyond the signed 64-bit range');
    return Buffer.from((n + OFFSET).toString(16).padStart(16, '0'), 'latin1');
  }

  #decodePart(bytes: Buffer, kind: KeyPartKind): KeyPart {
    if (kind === 'text') return bytes.toString('utf8');
    const hex = bytes.toString('latin1');
    if (!/^[0-9a-f]{16}$/.test(hex)) throw this.#corrupt();
    const n = BigInt(`0x${hex}`) - OFFSET;
    return kind === 'bigint' ? n : Number(n);
  }

  #invalid(what: string): MidairError {
    return new MidairError('INVALID_ARGUMENT', `${this.#where}: ${what}`);
  }

  #corrupt(): MidairError {
    return new MidairError('ENCODING', `${this.#where}: the key index holds a member that encodes no key`);
  }
}
