/**
 * A minimal deterministic-CBOR writer and strict reader for fixed schemas on hot paths
 * (record header and record framing). Only what those schemas use: unsigned integers,
 * byte strings, text strings, array and map heads, all definite-length and in shortest
 * form (RFC 8949 §4.2.1). The reader refuses everything else with MALFORMED_RECORD.
 */
import { CustosError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_ID_BYTES = 64;
// 1 for the bytes an id may contain: A-Z a-z 0-9 . _ : -
const ID_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-')
  ID_CHAR[c.charCodeAt(0)] = 1;

/** Orders byte strings as RFC 8949 §4.2.1 orders equal-length keys: bytewise, shorter first on a tie. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** Bytes a CBOR head with argument `n` (0..2^53-1) takes in shortest form. */
export function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}

/**
 * Writes a shortest-form head (major type `major`, argument `n` in 0..2^53-1) into `out` at
 * `at`, which must have room; returns the offset after it. Same bytes as {@link CborWriter.head}.
 */
export function writeHead(out: Uint8Array, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  if (n < 0x100) {
    out[at] = m | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = m | 25;
    out[at + 1] = n >>> 8;
    out[at + 2] = n & 0xff;
    return at + 3;
  }
  let hiBytes = 0;
  if (n < 0x100000000) out[at++] = m | 26;
  else {
    out[at++] = m | 27;
    const hi = Math.floor(n / 0x100000000);
    out[at] = hi >>> 24;
    out[at + 1] = (hi >>> 16) & 0xff;
    out[at + 2] = (hi >>> 8) & 0xff;
    out[at + 3] = hi & 0xff;
    hiBytes = 4;
  }
  at += hiBytes;
  const lo = n >>> 0;
  out[at] = lo >>> 24;
  out[at + 1] = (lo >>> 16) & 0xff;
  out[at + 2] = (lo >>> 8) & 0xff;
  out[at + 3] = lo & 0xff;
  return at + 4;
}

/**
 * Reads a head of major type `major` at `buf[at]`, not reading at or past `end`, with
 * exactly the checks of {@link CborReader.head} (shortest form, definite length, at most
 * 2^53-1). Returns its argument, or -1 where CborReader would refuse it; the head took
 * {@link headLength} of the argument bytes, because only shortest form is accepted.
 */
export function readHeadAt(buf: Uint8Array, at: number, end: number, major: number): number {
  if (at >= end) return -1;
  const ib = buf[at]!;
  if (ib >> 5 !== major) return -1;
  const ai = ib & 0x1f;
  if (ai < 24) return ai;
  if (ai === 24) {
    if (at + 2 > end) return -1;
    const n = buf[at + 1]!;
    return n < 24 ? -1 : n;
  }
  if (ai === 25) {
    if (at + 3 > end) return -1;
    const n = (buf[at + 1]! << 8) | buf[at + 2]!;
    return n < 0x100 ? -1 : n;
  }
  if (ai === 26) {
    if (at + 5 > end) return -1;
    const n = ((buf[at + 1]! << 24) >>> 0) + (buf[at + 2]! << 16) + (buf[at + 3]! << 8) + buf[at + 4]!;
    return n < 0x10000 ? -1 : n;
  }
  if (ai === 27) {
    if (at + 9 > end) return -1;
    const hi = ((buf[at + 1]! << 24) >>> 0) + (buf[at + 2]! << 16) + (buf[at + 3]! << 8) + buf[at + 4]!;
    const lo = ((buf[at + 5]! << 24) >>> 0) + (buf[at + 6]! << 16) + (buf[at + 7]! << 8) + buf[at + 8]!;
    if (hi > 0x1fffff) return -1;
    const n = hi * 0x100000000 + lo;
    return n < 0x100000000 ? -1 : n;
  }
  return -1;
}

/** Appends deterministic CBOR items to a growable buffer. */
export class CborWriter {
  #buf: Buffer;
  #at = 0;

