import { describe, expect, it } from 'vitest';
import { defaultFuzzRuns, fuzzParser, utf8 } from '../testing/fuzz.js';
import { openShareFileSync, parseShareFile, sealShareFileSync, splitSecret } from './index.js';

// Weak KDF parameters keep each accepted input cheap; the parser must refuse malformed
// files before deriving anything, so rejected inputs cost no scrypt work at all.
const POLICY = { allowWeakKdfForTests: true } as const;
const PASS = 'fuzzing passphrase, long enough';

const shares = await splitSecret(new Uint8Array(32).fill(7), 5, 3);
const seeds = [
  sealShareFileSync(
    shares[0]!,
    { orgId: 'org-1', secretKind: 'org-root-archive-key', publicKeyFingerprint: null },
    PASS,
    {
      ...POLICY,
      kdf: { N: 16, r: 8, p: 1 },
    },
  ),
  sealShareFileSync(
    shares[4]!,
    { orgId: 'org_2', secretKind: 'org-signing-key', publicKeyFingerprint: 'ed25519:AbC+/=' },
    PASS,
    {
      ...POLICY,
      kdf: { N: 32, r: 9, p: 2 },
    },
  ),
].map(utf8);

describe('share-file parser fuzzing', () => {
  it('parseShareFile returns or throws CustosError, never hangs', () => {
    const report = fuzzParser((input) => parseShareFile(input, POLICY), seeds);
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });

  it('openShareFileSync (parse, derive, decrypt) keeps the same promise', () => {
    const report = fuzzParser((input) => openShareFileSync(input, PASS, POLICY), seeds, {
      runs: Math.max(200, Math.floor(defaultFuzzRuns() / 3)),
      seed: 0x5ea1,
    });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });

  it('without the test flag, every seed is refused before derivation (weak N)', () => {
    const report = fuzzParser((input) => parseShareFile(input), seeds, { runs: 500 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBe(0);
  });
});
