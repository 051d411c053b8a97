import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CustosError, type CustosErrorCode } from '../errors.js';
import {
  computeKeyId,
  formatKeyId,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  SIGNATURE_TYPE_ED25519,
} from './key-id.js';
import { Ed25519NoteSigner, formatSignerKey, generateSignerKey, parseSignerKey } from './signer.js';
import { openNote, signNote } from './signed-note.js';
import { ed25519PrivateKeyFromSeed } from './ed25519.js';
import { fixtureUrl, tesseraSignerKey, toHex, type TesseraLog } from './test-vectors.js';
import { formatVerifierKey, parseVerifierKey, verifierKeyFromKeyObject } from './verifier-key.js';

const LOG = JSON.parse(readFileSync(fixtureUrl('tessera-testdata-log.json'), 'utf8')) as TesseraLog &
  Record<string, unknown>;
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const WITNESS_VKEY = 'witness.example.org+b8a2cf20+BFLN3yikSfFkVAJtrnh/CiY3Zozkoy7clp+P7XB28qUN';

function codeOf(f: () => unknown): CustosErrorCode | 'ok' {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof CustosError) return e.code;
    throw e;
  }
}

describe('verifier keys', () => {
  it('parses the Go test key and the published Ed25519 public key', () => {
    const k = parseVerifierKey(PETER_VKEY);
    expect(k.name).toBe('PeterNeumann');
    expect(formatKeyId(k.keyId)).toBe('c74f20a3');
    expect(k.type).toBe(SIGNATURE_TYPE_ED25519);
    expect(toHex(k.publicKey)).toBe('1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6');
    expect(formatVerifierKey(k)).toBe(PETER_VKEY);
  });

  it('splits on the first two + only: base64 with + (Tessera key)', () => {
    expect(LOG.verifierKey).toMatch(/\+.*\+.*\+/);
    const k = parseVerifierKey(LOG.verifierKey);
    expect(k.name).toBe('example.com/log/testdata');
    expect(toHex(k.publicKey)).toBe('e1d3bb843784420c1cda9ce9f01232cab7aca371dbcd0d23ea0ee710859244b1');
    expect(formatVerifierKey(k)).toBe(LOG.verifierKey);
  });

  it('parses a cosignature/v1 (type 0x04) key and recomputes its ID with type 0x04', () => {
    const k = parseVerifierKey(WITNESS_VKEY);
    expect(k.type).toBe(SIGNATURE_TYPE_COSIGNATURE_V1);
    expect(computeKeyId(k.name, 0x04, k.publicKey)).toBe(k.keyId);
    expect(computeKeyId(k.name, 0x01, k.publicKey)).not.toBe(k.keyId);
    expect(formatVerifierKey(k)).toBe(WITNESS_VKEY);
  });

  const bad: [string, string][] = [
    ['empty', ''],
    ['one part', 'PeterNeumann'],
    ['two parts', 'PeterNeumann+c74f20a3'],
    ['wrong key ID', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['uppercase key ID', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['short key ID', 'PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['other name', 'PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['empty name', '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['space in name', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['type 0x02 (ECDSA)', `PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`],
    ['truncated key', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10'],
    ['bad base64', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T!'],
    ['type byte only', 'PeterNeumann+c74f20a3+AQ=='],
    ['too long', `${'a'.repeat(2000)}+c74f20a3+AQ==`],
  ];
  for (const [name, vkey] of bad) {
    it(`rejects ${name}`, () => expect(codeOf(() => parseVerifierKey(vkey))).toBe('MALFORMED_VERIFIER_KEY'));
  }

  it('every single-bit flip of a verifier key string is rejected', () => {
    const bytes = new TextEncoder().encode(LOG.verifierKey);
    for (let i = 0; i < bytes.length * 8; i++) {
      const m = bytes.slice();
      m[i >> 3]! ^= 1 << (i & 7);
      const s = new TextDecoder().decode(m);
      expect(
        codeOf(() => parseVerifierKey(s)),
        s,
      ).toBe('MALFORMED_VERIFIER_KEY');
    }
  });

  it('builds a verifier key from a KeyObject', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const a = verifierKeyFromKeyObject('custos.example/acme', SIGNATURE_TYPE_ED25519, publicKey);
    const b = verifierKeyFromKeyObject('custos.example/acme', SIGNATURE_TYPE_ED25519, privateKey);
    expect(formatVerifierKey(a)).toBe(formatVerifierKey(b));
    expect(parseVerifierKey(formatVerifierKey(a))).toEqual(a);
  });
});

describe('signer keys (Go PRIVATE+KEY format)', () => {
  it('parses the Go and Tessera test keys into signers matching their verifier keys', () => {
    expect(formatVerifierKey(parseSignerKey(PETER_SKEY).verifierKey())).toBe(PETER_VKEY);
    expect(formatVerifierKey(parseSignerKey(tesseraSignerKey(LOG)).verifierKey())).toBe(LOG.verifierKey);
  });

  it('formats a signer key back to the same string', () => {
    const seed = Buffer.from(PETER_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1);
    expect(formatSignerKey('PeterNeumann', ed25519PrivateKeyFromSeed(seed))).toBe(PETER_SKEY);
    const { privateKey } = generateKeyPairSync('ed25519');
    const skey = formatSignerKey('custos.example/acme', privateKey);
    const again = parseSignerKey(skey);
    expect(formatVerifierKey(again.verifierKey())).toBe(
      formatVerifierKey(new Ed25519NoteSigner('custos.example/acme', privateKey).verifierKey()),
    );
  });

  it('generates keys whose signatures verify', () => {
    const { signerKey, verifierKey } = generateSignerKey('custos.example/acme');
    expect(signerKey.startsWith('PRIVATE+KEY+custos.example/acme+')).toBe(true);
    const note = signNote('hi\n', [parseSignerKey(signerKey)]);
    expect(openNote(note, [verifierKey]).verified).toHaveLength(1);
  });

  const bad: [string, string][] = [
    ['not private', PETER_SKEY.replace('PRIVATE', 'PUBLIC')],
    ['wrong key ID', PETER_SKEY.replace('c74f20a3', 'c74f20a4')],
    ['wrong name', PETER_SKEY.replace('PeterNeumann', 'PeterNeuman')],
    ['short seed', 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKA=='],
    ['type 0x04 seed', 'PRIVATE+KEY+PeterNeumann+c74f20a3+BIEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'],
    ['missing parts', 'PRIVATE+KEY+PeterNeumann'],
  ];
  for (const [name, skey] of bad) {
    it(`rejects ${name} without echoing the key`, () => {
      let err: unknown;
      try {
        parseSignerKey(skey);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CustosError);
      expect((err as CustosError).code).toBe('MALFORMED_INPUT');
      expect((err as CustosError).message).not.toContain('AYEKFALV');
    });
  }
});
