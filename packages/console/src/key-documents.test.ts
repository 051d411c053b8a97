import { decodeStrictCbor, encodeDeterministicCbor, isCustosError } from '@custos/core';
import { describe, expect, it } from 'vitest';
import {
  openBucketKeyDocument,
  openDelegation,
  sealBucketKeyDocument,
  sealDelegation,
  verifyBucketChain,
  type BucketKeyDocument,
} from './key-documents.js';
import { SigningKey, verifyEd25519 } from './signing-key.js';

const root = SigningKey.generate();
const km = SigningKey.generate();
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

describe('signing keys', () => {
  it('round-trips a seed and signs RFC 8032 test vector 1', () => {
    // RFC 8032 §7.1 TEST 1: empty message.
    const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const key = SigningKey.fromSeed(seed);
    expect(Buffer.from(key.publicKey).toString('hex')).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    const sig = key.sign(new Uint8Array(0));
    expect(Buffer.from(sig).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(Buffer.from(key.exportSeed()).equals(seed)).toBe(true);
    expect(verifyEd25519(key.publicKey, new Uint8Array(0), sig)).toBe(true);
    expect(String(key)).toBe('[SigningKey]');
    expect(JSON.stringify({ key })).not.toContain(seed.toString('hex'));
  });
});

describe('key-manager delegation', () => {
  it('opens with the org signing key and names the delegated key and window', () => {
    const d = openDelegation(sealDelegation({ key: km.publicKey, ...window }, root), root.publicKey);
    expect(Buffer.from(d.key).equals(Buffer.from(km.publicKey))).toBe(true);
    expect(d.notBefore).toBe(window.notBefore);
    expect(d.notAfter).toBe(window.notAfter);
  });

  it('is refused under another key, with any payload byte changed, or with an empty window', () => {
    const bytes = sealDelegation({ key: km.publicKey, ...window }, root);
    expect(code(() => openDelegation(bytes, km.publicKey))).toBe('SIGNATURE_INVALID');
    const [payload, sig] = decodeStrictCbor(bytes, 'd', 'MALFORMED_INPUT') as [Uint8Array, Uint8Array];
    for (let i = 0; i < payload.length; i++) {
      const p = Uint8Array.from(payload);
      p[i]! ^= 1;
      expect(code(() => openDelegation(encodeDeterministicCbor([p, sig]), root.publicKey))).toMatch(
        /SIGNATURE_INVALID|MALFORMED_INPUT/,
      );
    }
    expect(code(() => sealDelegation({ key: km.publicKey, notBefore: 5, notAfter: 5 }, root))).toBe(
      'MALFORMED_INPUT',
    );
    expect(code(() => openDelegation(new Uint8Array([1, 2, 3]), root.publicKey))).toBe('MALFORMED_INPUT');
  });

  it('signs the domain-separated payload (a bucket signature is not a delegation signature)', () => {
    const bytes = sealBucketKeyDocument(doc, root);
    expect(code(() => openDelegation(bytes, root.publicKey))).toBe('SIGNATURE_INVALID');
  });
});

describe('bucket-key documents', () => {
  it('open with the key manager and verify along the chain', () => {
    const delegation = sealDelegation({ key: km.publicKey, ...window }, root);
    const bytes = sealBucketKeyDocument(doc, km);
    expect(openBucketKeyDocument(bytes, km.publicKey)).toEqual(doc);
    expect(verifyBucketChain(bytes, delegation, root.publicKey)).toEqual(doc);
  });

  it('refuse a substituted key manager, a foreign root and a window beyond the delegation', () => {
    const delegation = sealDelegation({ key: km.publicKey, ...window }, root);
    const rogue = SigningKey.generate();
    expect(code(() => verifyBucketChain(sealBucketKeyDocument(doc, rogue), delegation, root.publicKey))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(code(() => verifyBucketChain(sealBucketKeyDocument(doc, km), delegation, rogue.publicKey))).toBe(
      'SIGNATURE_INVALID',
    );
    const late = sealBucketKeyDocument({ ...doc, notAfter: window.notAfter + 1 }, km);
    expect(code(() => verifyBucketChain(late, delegation, root.publicKey))).toBe('SIGNATURE_INVALID');
  });

  it('refuse unknown classes and malformed periods even when signed', () => {
    const badClass = sealBucketKeyDocument({ ...doc, retentionClass: 'forever' as 'standard' }, km);
    expect(code(() => openBucketKeyDocument(badClass, km.publicKey))).toBe('MALFORMED_INPUT');
    const badPeriod = sealBucketKeyDocument({ ...doc, period: '2026/03' }, km);
    expect(code(() => openBucketKeyDocument(badPeriod, km.publicKey))).toBe('MALFORMED_INPUT');
  });
});
