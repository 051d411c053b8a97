import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyWriter, canonicalKeyOrder } from './body-writer.js';
import { encodeDeterministic } from './deterministic-cbor.js';

// Keys of different lengths and first bytes, so the canonical order is not alphabetical.
const TOP = ['dir', 'kind', 'parts', 'att', 'notice', 'removed', 'sent', 'env', 'a', 'zz'];
const NESTED = ['id', 'key', 'dig', 'size', 'type', 'name'];

const scalar = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.boolean(),
  fc.uint8Array({ maxLength: 300 }),
);
const nested = fc.dictionary(fc.constantFrom(...NESTED), scalar);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 30 }), fc.array(nested, { maxLength: 3 }));
const body = fc.dictionary(fc.constantFrom(...TOP), value);

describe('body writer', () => {
  it('writes the same bytes as the general deterministic encoder', () => {
    const w = new BodyWriter(TOP, NESTED);
    fc.assert(
      fc.property(body, (m) => {
        expect(Buffer.from(w.encode(m)).equals(Buffer.from(encodeDeterministic(m)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('writes long texts and byte strings (multi-byte length heads) as the general encoder does', () => {
    const w = new BodyWriter(TOP, NESTED);
    const m = { a: 'é'.repeat(40_000), zz: new Uint8Array(70_000).fill(7), dir: 'x'.repeat(300) };
    expect(Buffer.from(w.encode(m)).equals(Buffer.from(encodeDeterministic(m)))).toBe(true);
  });

  it('returns a copy that a later encode does not overwrite', () => {
    const w = new BodyWriter(TOP, NESTED);
    const first = w.encode({ dir: 'sent' });
    const copy = Uint8Array.from(first);
    w.encode({ dir: 'received' });
    expect(first).toEqual(copy);
  });

  it('orders keys as RFC 8949 §4.2.1 does: shorter encodings first, then bytewise', () => {
    expect(canonicalKeyOrder(['parts', 'att', 'b', 'aa', 'notice', 'dir'])).toEqual([
      'b',
      'aa',
      'att',
      'dir',
      'parts',
      'notice',
    ]);
  });

  it('refuses a key outside the schema and a value it does not encode', () => {
    const w = new BodyWriter(TOP, NESTED);
    expect(() => w.encode({ other: 1 })).toThrow(TypeError);
    expect(() => w.encode({ dir: -1 })).toThrow(TypeError);
    expect(() => w.encode({ dir: 1.5 })).toThrow(TypeError);
    expect(() => w.encode({ dir: null })).toThrow(TypeError);
    expect(() => w.encode({ att: [{ other: 1 }] })).toThrow(TypeError);
  });
});
