import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { EMPTY_ROOT, hashLeaf } from './hash.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './proof-verification.js';
import { readFileSync } from 'node:fs';

const loadFixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface InclusionVector {
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  root: string;
  proof: string[];
  wantErr?: boolean;
  desc?: string;
  file?: string;
}
interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
  wantErr?: boolean;
  desc?: string;
  file?: string;
}
interface Rfc6962 {
  leaves: string[];
  leafHashes: string[];
  rootsBySize: { treeSize: number; root: string }[];
  inclusionProofs: InclusionVector[];
  consistencyProofs: ConsistencyVector[];
}
interface Probes {
  inclusion: InclusionVector[];
  consistency: ConsistencyVector[];
}

const rfc = loadFixture<Rfc6962>('rfc6962-8leaf-tree.json');
const probes = loadFixture<Probes>('transparency-dev-merkle-probes.json');

function incl(v: InclusionVector): void {
  verifyInclusion(hex(v.leafHash), v.leafIndex, v.treeSize, v.proof.map(hex), hex(v.root));
}
function cons(v: ConsistencyVector): void {
  verifyConsistency(v.size1, v.size2, v.proof.map(hex), hex(v.root1), hex(v.root2));
}

describe('RFC 6962 8-leaf vectors', () => {
  it('hashes every leaf', () => {
    expect(rfc.leaves.map((l) => toHex(hashLeaf(hex(l))))).toEqual(rfc.leafHashes);
    expect(toHex(EMPTY_ROOT)).toBe(rfc.rootsBySize[0]!.root);
  });
  it.each(rfc.inclusionProofs)('inclusion of $leafIndex in $treeSize', (v) => {
    expect(() => incl(v)).not.toThrow();
    expect(toHex(rootFromInclusionProof(hex(v.leafHash), v.leafIndex, v.treeSize, v.proof.map(hex)))).toBe(
      v.root,
    );
  });
  it.each(rfc.consistencyProofs)('consistency $size1 → $size2', (v) => {
    expect(() => cons(v)).not.toThrow();
  });
  it('rejects the expected-invalid cases', () => {
    const root8 = hex(rfc.rootsBySize[8]!.root);
    expect(() => verifyConsistency(0, 8, [], EMPTY_ROOT, root8)).toThrow(CustosError);
    expect(() => verifyInclusion(hex(rfc.leafHashes[0]!), 8, 8, [], root8)).toThrow(CustosError);
  });
});

describe('transparency-dev/merkle probes (wantErr ⇔ throws)', () => {
  it.each(probes.inclusion)('inclusion $file', (v) => {
    if (v.wantErr) expect(() => incl(v)).toThrow(CustosError);
    else expect(() => incl(v)).not.toThrow();
  });
  it.each(probes.consistency)('consistency $file', (v) => {
    if (v.wantErr) expect(() => cons(v)).toThrow(CustosError);
    else expect(() => cons(v)).not.toThrow();
  });
});

describe('size 0 and equal sizes', () => {
  it('accepts equal sizes with an empty proof and equal roots', () => {
    expect(() => verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).not.toThrow();
    const r = hex(rfc.rootsBySize[5]!.root);
    expect(() => verifyConsistency(5, 5, [], r, r)).not.toThrow();
  });
  it('rejects size 0 with a root other than EMPTY_ROOT', () => {
    const r = hex(rfc.rootsBySize[5]!.root);
    expect(() => verifyConsistency(0, 0, [], r, r)).toThrow(CustosError);
  });
  it('rejects indexes and sizes that are not safe non-negative integers', () => {
    const h = hex(rfc.leafHashes[0]!);
    for (const bad of [-1, 0.5, 2 ** 53, Number.NaN, Infinity]) {
      expect(() => verifyInclusion(h, bad, 1, [], h)).toThrow(/leaf index/);
      expect(() => verifyInclusion(h, 0, bad, [], h)).toThrow(/tree size/);
      expect(() => verifyConsistency(bad, 1, [], h, h)).toThrow(/tree size/);
    }
  });
});
