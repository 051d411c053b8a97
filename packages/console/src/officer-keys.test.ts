import { generateBucketKeyPair, isCustosError } from '@custos/core';
import { describe, expect, it } from 'vitest';
import {
  decodeOfficerPublicKey,
  encodeOfficerPublicKey,
  generateOfficerKeys,
  openOfficerKeyFile,
  sealOfficerKeyFile,
} from './officer-keys.js';
import { generateOrgSecrets, openPendingSecrets, sealPendingSecrets } from './org-secrets.js';
import { canonicalJson, openWithPassphrase, sealWithPassphrase } from './passphrase-box.js';
import { SigningKey } from './signing-key.js';
import { PASS, TEST_KDF } from './test-kdf.test-data.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isCustosError(e) ? e.code : 'not a CustosError';
  }
}

describe('passphrase box', () => {
  it('round-trips, tells a wrong passphrase from a modified file, and binds the public fields', async () => {
    const text = await sealWithPassphrase('t', { a: 1, b: 'x' }, new Uint8Array([1, 2, 3]), PASS, TEST_KDF);
    const opened = await openWithPassphrase('t', text, PASS, TEST_KDF);
    expect([...opened.plaintext]).toEqual([1, 2, 3]);
    expect(await codeOf(openWithPassphrase('t', text, `${PASS}!`, TEST_KDF))).toBe('WRONG_PASSPHRASE');
    const f = JSON.parse(text) as { fields: { a: number }; ciphertext: string };
    expect(
      await codeOf(
        openWithPassphrase('t', JSON.stringify({ ...f, fields: { ...f.fields, a: 2 } }), PASS, TEST_KDF),
      ),
    ).toBe('DECRYPTION_FAILED');
    const ct = Buffer.from(f.ciphertext, 'base64');
    ct[0]! ^= 1;
    expect(
      await codeOf(
        openWithPassphrase('t', JSON.stringify({ ...f, ciphertext: ct.toString('base64') }), PASS, TEST_KDF),
      ),
    ).toBe('DECRYPTION_FAILED');
  });

  it('refuses weak KDF parameters without the test flag, short passphrases, and junk before deriving', async () => {
    const text = await sealWithPassphrase('t', {}, new Uint8Array([1]), PASS, TEST_KDF);
    expect(await codeOf(openWithPassphrase('t', text, PASS))).toBe('MALFORMED_INPUT');
    expect(await codeOf(sealWithPassphrase('t', {}, new Uint8Array([1]), 'short', TEST_KDF))).toBe(
      'INVALID_ARGUMENT',
    );
    for (const junk of [
      '',
      '[]',
      '{"format":"t","version":2}',
      '{"format":"u","version":1}',
      text.replace('"scrypt"', '"md5"'),
    ]) {
      expect(await codeOf(openWithPassphrase('t', junk, PASS, TEST_KDF)), junk.slice(0, 30)).toMatch(
        /MALFORMED_INPUT|UNSUPPORTED_VERSION/,
      );
    }
    const f = JSON.parse(text) as { kdf: { N: number } };
    expect(
      await codeOf(
        openWithPassphrase('t', JSON.stringify({ ...f, kdf: { ...f.kdf, N: 2 ** 30 } }), PASS, TEST_KDF),
      ),
    ).toBe('MALFORMED_INPUT');
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}',
    );
  });
});

describe('officer keys', () => {
  it('seal and open with the passphrase, keeping every key pair', async () => {
    const km = SigningKey.generate();
    const keys = await generateOfficerKeys(1, km);
    const text = await sealOfficerKeyFile(keys, 'c1', PASS, TEST_KDF);
    const opened = await openOfficerKeyFile(text, PASS, TEST_KDF);
    expect(opened.index).toBe(1);
    expect(opened.ceremonyId).toBe('c1');
    expect(opened.hpkePublicKey.toBytes()).toEqual(keys.hpkePublicKey.toBytes());
    expect(await opened.hpkePrivateKey.exportBytes()).toEqual(await keys.hpkePrivateKey.exportBytes());
    expect(opened.signingKey.publicKey).toEqual(keys.signingKey.publicKey);
    expect(opened.keyManager.publicKey).toEqual(km.publicKey);
    expect(await codeOf(openOfficerKeyFile(text, 'wrong passphrase!!', TEST_KDF))).toBe('WRONG_PASSPHRASE');
  });

  it('refuse a file whose named public key is swapped for another (the aad covers it)', async () => {
    const keys = await generateOfficerKeys(0, SigningKey.generate());
    const text = await sealOfficerKeyFile(keys, 'c1', PASS, TEST_KDF);
    const other = Buffer.from((await generateBucketKeyPair()).publicKey.toBytes()).toString('base64');
    const f = JSON.parse(text) as { fields: Record<string, unknown> };
    const swapped = JSON.stringify({ ...f, fields: { ...f.fields, hpkePublicKey: other } });
    expect(await codeOf(openOfficerKeyFile(swapped, PASS, TEST_KDF))).toBe('DECRYPTION_FAILED');
  });

  it('encode the public key document the server stores, and refuse malformed ones', async () => {
    const keys = await generateOfficerKeys(0, SigningKey.generate());
    const pub = decodeOfficerPublicKey(encodeOfficerPublicKey(keys));
    expect(pub.hpke).toEqual(keys.hpkePublicKey.toBytes());
    expect(pub.signing).toEqual(keys.signingKey.publicKey);
    expect(() => decodeOfficerPublicKey(new Uint8Array(32))).toThrow(/officer public key/);
  });
});

describe('pending ceremony secrets', () => {
  it('open with any officer key and give back the same secrets; not with a stranger or another ceremony', async () => {
    const secrets = await generateOrgSecrets();
    const officers = [
      await generateOfficerKeys(0, secrets.keyManager),
      await generateOfficerKeys(1, secrets.keyManager),
    ];
    const text = await sealPendingSecrets(secrets, 'cer-1', officers);
    for (const o of officers) {
      const back = await openPendingSecrets(text, 'cer-1', o);
      expect(back.signingKey.publicKey).toEqual(secrets.signingKey.publicKey);
      expect(back.rootArchivePublicKey.toBytes()).toEqual(secrets.rootArchivePublicKey.toBytes());
      expect(back.indexSecret).toEqual(secrets.indexSecret);
      expect(back.keyManager.publicKey).toEqual(secrets.keyManager.publicKey);
    }
    const stranger = { ...(await generateOfficerKeys(0, secrets.keyManager)) };
    expect(await codeOf(openPendingSecrets(text, 'cer-1', stranger))).toBe('DECRYPTION_FAILED');
    expect(await codeOf(openPendingSecrets(text, 'cer-2', officers[0]!))).toBe('MALFORMED_INPUT');
    expect(text).not.toContain(Buffer.from(secrets.indexSecret).toString('base64'));
  });
});
