import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerLine, parseMessage, partBytes, quotedPrintable, encodeWords } from './mime.js';

const qpPart = (text: string) =>
  parseMessage(`Content-Transfer-Encoding: quoted-printable\r\n\r\n${quotedPrintable(text)}`);

describe('mime', () => {
  it('quoted-printable round-trips any text (line ends become LF) and keeps lines ≤ 76', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 5 }), (lines) => {
        const text = lines.map((l) => l.replace(/[\r\n]/g, '')).join('\n');
        const qp = quotedPrintable(text);
        for (const l of qp.split('\r\n')) expect(l.length).toBeLessThanOrEqual(76);
        expect(Buffer.from(partBytes(qpPart(text))).toString('utf8')).toBe(`${text}\n`);
      }),
    );
  });

  it('encodes a trailing space and "=" and folds long headers', () => {
    expect(quotedPrintable('a = b ')).toBe('a =3D b=20\r\n');
    const h = headerLine('X-Long', 'word '.repeat(40).trim());
    for (const l of h.split('\r\n').slice(0, -1)) expect(l.length).toBeLessThanOrEqual(78);
    expect(parseMessage(`${h}\r\n`).headers[0]![1]).toBe('word '.repeat(40).trim());
    expect(encodeWords('Çelik')).toBe('=?UTF-8?B?w4dlbGlr?=');
  });
});
