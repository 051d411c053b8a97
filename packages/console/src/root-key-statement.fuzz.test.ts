/**
 * Fuzzing the console's reader of the root-archive-key statement (docs/keys.md §6.1), which
 * every officer command runs on what the server serves: it returns or throws ConsoleError,
 * never a raw TypeError or RangeError, on mutated statements and on mutated payloads that
 * carry a valid signature (which reach the field checks behind the signature). The server's
 * reader has its own fuzz test (server/src/keys/root-key-rotation.fuzz.test.ts).
 */
import fc from 'fast-check';
import { encodeDeterministicCbor } from '@custos/core';
import { describe, expect, it } from 'vitest';
import { ConsoleError } from './console-error.js';
import { openRootKeyStatement, ROOT_KEY_DOMAIN, sealRootKeyStatement } from './root-key-statement.js';
import { SigningKey } from './signing-key.js';

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

/** Runs `read`, letting only the reader's own refusal through. */
function refusesCleanly(read: () => unknown, refusal: new (...args: never[]) => Error): void {
  try {
    read();
  } catch (e) {
    if (!(e instanceof refusal)) throw e;
  }
}

describe('root key statement reader (fuzz)', () => {
  const org = SigningKey.generate();
  const statement = {
    org: 'org-1',
    publicKey: new Uint8Array(32).fill(1),
    previous: new Uint8Array(32).fill(2),
    issuedAt: 1_790_000_000_000,
  };
  const sealed = sealRootKeyStatement(statement, org);
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'root-archive-key',
    org: statement.org,
    pk: statement.publicKey,
    prv: statement.previous,
    iat: statement.issuedAt,
  });
  const signPayload = (p: Uint8Array): Uint8Array =>
    encodeDeterministicCbor([
      p,
      org.sign(Buffer.concat([Buffer.from(ROOT_KEY_DOMAIN, 'ascii'), Buffer.of(0), p])),
    ]);

  it('accepts the seed, sealed or re-signed from its payload', () => {
    expect(openRootKeyStatement(sealed, org.publicKey).issuedAt).toBe(statement.issuedAt);
    expect(openRootKeyStatement(signPayload(payload), org.publicKey).org).toBe('org-1');
  });

  it('refuses mutated statements and signed mutated payloads with their own errors only', () => {
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
        refusesCleanly(() => openRootKeyStatement(b, org.publicKey), ConsoleError);
      }),
      { numRuns: RUNS },
    );
  });
});
