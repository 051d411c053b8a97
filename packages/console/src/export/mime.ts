/**
 * The little of RFC 5322 / MIME (RFC 2045–2047) the exports need: header lines folded at
 * 78 characters, non-ASCII header text as RFC 2047 encoded words, quoted-printable text
 * bodies, base64 attachments in 76-character lines, and a strict reader for what these
 * writers produce (used by the RSMF checker and the tests). CRLF line ends throughout.
 */
import { ExportError } from './export-error.js';

/** Line end of every message the exports write. */
export const CRLF = '\r\n';
const LINE = 76;

const isAsciiPrintable = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

/**
 * RFC 2047 encoded words (UTF-8, base64) for `s`, each ≤ 75 characters, on whole characters.
 * Printable ASCII stays as it is, unless it holds `=?`: a reader would decode such text as
 * an encoded word of its own, so a name could pose as another.
 */
export function encodeWords(s: string): string {
  if (isAsciiPrintable(s) && !s.includes('=?')) return s;
  const words: string[] = [];
  let chunk = '';
  for (const ch of s) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(`=?UTF-8?B?${Buffer.from(chunk).toString('base64')}?=`);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk.length > 0) words.push(`=?UTF-8?B?${Buffer.from(chunk).toString('base64')}?=`);
  return words.join(' ');
}

/** One header field, folded at spaces so no line passes 78 characters where possible. */
export function headerLine(name: string, value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');
  const words = `${name}: ${clean}`.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur.length > 0 && cur.length + 1 + w.length > 78) {
      lines.push(cur);
      cur = ` ${w}`;
    } else cur = cur.length === 0 ? w : `${cur} ${w}`;
  }
  lines.push(cur);
  return lines.join(CRLF) + CRLF;
}

/** A quoted string for a display name in an address (RFC 5322 §3.2.4), or encoded words. */
export function displayPhrase(name: string): string {
  if (!isAsciiPrintable(name)) return encodeWords(name);
  return `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

/** Base64 in 76-character lines. */
export function base64Lines(b: Uint8Array): string {
  const s = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  const out: string[] = [];
  for (let i = 0; i < s.length; i += LINE) out.push(s.slice(i, i + LINE));
  return out.join(CRLF) + CRLF;
}

// Lines quoted-printable leaves as they are (apart from soft line breaks).
const QP_SAFE = /^(?:[\x21-\x3c\x3e-\x7e ]*[\x21-\x3c\x3e-\x7e])?$/;

/** Quoted-printable (RFC 2045 §6.7) of UTF-8 text; line breaks in `text` become CRLF. */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (QP_SAFE.test(line)) {
      // Fast path (most transcript lines): printable ASCII, no '=', no trailing space.
      for (let i = 0; i < line.length; i += LINE - 1)
        out.push(line.slice(i, i + LINE - 1) + (i + LINE - 1 < line.length ? '=' : ''));
      if (line.length === 0) out.push('');
      continue;
    }
    const bytes = Buffer.from(line, 'utf8');
    let cur = '';
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      const last = i === bytes.length - 1;
      const plain = (c >= 33 && c <= 126 && c !== 61) || (c === 32 && !last);
      const tok = plain ? String.fromCharCode(c) : `=${c.toString(16).toUpperCase().padStart(2, '0')}`;
      if (cur.length + tok.length > LINE - 1) {
        out.push(`${cur}=`);
        cur = '';
      }
      cur += tok;
    }
    out.push(cur);
  }
  return out.join(CRLF) + CRLF;
}

/** A parsed MIME entity. */
export interface MimePart {
  /** Header fields, names lowercased, unfolded, in order. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

const malformed = (what: string, file?: string): ExportError =>
  new ExportError('RSMF_INVALID', `message: ${what}`, file === undefined ? {} : { file });

/** Splits a message (CRLF or LF) into unfolded headers and the raw body. */
export function parseMessage(text: string, file?: string): MimePart {
  const norm = text.replace(/\r\n/g, '\n');
  const split = norm.indexOf('\n\n');
  if (split < 0) throw malformed('no blank line after the header', file);
  const headers: [string, string][] = [];
  for (const line of norm.slice(0, split).split('\n')) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last[1] += line.replace(/^[ \t]+/, ' ');
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`bad header line`, file);
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  for (const h of headers) h[1] = h[1].trim();
  return { headers, body: norm.slice(split + 2) };
}

/** The first value of header `name` (case-insensitive), or undefined. */
export const header = (p: MimePart, name: string): string | undefined =>
  p.headers.find(([k]) => k === name.toLowerCase())?.[1];

/** A parameter of a structured header value, e.g. `boundary` of Content-Type. */
export function headerParam(value: string | undefined, param: string): string | undefined {
  if (value === undefined) return undefined;
  const m = new RegExp(`;\\s*${param}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return m === null ? undefined : (m[1] ?? m[2]);
}

/** The parts of a multipart body. */
export function multipartParts(p: MimePart, file?: string): MimePart[] {
  const boundary = headerParam(header(p, 'content-type'), 'boundary');
  if (boundary === undefined) throw malformed('multipart without a boundary', file);
  const delim = `--${boundary}`;
  const chunks = `\n${p.body}`.split(`\n${delim}`);
  const parts: MimePart[] = [];
  let closed = false;
  for (const chunk of chunks.slice(1)) {
    if (chunk.startsWith('--')) {
      closed = true;
      break;
    }
    parts.push(parseMessage(chunk.replace(/^[ \t]*\n/, ''), file));
  }
  if (!closed) throw malformed('multipart body is not closed', file);
  return parts;
}

/** The decoded bytes of a part (base64, quoted-printable or identity). */
export function partBytes(p: MimePart): Uint8Array {
  const enc = (header(p, 'content-transfer-encoding') ?? '7bit').toLowerCase();
  if (enc === 'base64') return new Uint8Array(Buffer.from(p.body.replace(/\s+/g, ''), 'base64'));
  if (enc === 'quoted-printable') {
    const s = p.body.replace(/=\n/g, '');
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '=' && /^[0-9A-F]{2}$/i.test(s.slice(i + 1, i + 3))) {
        out.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(...Buffer.from(s[i]!, 'utf8'));
    }
    return new Uint8Array(out);
  }
  return new Uint8Array(Buffer.from(p.body, 'utf8'));
}

/** The file name of an attachment part (Content-Disposition filename or Content-Type name). */
export const partFileName = (p: MimePart): string | undefined =>
  headerParam(header(p, 'content-disposition'), 'filename') ?? headerParam(header(p, 'content-type'), 'name');
