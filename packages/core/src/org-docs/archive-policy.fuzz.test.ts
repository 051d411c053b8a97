/**
 * Fuzzing the archive policy reader, which every enrolling device runs on what a server
 * serves: it returns or throws CustosError, on random and mutated documents and — so the
 * fuzz reaches the checks behind the signature — on validly signed payloads of every CBOR shape.
 */
import { generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { encodeDeterministic } from '../record/deterministic-cbor.js';
import { defaultFuzzRuns, fuzzParser } from '../testing/fuzz.js';
import { ARCHIVE_POLICY_DOMAIN, sealArchivePolicy, openArchivePolicy } from './archive-policy.js';

const raw = (k: KeyObject): Uint8Array =>
  new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'));
const org = generateKeyPairSync('ed25519');
const signer = { sign: (m: Uint8Array) => new Uint8Array(edSign(null, m, org.privateKey)) };
const key = raw(org.publicKey);
const statement = { org: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'Example Agency', policy: 'none' } as const;

function signPayload(payload: Uint8Array): Uint8Array {
  const msg = Buffer.concat([Buffer.from(ARCHIVE_POLICY_DOMAIN, 'ascii'), Buffer.of(0), payload]);
  return encodeDeterministic([payload, new Uint8Array(edSign(null, msg, org.privateKey))]);
}

describe('archive policy reader (fuzz)', () => {
  it('refuses random and mutated documents with CustosError only', () => {
    const seeds = [
      sealArchivePolicy(statement, signer),
      sealArchivePolicy({ ...statement, policy: 'required' }, signer),
    ];
    const report = fuzzParser((b) => openArchivePolicy(b, key), seeds, { maxLength: 400 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });

  it('refuses validly signed payloads of any shape with CustosError only', () => {
    const value: fc.Arbitrary<unknown> = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.string(),
      fc.uint8Array({ maxLength: 8 }),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string(), fc.constant(null))),
    );
    const fieldValue = fc.oneof(
      value,
      fc.constantFrom('required', 'none', 'archive-policy', 1, statement.org),
    );
    const shaped = fc.record({
      v: fieldValue,
      typ: fieldValue,
      org: fieldValue,
      name: fieldValue,
      policy: fieldValue,
    });
    fc.assert(
      fc.property(fc.oneof(value, shaped), (v) => {
        try {
          openArchivePolicy(signPayload(encodeDeterministic(v)), key);
        } catch (e) {
          if (!(e instanceof CustosError)) throw e;
        }
      }),
      { numRuns: Math.ceil(defaultFuzzRuns() / 2) },
    );
  });
});
