import {
  generateBucketKeyPair,
  isCustosError,
  sealShareFile,
  splitSecret,
  type ShareSecretKind,
} from '@custos/core';
import { describe, expect, it } from 'vitest';
import { unwrapBucketKey, wrapBucketKey } from './bucket-key-wrap.js';
import { generateOrgSecrets, type OrgSecrets } from './org-secrets.js';
import { keyFingerprint } from './signing-key.js';
import { PASS, TEST_KDF } from './test-kdf.test-data.js';
import { unlockRoot, unwrapWithRoot } from './unlock-root.js';

const PASSES = [`${PASS} one`, `${PASS} two`, `${PASS} three`];

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isCustosError(e) ? e.code : 'not a CustosError';
  }
}

/** Share files [officer][kind] of a 2-of-3 split, as text. */
async function shareFiles(
  orgId: string,
  s: OrgSecrets,
  fingerprints: Partial<Record<ShareSecretKind, string>> = {},
): Promise<Record<ShareSecretKind, { text: string }>[]> {
  const secrets: [ShareSecretKind, Uint8Array, string | null][] = [
    [
      'org-signing-key',
      s.signingKey.exportSeed(),
      fingerprints['org-signing-key'] ?? keyFingerprint(s.signingKey.publicKey),
    ],
    [
      'org-root-archive-key',
      await s.rootArchivePrivateKey.exportBytes(),
      fingerprints['org-root-archive-key'] ?? keyFingerprint(s.rootArchivePublicKey.toBytes()),
    ],
    ['org-index-secret', s.indexSecret, null],
  ];
  const out = PASSES.map(() => ({}) as Record<ShareSecretKind, { text: string }>);
  for (const [kind, secret, publicKeyFingerprint] of secrets) {
    const shares = await splitSecret(secret, 3, 2);
    for (const [i, share] of shares.entries()) {
      out[i]![kind] = {
        text: await sealShareFile(
          share,
          { orgId, secretKind: kind, publicKeyFingerprint },
          PASSES[i]!,
          TEST_KDF,
        ),
      };
    }
  }
  return out;
}

