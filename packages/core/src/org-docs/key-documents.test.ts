/**
 * The key-manager delegation and bucket-key documents: round trips, the chain check, tamper
 * and domain separation, and a signer that refuses what the reader would refuse.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../errors.js';
import { ed25519RawPublicKey } from '../note/ed25519.js';
import { decodeStrict, encodeDeterministic } from '../record/deterministic-cbor.js';
import {
  BUCKET_KEY_DOMAIN,
  openBucketKeyDocument,
  openKeyManagerDelegation as openDelegation,
  sealBucketKeyDocument,
  sealKeyManagerDelegation as sealDelegation,
  sealSignedDocument,
  verifyBucketKeyChain as verifyBucketChain,
  type BucketKeyDocument,
} from './index.js';

/** A fresh Ed25519 key: the private KeyObject signs, `publicKey` is the raw 32 bytes. */
function generate(): { key: ReturnType<typeof generateKeyPairSync>['privateKey']; publicKey: Uint8Array } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { key: privateKey, publicKey: ed25519RawPublicKey(privateKey) };
}

const root = generate();
const km = generate();
const window = { notBefore: 1_700_000_000_000, notAfter: 1_800_000_000_000 };
const doc: BucketKeyDocument = {
  org: 'org-1',
  bucket: 'standard-2026-03',
  retentionClass: 'standard',
  period: '2026-03',
  notBefore: 1_750_000_000_000,
  notAfter: 1_760_000_000_000,
  publicKey: new Uint8Array(32).fill(7),
};

function code(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return isCustosError(e) ? e.code : 'not a CustosError';
  }
}

describe('key-manager delegation', () => {
  it('opens with the org signing key and names the delegated key and window', () => {
    const d = openDelegation(sealDelegation({ key: km.publicKey, ...window }, root.key), root.publicKey);
    expect(Buffer.from(d.key).equals(Buffer.from(km.publicKey))).toBe(true);
    expect(d.notBefore).toBe(window.notBefore);
    expect(d.notAfter).toBe(window.notAfter);
  });

  it('is refused under another key, with any payload byte changed, or with an empty window', () => {
    const bytes = sealDelegation({ key: km.publicKey, ...window }, root.key);
    expect(code(() => openDelegation(bytes, km.publicKey))).toBe('SIGNATURE_INVALID');
    const [payload, sig] = decodeStrict(bytes, 'd', 'MALFORMED_INPUT') as [Uint8Array, Uint8Array];
    for (let i = 0; i < payload.length; i++) {
      const p = Uint8Array.from(payload);
      p[i]! ^= 1;
      expect(code(() => openDelegation(encodeDeterministic([p, sig]), root.publicKey))).toMatch(
        /SIGNATURE_INVALID|MALFORMED_INPUT/,
      );
    }
    expect(code(() => sealDelegation({ key: km.publicKey, notBefore: 5, notAfter: 5 }, root.key))).toBe(
      'MALFORMED_INPUT',
    );
    expect(code(() => openDelegation(new Uint8Array([1, 2, 3]), root.publicKey))).toBe('MALFORMED_INPUT');
  });

  it('signs the domain-separated payload (a bucket signature is not a delegation signature)', () => {
    const bytes = sealBucketKeyDocument(doc, root.key);
    expect(code(() => openDelegation(bytes, root.publicKey))).toBe('SIGNATURE_INVALID');
  });
});

describe('bucket-key documents', () => {
  it('open with the key manager and verify along the chain', () => {
    const delegation = sealDelegation({ key: km.publicKey, ...window }, root.key);
    const bytes = sealBucketKeyDocument(doc, km.key);
    expect(openBucketKeyDocument(bytes, km.publicKey)).toEqual(doc);
    expect(verifyBucketChain(bytes, delegation, root.publicKey)).toEqual(doc);
  });

  it('refuse a substituted key manager, a foreign root and a window beyond the delegation', () => {
    const delegation = sealDelegation({ key: km.publicKey, ...window }, root.key);
    const rogue = generate();
    expect(
      code(() => verifyBucketChain(sealBucketKeyDocument(doc, rogue.key), delegation, root.publicKey)),
    ).toBe('SIGNATURE_INVALID');
    expect(
      code(() => verifyBucketChain(sealBucketKeyDocument(doc, km.key), delegation, rogue.publicKey)),
    ).toBe('SIGNATURE_INVALID');
    const late = sealBucketKeyDocument({ ...doc, notAfter: window.notAfter + 1 }, km.key);
    expect(code(() => verifyBucketChain(late, delegation, root.publicKey))).toBe('SIGNATURE_INVALID');
  });

  it('refuse unknown classes and malformed periods even when signed', () => {
    const fields = { v: 1, typ: 'bucket-key', org: doc.org, bkt: doc.bucket, cls: doc.retentionClass };
    const rest = { per: doc.period, nbf: doc.notBefore, naf: doc.notAfter, pk: doc.publicKey };
    const badClass = sealSignedDocument(BUCKET_KEY_DOMAIN, { ...fields, ...rest, cls: 'forever' }, km.key);
    expect(code(() => openBucketKeyDocument(badClass, km.publicKey))).toBe('MALFORMED_INPUT');
    const badPeriod = sealSignedDocument(BUCKET_KEY_DOMAIN, { ...fields, ...rest, per: '2026/03' }, km.key);
    expect(code(() => openBucketKeyDocument(badPeriod, km.publicKey))).toBe('MALFORMED_INPUT');
  });

  it('are never signed with a field the reader would refuse', () => {
    expect(
      code(() => sealBucketKeyDocument({ ...doc, retentionClass: 'forever' as 'standard' }, km.key)),
    ).toBe('MALFORMED_INPUT');
    expect(code(() => sealBucketKeyDocument({ ...doc, period: '2026/03' }, km.key))).toBe('MALFORMED_INPUT');
    expect(code(() => sealBucketKeyDocument({ ...doc, publicKey: new Uint8Array(31) }, km.key))).toBe(
      'MALFORMED_INPUT',
    );
  });
});
