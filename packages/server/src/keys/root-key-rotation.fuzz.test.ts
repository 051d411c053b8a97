/**
 * Fuzzing the server's reader of the root-archive-key statement (docs/keys.md §6.1), which
 * checks every rotation request: it returns or throws KeyDocumentError (answered as
 * ROOT_KEY_INVALID), never a raw TypeError or RangeError, on mutated statements and on
 * mutated payloads that carry a valid signature (which reach the field checks).
 */
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { encodeDeterministicCbor } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { KeyDocumentError, signedBytes } from './key-documents.js';
import { openRootKeyStatement, ROOT_KEY_DOMAIN, sealRootKeyStatement } from './root-key-rotation.js';

const RUNS = Number(process.env.CUSTOS_FUZZ_RUNS ?? 3000);

/** Bytes with a few flipped, or cut short. */
function mutations(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
    .map(([edits, cut]) => {
      const b = Uint8Array.from(seed);
      for (const [at, v] of edits) b[at % b.length] = v;
      return cut % 4 === 0 ? b.subarray(0, cut % (b.length + 1)) : b;
    });
}

describe('openRootKeyStatement (server, fuzz)', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  // The raw 32-byte public key: the last 32 bytes of its SPKI DER encoding.
  const raw = new Uint8Array(
    createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32),
  );
  const statement = {
    org: 'org-1',
    publicKey: new Uint8Array(32).fill(1),
    previous: new Uint8Array(32).fill(2),
    issuedAt: 1_790_000_000_000,
  };
  const sealed = sealRootKeyStatement(statement, privateKey);
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'root-archive-key',
    org: statement.org,
    pk: statement.publicKey,
    prv: statement.previous,
    iat: statement.issuedAt,
  });
  const signPayload = (p: Uint8Array): Uint8Array =>
    encodeDeterministicCbor([p, sign(null, signedBytes(ROOT_KEY_DOMAIN, p), privateKey)]);

  it('accepts the seed, sealed or re-signed from its payload', () => {
    expect(openRootKeyStatement(sealed, raw).issuedAt).toBe(statement.issuedAt);
    expect(openRootKeyStatement(signPayload(payload), raw).org).toBe('org-1');
  });

  it('refuses mutated statements and signed mutated payloads with KeyDocumentError only', () => {
    const inputs = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      mutations(sealed),
      mutations(payload).map(signPayload),
      // Signed payloads of any other CBOR shape (null, numbers, text, arrays, maps).
      fc
        .oneof(
          fc.constant(null),
          fc.integer(),
          fc.string(),
          fc.array(fc.integer()),
          fc.dictionary(fc.string(), fc.integer()),
        )
        .map((v) => signPayload(encodeDeterministicCbor(v))),
    );
    fc.assert(
      fc.property(inputs, (b) => {
        try {
          openRootKeyStatement(b, raw);
        } catch (e) {
          if (!(e instanceof KeyDocumentError)) throw e;
        }
      }),
      { numRuns: RUNS },
    );
  });
});
