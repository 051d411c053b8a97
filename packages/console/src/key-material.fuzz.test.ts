/**
 * Fuzzing the console's parsers of key material: each returns or throws a CustosError —
 * never a raw TypeError or RangeError — on random bytes and on mutations of valid inputs.
 * (core's fuzz harness is not exported, so this uses fast-check directly.)
 */
import fc from 'fast-check';
import {
  generateBucketKeyPair,
  isCustosError,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
} from '@custos/core';
import { describe, expect, it } from 'vitest';
import { parseBucketKeyWrap, wrapBucketKey } from './bucket-key-wrap.js';
import { decodeOfficerPublicKey, encodeOfficerPublicKey, generateOfficerKeys } from './officer-keys.js';
import { openWithPassphrase, sealWithPassphrase } from './passphrase-box.js';
import { SigningKey } from './signing-key.js';
import { PASS, TEST_KDF } from './test-kdf.test-data.js';

const RUNS = Number(process.env.CUSTOS_FUZZ_RUNS ?? 3000);

/** Random bytes, or a seed with bytes flipped, cut or spliced. */
function inputs(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.nat(),
    )
    .map(([seed, edits, cut]) => {
      const b = Uint8Array.from(seed);
      for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
      return cut % 5 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
    });
  return fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated);
}

function neverRaw(parse: (b: Uint8Array) => unknown): (b: Uint8Array) => void {
  return (b) => {
    try {
      parse(b);
    } catch (e) {
      if (!isCustosError(e)) throw e;
    }
  };
}

describe('console parser fuzzing', async () => {
  const root = SigningKey.generate();
  const km = SigningKey.generate();
  const delegation = sealKeyManagerDelegation({ key: km.publicKey, notBefore: 1, notAfter: 2 }, root);
  const doc = sealBucketKeyDocument(
    {
      org: 'o',
      bucket: 'b',
      retentionClass: 'standard',
      period: '2026-01',
      notBefore: 1,
      notAfter: 2,
      publicKey: new Uint8Array(32),
    },
    km,
  );
  const pair = await generateBucketKeyPair();
  const wrap = await wrapBucketKey(
    { org: 'o', bucket: 'b', to: 'root' },
    pair.privateKey,
    new Uint8Array(32),
    pair.publicKey,
  );
  const officer = encodeOfficerPublicKey(await generateOfficerKeys(0, km));

  it('wraps and officer keys (seeded with delegations and bucket documents too)', () => {
    const seeds = [delegation, doc, wrap, officer];
    // Delegations and bucket documents are fuzzed with core's readers (core/src/org-docs).
    fc.assert(fc.property(inputs(seeds), neverRaw(parseBucketKeyWrap)), { numRuns: RUNS });
    fc.assert(fc.property(inputs(seeds), neverRaw(decodeOfficerPublicKey)), { numRuns: RUNS });
    // The seeds themselves are accepted.
    expect(parseBucketKeyWrap(wrap).to).toBe('root');
  });

  it('passphrase-protected files', async () => {
    const text = new TextEncoder().encode(
      await sealWithPassphrase('t', { a: 1 }, new Uint8Array([1]), PASS, TEST_KDF),
    );
    await fc.assert(
      fc.asyncProperty(inputs([text]), async (b) => {
        try {
          await openWithPassphrase('t', new TextDecoder().decode(b), PASS, TEST_KDF);
        } catch (e) {
          if (!isCustosError(e)) throw e;
        }
      }),
      { numRuns: Math.min(RUNS, 1000) },
    );
  });
});
