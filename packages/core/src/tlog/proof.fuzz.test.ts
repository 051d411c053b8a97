import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fuzzParser } from '../testing/fuzz.js';
import { HASH_SIZE } from './hash.js';
import { verifyConsistency, verifyInclusion } from './proof-verification.js';

// Inclusion and consistency proofs arrive from the server as numbers and hash lists; the
// verifiers are their parsers. Each fuzz input packs one proof as bytes so that the
// byte-level mutations reach every field: two float64 numbers (bit flips yield NaN,
// infinities, fractions, negatives and huge sizes), two 32-byte hashes, then the proof
// hashes in 32-byte chunks (a short last chunk is kept: a hash of the wrong length).

interface Fixture {
  readonly inclusionProofs: readonly {
    leafIndex: number;
    treeSize: number;
    leafHash: string;
    root: string;
    proof: readonly string[];
  }[];
  readonly consistencyProofs: readonly {
    size1: number;
    size2: number;
    root1: string;
    root2: string;
    proof: readonly string[];
  }[];
}
const FIXTURE = JSON.parse(
  readFileSync(new URL('./fixtures/rfc6962-8leaf-tree.json', import.meta.url), 'utf8'),
) as Fixture;

const HEAD = 16 + 2 * HASH_SIZE;

function pack(a: number, b: number, h1: string, h2: string, proof: readonly string[]): Uint8Array {
  const out = Buffer.alloc(HEAD + proof.length * HASH_SIZE);
  out.writeDoubleBE(a, 0);
  out.writeDoubleBE(b, 8);
  Buffer.from(h1, 'hex').copy(out, 16);
  Buffer.from(h2, 'hex').copy(out, 16 + HASH_SIZE);
  proof.forEach((p, i) => Buffer.from(p, 'hex').copy(out, HEAD + i * HASH_SIZE));
  return out;
}

/** Splits an input back into its fields; inputs shorter than the head are padded with zeros. */
function unpack(input: Uint8Array): {
  a: number;
  b: number;
  h1: Uint8Array;
  h2: Uint8Array;
  proof: Uint8Array[];
} {
  const buf = Buffer.alloc(Math.max(HEAD, input.length));
  buf.set(input);
  const proof: Uint8Array[] = [];
  for (let at = HEAD; at < input.length; at += HASH_SIZE)
    proof.push(buf.subarray(at, Math.min(at + HASH_SIZE, input.length)));
  return {
    a: buf.readDoubleBE(0),
    b: buf.readDoubleBE(8),
    h1: buf.subarray(16, 16 + HASH_SIZE),
    h2: buf.subarray(16 + HASH_SIZE, HEAD),
    proof,
  };
}

describe('proof verifiers under fuzzing', () => {
  it('verifyInclusion returns or throws CustosError for any index, size, hashes and proof', () => {
    const seeds = FIXTURE.inclusionProofs.map((p) =>
      pack(p.leafIndex, p.treeSize, p.leafHash, p.root, p.proof),
    );
    const report = fuzzParser(
      (input) => {
        const { a, b, h1, h2, proof } = unpack(input);
        verifyInclusion(h1, a, b, proof, h2);
      },
      seeds,
      { maxLength: 600, seed: 21 },
    );
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });

  it('verifyConsistency returns or throws CustosError for any sizes, roots and proof', () => {
    const seeds = FIXTURE.consistencyProofs.map((p) => pack(p.size1, p.size2, p.root1, p.root2, p.proof));
    const report = fuzzParser(
      (input) => {
        const { a, b, h1, h2, proof } = unpack(input);
        verifyConsistency(a, b, proof, h1, h2);
      },
      seeds,
      { maxLength: 600, seed: 22 },
    );
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(seeds.length);
  });
});
