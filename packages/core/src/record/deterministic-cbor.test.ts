/** The strict decoders' refusals: non-deterministic bytes, and (for maps) any other top-level shape. */
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../errors.js';
import { decodeStrict, decodeStrictMap, encodeDeterministic } from './deterministic-cbor.js';

describe('decodeStrictMap', () => {
  it('returns a deterministic map', () => {
    expect(decodeStrictMap(encodeDeterministic({ a: 1, b: 'x' }), 'doc', 'MALFORMED_INPUT')).toEqual({
      a: 1,
      b: 'x',
    });
  });

  it.each([null, 7, 'text', [1, 2], new Uint8Array([1, 2]), true])(
    'refuses a top-level %o with the given code, naming the document',
    (value) => {
      const bytes = encodeDeterministic(value);
      expect(decodeStrict(bytes, 'doc', 'MALFORMED_INPUT')).toEqual(value);
      try {
        decodeStrictMap(bytes, 'the officer list', 'MALFORMED_INPUT');
        expect.unreachable('a non-map was accepted');
      } catch (e) {
        expect(isCustosError(e, 'MALFORMED_INPUT')).toBe(true);
        expect(String(e)).toMatch(/the officer list is not a CBOR map/);
      }
    },
  );

  it('keeps decodeStrict refusals (a non-deterministic encoding)', () => {
    // {"b": 1, "a": 2}: keys out of the deterministic order.
    const bytes = Uint8Array.from([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02]);
    expect(() => decodeStrictMap(bytes, 'doc', 'MALFORMED_INPUT')).toThrow(/deterministic/);
  });
});
