import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCustosError, type CustosErrorCode } from '../errors.js';
import { combineShares, requireQuorum, splitSecret, type KeyShare } from './index.js';

async function expectCode(p: Promise<unknown>, code: CustosErrorCode): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isCustosError(e, code), String(e)).toBe(true);
    return;
  }
  expect.fail(`expected CustosError ${code}`);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('splitSecret / combineShares', () => {
  it('recovers the secret from any m of n shares, for many (m, n) (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 12 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n }))),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.infiniteStream(fc.nat()),
        async ([n, m], secret, picks) => {
          const shares = await splitSecret(secret, n, m);
          expect(shares.map((s) => s.index)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
          // A random subset of m..n shares, in random order.
          const pool = [...shares];
          const it = picks[Symbol.iterator]();
          const take = m + ((it.next().value as number) % (n - m + 1));
          const chosen: KeyShare[] = [];
          while (chosen.length < take)
            chosen.push(pool.splice((it.next().value as number) % pool.length, 1)[0]!);
          expect(hex(await combineShares(chosen))).toBe(hex(secret));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('works at the edges: 2-of-2, 255-of-255, 32-byte and 1024-byte secrets', async () => {
    const k = randomBytes(32);
    expect(hex(await combineShares(await splitSecret(k, 2, 2)))).toBe(hex(k));
    const big = randomBytes(1024);
    const s = await splitSecret(big, 5, 3);
    expect(hex(await combineShares(s.slice(2)))).toBe(hex(big));
    const many = await splitSecret(k, 255, 255);
    expect(hex(await combineShares(many))).toBe(hex(k));
  });

  it('accepts a Buffer secret (the library itself would refuse one)', async () => {
    const k = Buffer.from(randomBytes(32));
    expect(hex(await combineShares(await splitSecret(k, 3, 2)))).toBe(hex(k));
  });

  it('refuses m − 1 shares with SHARES_INSUFFICIENT', async () => {
    for (const [n, m] of [
      [3, 2],
      [5, 3],
      [7, 7],
    ] as const) {
      const shares = await splitSecret(randomBytes(32), n, m);
      await expectCode(combineShares(shares.slice(0, m - 1)), 'SHARES_INSUFFICIENT');
    }
    await expectCode(combineShares([]), 'SHARES_INSUFFICIENT');
  });

  it('detects m − 1 shares whose threshold was forged lower: the checksum fails', async () => {
    const shares = await splitSecret(randomBytes(32), 5, 3);
    const forged = shares.slice(0, 2).map((s) => ({ ...s, threshold: 2 }));
    await expectCode(combineShares(forged), 'SHARES_INSUFFICIENT');
  });

  it('detects a corrupted share', async () => {
    const shares = await splitSecret(randomBytes(32), 3, 2);
    const bad = Uint8Array.from(shares[0]!.share);
    bad[0]! ^= 1;
    await expectCode(combineShares([{ ...shares[0]!, share: bad }, shares[1]!]), 'SHARES_INSUFFICIENT');
  });

  it('refuses duplicates and shares of different splits', async () => {
    const a = await splitSecret(randomBytes(32), 3, 2);
    const b = await splitSecret(randomBytes(32), 3, 2);
    await expectCode(combineShares([a[0]!, a[0]!]), 'MALFORMED_SHARE');
    await expectCode(combineShares([a[0]!, { ...a[1]!, index: 1 }]), 'MALFORMED_SHARE');
    await expectCode(combineShares([a[0]!, b[1]!]), 'MALFORMED_SHARE');
    // Same split id claimed, but the shares really come from another split: checksum catches it.
    await expectCode(combineShares([a[0]!, { ...b[1]!, splitId: a[0]!.splitId }]), 'SHARES_INSUFFICIENT');
  });

  it('validates arguments: 1 < m ≤ n ≤ 255, non-empty bounded secret', async () => {
    const k = randomBytes(32);
    for (const [n, m] of [
      [3, 1],
      [2, 3],
      [256, 2],
      [3, 2.5],
      [Number.NaN, 2],
    ] as const) {
      await expectCode(splitSecret(k, n, m), 'INVALID_ARGUMENT');
    }
    await expectCode(splitSecret(new Uint8Array(0), 3, 2), 'INVALID_ARGUMENT');
    await expectCode(splitSecret(new Uint8Array(1025), 3, 2), 'INVALID_ARGUMENT');
  });

  it('refuses malformed share objects with MALFORMED_SHARE', async () => {
    const [s0, s1] = await splitSecret(randomBytes(32), 3, 2);
    const bads: unknown[] = [
      null,
      { ...s0, splitId: 'xyz' },
      { ...s0, index: 0 },
      { ...s0, index: 4 },
      { ...s0, threshold: 4 },
      { ...s0, share: new Uint8Array(3) },
      { ...s0, share: 'abc' },
      { ...s0, share: Uint8Array.from([...s0!.share.subarray(0, -1), 0]) },
    ];
    for (const bad of bads) await expectCode(combineShares([bad as KeyShare, s1!]), 'MALFORMED_SHARE');
  });
});

describe('requireQuorum (the refusals the fields decide, no share bytes)', () => {
  const f = (index: number, splitId = 'a'.repeat(32)) => ({ splitId, index, threshold: 2, total: 3 });
  const codeOf = (shares: Parameters<typeof requireQuorum>[0]): string | undefined => {
    try {
      requireQuorum(shares);
      return undefined;
    } catch (e) {
      return isCustosError(e) ? `${e.code}: ${e.message}` : String(e);
    }
  };

  it('passes a quorum and refuses what combineShares refuses, with the same codes and messages', async () => {
    expect(codeOf([f(1), f(3)])).toBeUndefined();
    expect(codeOf([])).toBe('SHARES_INSUFFICIENT: no shares given');
    expect(codeOf([f(2)])).toBe('SHARES_INSUFFICIENT: 1 share(s) given, 2 of 3 needed');
    expect(codeOf([f(1), f(1)])).toBe('MALFORMED_SHARE: duplicate share (index 1)');
    expect(codeOf([f(1), f(2, 'b'.repeat(32))])).toBe('MALFORMED_SHARE: shares come from different splits');
    const shares = await splitSecret(randomBytes(32), 3, 2);
    await expect(combineShares([shares[1]!])).rejects.toThrow('1 share(s) given, 2 of 3 needed');
    await expect(combineShares([shares[0]!, shares[0]!])).rejects.toThrow('duplicate share (index 1)');
  });
});
