/** The console's Ed25519 signing-key handle: RFC 8032 vector, seed round trip, never printed. */
import { describe, expect, it } from 'vitest';
import { SigningKey, verifyEd25519 } from './signing-key.js';

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