describe('unlockRoot', async () => {
  const secrets = await generateOrgSecrets();
  const files = await shareFiles('org-1', secrets);

  it('recovers every org secret from any 2 of 3 officers', async () => {
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const given = [a, b].flatMap((i) => Object.values(files[i]!));
      const passes = [a, b].flatMap((i) => [PASSES[i]!, PASSES[i]!, PASSES[i]!]);
      const root = await unlockRoot(given, passes, TEST_KDF);
      expect(root.orgId).toBe('org-1');
      expect(root.signingKey!.publicKey).toEqual(secrets.signingKey.publicKey);
      expect(root.rootArchivePublicKey!.toBytes()).toEqual(secrets.rootArchivePublicKey.toBytes());
      expect(await root.rootArchiveKey!.exportBytes()).toEqual(
        await secrets.rootArchivePrivateKey.exportBytes(),
      );
      expect(root.indexSecret).toEqual(secrets.indexSecret);
      root.destroy();
      expect(root.indexSecret!.every((b) => b === 0)).toBe(true);
    }
  });

  it('refuses one share (SHARES_INSUFFICIENT), a wrong passphrase, and shares of two orgs', async () => {
    expect(await codeOf(unlockRoot([files[0]!['org-root-archive-key']], [PASSES[0]!], TEST_KDF))).toBe(
      'SHARES_INSUFFICIENT',
    );
    expect(
      await codeOf(
        unlockRoot(
          [files[0]!['org-signing-key'], files[1]!['org-signing-key']],
          [PASSES[0]!, PASSES[0]!],
          TEST_KDF,
        ),
      ),
    ).toBe('WRONG_PASSPHRASE');
    const otherOrg = await shareFiles('org-2', await generateOrgSecrets());
    expect(
      await codeOf(
        unlockRoot(
          [files[0]!['org-signing-key'], otherOrg[1]!['org-signing-key']],
          [PASSES[0]!, PASSES[1]!],
          TEST_KDF,
        ),
      ),
    ).toBe('MALFORMED_SHARE');
    expect(await codeOf(unlockRoot([], [], TEST_KDF))).toBe('SHARES_INSUFFICIENT');
  });

  it('refuses what the cleartext fields decide before deriving any key', async () => {
    // Too few shares, with a passphrase that would fail: the count decides, no KDF needed.
    const one = unlockRoot([files[0]!['org-signing-key']], ['not the passphrase at all'], TEST_KDF);
    await expect(one).rejects.toMatchObject({
      code: 'SHARES_INSUFFICIENT',
      message: '1 share(s) given, 2 of 3 needed',
    });
    const otherOrg = await shareFiles('org-2', await generateOrgSecrets());
    const mixed = unlockRoot(
      [files[0]!['org-signing-key'], otherOrg[1]!['org-signing-key']],
      ['not the passphrase at all', 'not the passphrase at all'],
      TEST_KDF,
    );
    await expect(mixed).rejects.toMatchObject({
      code: 'MALFORMED_SHARE',
      message: /different organisations/,
    });
    // The same share twice is not two shares: left to combineShares after opening.
    const twice = [files[0]!['org-signing-key'], files[0]!['org-signing-key']];
    expect(await codeOf(unlockRoot(twice, [PASSES[0]!, PASSES[0]!], TEST_KDF))).toBe('MALFORMED_SHARE');
  });

  it("opens one kind after another: a wrong passphrase is met at that officer's first file", async () => {
    const given = [0, 1].flatMap((i) => Object.values(files[i]!));
    const passes = [
      PASSES[0]!,
      PASSES[0]!,
      PASSES[0]!,
      'a wrong passphrase',
      'a wrong passphrase',
      'a wrong passphrase',
    ];
    await expect(unlockRoot(given, passes, TEST_KDF)).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
      message: /^share file 4: /,
    });
    const tampered = JSON.parse(files[1]!['org-index-secret'].text) as { ciphertext: string };
    const ct = Buffer.from(tampered.ciphertext, 'base64');
    ct[0]! ^= 1;
    const modified = { text: JSON.stringify({ ...tampered, ciphertext: ct.toString('base64') }) };
    const withModified = [...given.slice(0, 5), modified];
    const right = [PASSES[0]!, PASSES[0]!, PASSES[0]!, PASSES[1]!, PASSES[1]!, PASSES[1]!];
    await expect(unlockRoot(withModified, right, TEST_KDF)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
      message: /^share file 6: /,
    });
  });

  it('refuses a recovered key that does not match the fingerprint its files name', async () => {
    const lying = await shareFiles('org-1', secrets, {
      'org-root-archive-key': keyFingerprint(new Uint8Array(32)),
    });
    const given = [lying[0]!['org-root-archive-key'], lying[2]!['org-root-archive-key']];
    expect(await codeOf(unlockRoot(given, [PASSES[0]!, PASSES[2]!], TEST_KDF))).toBe('HASH_MISMATCH');
  });

  it('opens root wraps with the recovered root key, and nothing else', async () => {
    const bucket = await generateBucketKeyPair();
    const ik = new Uint8Array(32).fill(9);
    const rootWrap = await wrapBucketKey(
      { org: 'org-1', bucket: 'b-1', to: 'root' },
      bucket.privateKey,
      ik,
      secrets.rootArchivePublicKey,
    );
    const root = await unlockRoot(
      [files[1]!['org-root-archive-key'], files[2]!['org-root-archive-key']],
      [PASSES[1]!, PASSES[2]!],
      TEST_KDF,
    );
    const w = await unwrapWithRoot(root, rootWrap);
    expect(await w.privateKey.exportBytes()).toEqual(await bucket.privateKey.exportBytes());
    const officer = await generateBucketKeyPair();
    const officerWrap = await wrapBucketKey(
      { org: 'org-1', bucket: 'b-1', to: 'officer-0' },
      bucket.privateKey,
      ik,
      officer.publicKey,
    );
    expect(await codeOf(unwrapWithRoot(root, officerWrap))).toBe('DECRYPTION_FAILED');
    expect((await unwrapBucketKey(officerWrap, officer.privateKey)).to).toBe('officer-0');
    const signingOnly = await unlockRoot(
      [files[1]!['org-signing-key'], files[2]!['org-signing-key']],
      [PASSES[1]!, PASSES[2]!],
      TEST_KDF,
    );
    expect(await codeOf(unwrapWithRoot(signingOnly, rootWrap))).toBe('SHARES_INSUFFICIENT');
  });
});
