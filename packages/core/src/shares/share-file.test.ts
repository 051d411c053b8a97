import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCustosError, type CustosErrorCode } from '../errors.js';
import {
  combineShares,
  openShareFile,
  openShareFileSync,
  parseShareFile,
  sealShareFile,
  sealShareFileSync,
  splitSecret,
  type KeyShare,
  type ShareFileMetadata,
} from './index.js';

const WEAK = { allowWeakKdfForTests: true, kdf: { N: 2 ** 10, r: 8, p: 1 } } as const;
const TEST_POLICY = { allowWeakKdfForTests: true } as const;
const PASS = 'correct horse battery staple';
const META: ShareFileMetadata = {
  orgId: 'org-acme',
  secretKind: 'org-root-archive-key',
  publicKeyFingerprint: 'sha256:3q2+7w==',
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function codeOf(f: () => unknown): CustosErrorCode | 'none' | 'not-custos' {
  try {
    f();
    return 'none';
  } catch (e) {
    return isCustosError(e) ? e.code : 'not-custos';
  }
}

const secret = randomBytes(32);
const shares: KeyShare[] = await splitSecret(secret, 3, 2);
const file = sealShareFileSync(shares[1]!, META, PASS, WEAK);

describe('share files', () => {
  it('round-trip: seal, open, combine', async () => {
    const files = shares.map((s) => sealShareFileSync(s, META, PASS, WEAK));
    const opened = files.map((f) => openShareFileSync(f, PASS, TEST_POLICY));
    expect(opened[0]!.orgId).toBe('org-acme');
    expect(opened[0]!.secretKind).toBe('org-root-archive-key');
    expect(opened[0]!.publicKeyFingerprint).toBe('sha256:3q2+7w==');
    expect(opened.map((o) => o.share.index)).toEqual([1, 2, 3]);
    expect(hex(await combineShares([opened[2]!.share, opened[0]!.share]))).toBe(hex(secret));
  });

  it('is readable JSON saying what it holds, without the share in the clear', () => {
    const json = JSON.parse(file) as Record<string, unknown>;
    expect(json).toMatchObject({
      format: 'custos-key-share',
      version: 1,
      orgId: 'org-acme',
      secretKind: 'org-root-archive-key',
      shareIndex: 2,
      threshold: 2,
      total: 3,
      kdf: { name: 'scrypt', N: 1024, r: 8, p: 1 },
      aead: { name: 'AES-256-GCM' },
    });
    expect(file).not.toContain(Buffer.from(shares[1]!.share).toString('base64'));
  });

  it('round-trips with the production parameters (N = 2^17), async', async () => {
    const f = await sealShareFile(shares[0]!, { ...META, publicKeyFingerprint: null }, PASS);
    expect(parseShareFile(f).kdf.N).toBe(2 ** 17);
    const opened = await openShareFile(f, PASS);
    expect(hex(opened.share.share)).toBe(hex(shares[0]!.share));
  }, 60_000);

  it('normalises the passphrase (NFKC), so composed and decomposed forms both open', () => {
    const f = sealShareFileSync(shares[0]!, META, 'pässphrase-long-enough', WEAK);
    expect(codeOf(() => openShareFileSync(f, 'pa\u0308ssphrase-long-enough', TEST_POLICY))).toBe('none');
  });

  it('refuses a wrong passphrase with WRONG_PASSPHRASE (sync and async)', async () => {
    expect(codeOf(() => openShareFileSync(file, PASS + '!', TEST_POLICY))).toBe('WRONG_PASSPHRASE');
    await expect(openShareFile(file, 'nope', TEST_POLICY)).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
    });
  });

  it('refuses short passphrases and bad metadata when sealing', () => {
    expect(codeOf(() => sealShareFileSync(shares[0]!, META, 'short', WEAK))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => sealShareFileSync(shares[0]!, { ...META, orgId: '' }, PASS, WEAK))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      codeOf(() =>
        sealShareFileSync(shares[0]!, { ...META, secretKind: 'x' as 'org-signing-key' }, PASS, WEAK),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => sealShareFileSync(shares[0]!, META, PASS, { kdf: { N: 2 ** 10, r: 8, p: 1 } }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('formatting is not authenticated, values are: reordered, re-indented JSON still opens', () => {
    const obj = JSON.parse(file) as Record<string, unknown>;
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(obj).reverse()));
    expect(hex(openShareFileSync(reordered, PASS, TEST_POLICY).share.share)).toBe(hex(shares[1]!.share));
  });

  describe('every tampered field fails', () => {
    const base = JSON.parse(file) as Record<string, Record<string, unknown>>;
    const flipB64 = (s: unknown, at = 0): string => {
      const b = Buffer.from(s as string, 'base64');
      b[at]! ^= 0x01;
      return b.toString('base64');
    };
    const cases: readonly [string, (f: Record<string, Record<string, unknown>>) => void, CustosErrorCode][] =
      [
        [
          'format',
          (f) => void ((f as Record<string, unknown>).format = 'custos-key-shard'),
          'MALFORMED_SHARE',
        ],
        ['version', (f) => void ((f as Record<string, unknown>).version = 2), 'UNSUPPORTED_VERSION'],
        ['orgId', (f) => void ((f as Record<string, unknown>).orgId = 'org-evil'), 'DECRYPTION_FAILED'],
        [
          'secretKind',
          (f) => void ((f as Record<string, unknown>).secretKind = 'org-signing-key'),
          'DECRYPTION_FAILED',
        ],
        [
          'splitId',
          (f) => void ((f as Record<string, unknown>).splitId = '0'.repeat(32)),
          'DECRYPTION_FAILED',
        ],
        ['shareIndex', (f) => void ((f as Record<string, unknown>).shareIndex = 3), 'DECRYPTION_FAILED'],
        ['threshold', (f) => void ((f as Record<string, unknown>).threshold = 3), 'DECRYPTION_FAILED'],
        ['total', (f) => void ((f as Record<string, unknown>).total = 4), 'DECRYPTION_FAILED'],
        [
          'publicKeyFingerprint',
          (f) => void ((f as Record<string, unknown>).publicKeyFingerprint = 'x'),
          'DECRYPTION_FAILED',
        ],
        [
          'publicKeyFingerprint → null',
          (f) => void ((f as Record<string, unknown>).publicKeyFingerprint = null),
          'DECRYPTION_FAILED',
        ],
        ['kdf.N', (f) => void (f.kdf!.N = 2 ** 11), 'WRONG_PASSPHRASE'],
        ['kdf.r', (f) => void (f.kdf!.r = 9), 'WRONG_PASSPHRASE'],
        ['kdf.p', (f) => void (f.kdf!.p = 2), 'WRONG_PASSPHRASE'],
        ['kdf.salt', (f) => void (f.kdf!.salt = flipB64(f.kdf!.salt)), 'WRONG_PASSPHRASE'],
        [
          'kdf.passphraseCheck',
          (f) => void (f.kdf!.passphraseCheck = flipB64(f.kdf!.passphraseCheck)),
          'WRONG_PASSPHRASE',
        ],
        ['aead.nonce', (f) => void (f.aead!.nonce = flipB64(f.aead!.nonce)), 'DECRYPTION_FAILED'],
      ];
    for (const [name, mutate, code] of cases) {
      it(name, () => {
        const f = structuredClone(base);
        mutate(f);
        expect(codeOf(() => openShareFileSync(JSON.stringify(f), PASS, TEST_POLICY))).toBe(code);
      });
    }

    it('every byte of the ciphertext and tag', () => {
      const ct = Buffer.from(base.ciphertext as unknown as string, 'base64');
      for (let i = 0; i < ct.length; i++) {
        const f = structuredClone(base) as Record<string, unknown>;
        f.ciphertext = flipB64(base.ciphertext, i);
        expect(
          codeOf(() => openShareFileSync(JSON.stringify(f), PASS, TEST_POLICY)),
          `byte ${i}`,
        ).toBe('DECRYPTION_FAILED');
      }
    });
  });

  describe('strict parsing, before any key derivation', () => {
    const base = JSON.parse(file) as Record<string, Record<string, unknown>>;
    const withKdf = (kdf: Record<string, unknown>): string =>
      JSON.stringify({ ...base, kdf: { ...base.kdf, ...kdf } });

    it('refuses production-weak N unless the test-only flag is given', () => {
      expect(codeOf(() => parseShareFile(file))).toBe('MALFORMED_SHARE');
      expect(codeOf(() => openShareFileSync(file, PASS))).toBe('MALFORMED_SHARE');
      expect(codeOf(() => parseShareFile(file, TEST_POLICY))).toBe('none');
    });

    it('refuses KDF parameters outside the safe range, instantly', () => {
      const hostile = [
        { N: 2 ** 36 },
        { N: 2 ** 21 },
        { N: 2 ** 17 + 1 },
        { N: 2 ** 20, r: 16 },
        { r: 1 },
        { r: 4096 },
        { p: 0 },
        { p: 64 },
        { N: '1024' },
        { N: 1024.5 },
        { name: 'argon2id' },
      ];
      for (const kdf of hostile) {
        const start = Date.now();
        expect(
          codeOf(() => openShareFileSync(withKdf(kdf), PASS, TEST_POLICY)),
          JSON.stringify(kdf),
        ).toBe('MALFORMED_SHARE');
        expect(Date.now() - start).toBeLessThan(1000);
      }
    });

    it('refuses unknown, missing and mistyped fields, bad base64, bad sizes', () => {
      const variants: unknown[] = [
        { ...base, extra: 1 },
        { ...base, kdf: { ...base.kdf, extra: 1 } },
        { ...base, aead: { ...base.aead, name: 'AES-128-GCM' } },
        Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'splitId')),
        { ...base, shareIndex: '2' },
        { ...base, shareIndex: 0 },
        { ...base, threshold: 1 },
        { ...base, total: 256 },
        { ...base, threshold: 4 },
        { ...base, orgId: '../etc' },
        { ...base, publicKeyFingerprint: 'a b' },
        { ...base, ciphertext: 'not base64!' },
        { ...base, ciphertext: 'AAAA' },
        { ...base, aead: { ...base.aead, nonce: Buffer.alloc(16).toString('base64') } },
        { ...base, kdf: { ...base.kdf, salt: Buffer.alloc(8).toString('base64') } },
        { ...base, kdf: { ...base.kdf, salt: 'QUJD' + 'RA==' } },
        [],
        null,
        'string',
      ];
      for (const v of variants) {
        expect(
          codeOf(() => parseShareFile(JSON.stringify(v), TEST_POLICY)),
          JSON.stringify(v).slice(0, 80),
        ).toMatch(/^(MALFORMED_SHARE|UNSUPPORTED_VERSION)$/);
      }
      expect(codeOf(() => parseShareFile('{', TEST_POLICY))).toBe('MALFORMED_SHARE');
      expect(codeOf(() => parseShareFile(new Uint8Array([0xff, 0xfe]), TEST_POLICY))).toBe('MALFORMED_SHARE');
      expect(codeOf(() => parseShareFile(' '.repeat(20_000) + file, TEST_POLICY))).toBe('MALFORMED_SHARE');
    });

    it('refuses non-canonical base64 (padding bits set)', () => {
      const salt = base.kdf!.salt as string; // 32 bytes → ends in "="
      const last = salt[salt.length - 2]!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const bumped = alphabet[(alphabet.indexOf(last) & ~3) + 1]!;
      expect(
        codeOf(() => parseShareFile(withKdf({ salt: salt.slice(0, -2) + bumped + '=' }), TEST_POLICY)),
      ).toBe('MALFORMED_SHARE');
    });

    it('accepts bytes as well as text', () => {
      expect(codeOf(() => parseShareFile(new TextEncoder().encode(file), TEST_POLICY))).toBe('none');
    });
  });
});
