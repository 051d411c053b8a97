/**
 * The archive policy statement: it signs and verifies, binds org, name and policy, and
 * refuses a tampered document, another key, and validly signed payloads of the wrong shape.
 */
import { generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../errors.js';
import { encodeDeterministic } from '../record/deterministic-cbor.js';
import { ARCHIVE_POLICY_DOMAIN, sealArchivePolicy, openArchivePolicy } from './archive-policy.js';

const raw = (k: KeyObject): Uint8Array =>
  new Uint8Array(Buffer.from(k.export({ format: 'jwk' }).x!, 'base64url'));
const org = generateKeyPairSync('ed25519');
const signer = { sign: (m: Uint8Array) => new Uint8Array(edSign(null, m, org.privateKey)) };
const other = generateKeyPairSync('ed25519');
const statement = { org: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'Example Agency', policy: 'required' } as const;

/** Signs an arbitrary payload as the org would (to reach the checks behind the signature). */
function signPayload(payload: Uint8Array, key = org.privateKey): Uint8Array {
  const msg = Buffer.concat([Buffer.from(ARCHIVE_POLICY_DOMAIN, 'ascii'), Buffer.of(0), payload]);
  return encodeDeterministic([payload, new Uint8Array(edSign(null, msg, key))]);
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isCustosError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('accepted');
}

describe('archive policy statement', () => {
  it('round-trips both policies', () => {
    for (const policy of ['required', 'none'] as const) {
      const doc = sealArchivePolicy({ ...statement, policy }, signer);
      expect(openArchivePolicy(doc, raw(org.publicKey))).toEqual({ ...statement, policy });
    }
  });

  it('has a fixed layout: the payload is the deterministic v1 map, the signature covers domain ‖ 0 ‖ payload', () => {
    const doc = sealArchivePolicy({ ...statement, policy: 'none' }, signer);
    const payload = encodeDeterministic({ v: 1, typ: 'archive-policy', ...statement, policy: 'none' });
    // Ed25519 is deterministic: the same key and payload sign to the same bytes.
    expect(Buffer.from(doc).equals(Buffer.from(signPayload(payload)))).toBe(true);
  });

  it('refuses another key, a flipped bit anywhere, and a policy swapped under the old signature', () => {
    const doc = sealArchivePolicy({ ...statement, policy: 'required' }, signer);
    expect(refusal(() => openArchivePolicy(doc, raw(other.publicKey)))).toMatch(/^SIGNATURE_INVALID/);
    for (let i = 0; i < doc.length; i++) {
      const bad = Uint8Array.from(doc);
      bad[i]! ^= 0x01;
      expect(refusal(() => openArchivePolicy(bad, raw(org.publicKey)))).toMatch(/archive policy statement/);
    }
    // The downgrade a server would try: `none` in the payload, the `required` signature kept.
    const none = encodeDeterministic({ v: 1, typ: 'archive-policy', ...statement, policy: 'none' });
    const sig = sealArchivePolicy(statement, signer).subarray(-64);
    const swapped = encodeDeterministic([none, sig]);
    expect(refusal(() => openArchivePolicy(swapped, raw(org.publicKey)))).toMatch(/^SIGNATURE_INVALID/);
  });

  it('refuses validly signed payloads of the wrong shape, naming the fault', () => {
    const base = { v: 1, typ: 'archive-policy', ...statement };
    const cases: [unknown, RegExp][] = [
      [null, /not a map/],
      [[1, 2], /not a map/],
      ['required', /not a map/],
      [{ ...base, policy: 'off' }, /"policy" must be one of required, none/],
      [{ ...base, policy: true }, /"policy" must be one of/],
      [{ ...base, v: 2 }, /not a v1 archive-policy document/],
      [{ ...base, typ: 'key-manager' }, /not a v1 archive-policy document/],
      [{ ...base, org: 7 }, /"org" is not a well-formed id/],
      [{ ...base, org: '../x' }, /"org" is not a well-formed id/],
      [{ ...base, name: 7 }, /"name" must be/],
      [{ ...base, name: '' }, /"name" must be/],
      [{ ...base, extra: 1 }, /exactly/],
      [{ v: 1, typ: 'archive-policy', org: statement.org, name: statement.name }, /exactly/],
    ];
    for (const [payload, want] of cases)
      expect(
        refusal(() => openArchivePolicy(signPayload(encodeDeterministic(payload)), raw(org.publicKey))),
      ).toMatch(want);
  });

  it('refuses an oversized or non-deterministic document and a wrong-length key', () => {
    const doc = sealArchivePolicy(statement, signer);
    expect(refusal(() => openArchivePolicy(new Uint8Array(2000), raw(org.publicKey)))).toMatch(
      /^OVERSIZED_INPUT/,
    );
    expect(refusal(() => openArchivePolicy(doc, new Uint8Array(31)))).toMatch(/^SIGNATURE_INVALID/);
    expect(
      refusal(() => openArchivePolicy(Uint8Array.of(0x82, 0x18, 0x01, 0x40), raw(org.publicKey))),
    ).toMatch(/^MALFORMED_INPUT/);
  });

  it('will not sign a statement it would refuse to verify', () => {
    expect(refusal(() => sealArchivePolicy({ ...statement, policy: 'off' as 'none' }, signer))).toMatch(
      /^MALFORMED_INPUT/,
    );
    expect(refusal(() => sealArchivePolicy({ ...statement, name: 'x'.repeat(201) }, signer))).toMatch(
      /"name" must be/,
    );
  });
});