  /** `capacity` is a first guess; the buffer grows as needed. */
  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(capacity);
  }

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }

  /** Writes a head: major type `major` with argument `n` in its shortest form. */
  head(major: number, n: number): this {
    this.#room(9);
    const m = major << 5;
    const b = this.#buf;
    if (n < 24) b[this.#at++] = m | n;
    else if (n < 0x100) {
      b[this.#at++] = m | 24;
      b[this.#at++] = n;
    } else if (n < 0x10000) {
      b[this.#at++] = m | 25;
      b.writeUInt16BE(n, this.#at);
      this.#at += 2;
    } else if (n < 0x100000000) {
      b[this.#at++] = m | 26;
      b.writeUInt32BE(n, this.#at);
      this.#at += 4;
    } else {
      b[this.#at++] = m | 27;
      b.writeUInt32BE(Math.floor(n / 0x100000000), this.#at);
      b.writeUInt32BE(n >>> 0, this.#at + 4);
      this.#at += 8;
    }
    return this;
  }

  /** Writes an unsigned integer (major type 0). */
  uint(n: number): this {
    return this.head(0, n);
  }

  /** Writes a byte string (major type 2). */
  bytes(v: Uint8Array): this {
    this.head(2, v.length);
    this.#room(v.length);
    this.#buf.set(v, this.#at);
    this.#at += v.length;
    return this;
  }

  /** Writes pre-encoded CBOR bytes as they are (e.g. a constant map key). */
  raw(v: Uint8Array): this {
    this.#room(v.length);
    this.#buf.set(v, this.#at);
    this.#at += v.length;
    return this;
  }

  /** Writes a text string (major type 3) as UTF-8. */
  text(s: string): this {
    const len = s.length;
    if (len < 24) {
      // Short ASCII (ids and keys): write the bytes directly, no encoder call.
      this.#room(1 + len);
      const b = this.#buf;
      const start = this.#at;
      b[start] = 0x60 | len;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + 1 + i] = c;
      }
      if (i === len) {
        this.#at = start + 1 + len;
        return this;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.head(3, n);
    this.#room(n);
    this.#at += this.#buf.write(s, this.#at, 'utf8');
    return this;
  }

  /** Starts over, keeping the buffer. */
  reset(): this {
    this.#at = 0;
    return this;
  }

  /** The bytes written so far (a view of the internal buffer, valid until the next write). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }
}

/** Reads deterministic CBOR items from a copy of the input, refusing anything not shortest-form. */
export class CborReader {
  readonly #buf: Uint8Array;
  readonly #what: string;
  #at = 0;

  /**
   * With `copy` (the default) the input is copied once and byte strings returned are views
   * into that copy; without it they are views into `input` itself.
   */
  constructor(input: Uint8Array, what: string, copy = true) {
    this.#buf = copy ? Uint8Array.from(input) : input;
    this.#what = what;
  }

  #fail(why: string): never {
    throw new CustosError('MALFORMED_RECORD', `${this.#what}: ${why} at byte ${this.#at}`);
  }

  #need(n: number): void {
    if (this.#at + n > this.#buf.length) this.#fail('truncated');
  }

  /** Reads a head of major type `major`; returns its argument. */
  head(major: number): number {
    this.#need(1);
    const ib = this.#buf[this.#at]!;
    if (ib >> 5 !== major) this.#fail(`expected CBOR major type ${major}, found ${ib >> 5}`);
    const ai = ib & 0x1f;
    this.#at++;
    if (ai < 24) return ai;
    const b = this.#buf;
    let n: number;
    let min: number;
    if (ai === 24) {
      this.#need(1);
      n = b[this.#at]!;
      min = 24;
      this.#at += 1;
    } else if (ai === 25) {
      this.#need(2);
      n = (b[this.#at]! << 8) | b[this.#at + 1]!;
      min = 0x100;
      this.#at += 2;
    } else if (ai === 26) {
      this.#need(4);
      n =
        ((b[this.#at]! << 24) >>> 0) + (b[this.#at + 1]! << 16) + (b[this.#at + 2]! << 8) + b[this.#at + 3]!;
      min = 0x10000;
      this.#at += 4;
    } else if (ai === 27) {
      this.#need(8);
      const hi =
        ((b[this.#at]! << 24) >>> 0) + (b[this.#at + 1]! << 16) + (b[this.#at + 2]! << 8) + b[this.#at + 3]!;
      const lo =
        ((b[this.#at + 4]! << 24) >>> 0) +
        (b[this.#at + 5]! << 16) +
        (b[this.#at + 6]! << 8) +
        b[this.#at + 7]!;
      if (hi > 0x1fffff) this.#fail('integer above 2^53-1');
      n = hi * 0x100000000 + lo;
      min = 0x100000000;
      this.#at += 8;
    } else {
      this.#fail(ai === 31 ? 'indefinite length is not allowed' : 'reserved additional information');
    }
    if (n < min) this.#fail('integer not in shortest form');
    return n;
  }

  /** Reads an unsigned integer. */
  uint(): number {
    return this.head(0);
  }

  /** Reads a byte string (a view into the reader's copy). */
  bytes(): Uint8Array {
    const n = this.head(2);
    this.#need(n);
    const v = this.#buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }

  /** Reads a text string; invalid UTF-8 is refused. */
  text(): string {
    const n = this.head(3);
    this.#need(n);
    const v = this.#buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    try {
      return utf8.decode(v);
    } catch {
      return this.#fail('text is not valid UTF-8');
    }
  }

  /**
   * Reads a text string that must be a well-formed id (ASCII letters, digits and `._:-`,
   * not starting with `.` or `:`, 1–64 long), checking bytes as it builds the string.
   */
  id(name: string): string {
    const n = this.head(3);
    if (n < 1 || n > MAX_ID_BYTES) this.#fail(`"${name}" is not a well-formed id`);
    this.#need(n);
    const b = this.#buf;
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = b[this.#at + i]!;
      if (ID_CHAR[c] !== 1 || (i === 0 && (c === 0x2e || c === 0x3a)))
        this.#fail(`"${name}" is not a well-formed id`);
      s += String.fromCharCode(c);
    }
    this.#at += n;
    return s;
  }

  /** Reads a byte string of exactly `length` bytes; returns its offset in {@link buffer}. */
  fixedBytes(length: number, name: string): number {
    if (this.head(2) !== length) this.#fail(`${name} is not ${length} bytes`);
    this.#need(length);
    const start = this.#at;
    this.#at += length;
    return start;
  }

  /** The bytes being read (the reader's copy, or the input itself when not copying). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Reads a text key and checks it is `expected` (the schema fixes keys and their order). */
  key(expected: string): void {
    const start = this.#at;
    const k = this.head(3);
    if (k !== expected.length) this.#fail(`expected key "${expected}"`);
    this.#need(k);
    for (let i = 0; i < k; i++) {
      if (this.#buf[this.#at + i] !== expected.charCodeAt(i)) {
        this.#at = start;
        this.#fail(`expected key "${expected}"`);
      }
    }
    this.#at += k;
  }

  /** Offset of the next unread byte. */
  get offset(): number {
    return this.#at;
  }

  /** Requires that every byte was read. */
  end(): void {
    if (this.#at !== this.#buf.length) this.#fail('trailing bytes');
  }
}
