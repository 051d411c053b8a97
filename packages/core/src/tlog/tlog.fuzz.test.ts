import { describe, expect, it } from 'vitest';
import { fuzzParser, utf8 } from '../testing/fuzz.js';
import { decodeEntryBundle, encodeEntryBundle } from './entry-bundle.js';
import { hashLeaf } from './hash.js';
import { decodeTile, encodeTile, parseTilePath, tilePath } from './tiles.js';

const text = new TextDecoder('utf-8', { fatal: false });

describe('tlog parsers under fuzzing', () => {
  it('parseTilePath returns or throws CustosError, and round-trips what it accepts', () => {
    const seeds = [
      'tile/0/x001/x234/067',
      'tile/0/x001/x234/067.p/1',
      'tile/0/000.p/15',
      'tile/1/000.p/1',
      'tile/entries/000.p/15',
      'tile/2/x001/000',
      'tile/63/999',
      'tile/entries/x009/x007/x199/x254/x740/991',
    ].map(utf8);
    const report = fuzzParser(
      (input) => {
        const path = text.decode(input);
        const parsed = parseTilePath(path);
        // Anything accepted is canonical: formatting it gives the same path back.
        const again =
          parsed.kind === 'tile'
            ? tilePath(parsed.tile)
            : `tile/entries/${path.split('/').slice(2).join('/')}`;
        if (again !== path) throw new Error(`non-canonical path accepted: ${path}`);
      },
      seeds,
      { maxLength: 64 },
    );
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });

  it('decodeTile returns or throws CustosError', () => {
    const hashes = Array.from({ length: 5 }, (_, i) => hashLeaf(Uint8Array.of(i)));
    const seeds = [encodeTile(hashes), encodeTile(hashes.slice(0, 1))];
    const report = fuzzParser((input) => decodeTile(input), seeds, { maxLength: 300 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });

  it('decodeEntryBundle returns or throws CustosError, and re-encodes what it accepts', () => {
    const seeds = [
      encodeEntryBundle([utf8('one'), utf8('two'), utf8('three')]),
      encodeEntryBundle([new Uint8Array(0)]),
      encodeEntryBundle([new Uint8Array(300).fill(7), utf8('x')]),
    ];
    const report = fuzzParser(
      (input) => {
        const entries = decodeEntryBundle(input);
        const again = encodeEntryBundle(entries);
        if (Buffer.compare(again, input) !== 0) throw new Error('bundle did not round-trip');
      },
      seeds,
      { maxLength: 600 },
    );
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });
});
