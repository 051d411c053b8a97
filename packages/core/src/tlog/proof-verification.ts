/**
 * Inclusion and consistency proof verification, following RFC 9162 §2.1.3.2 and §2.1.4.2
 * step by step. Every failure throws a {@link CustosError}; nothing returns a sentinel.
 *
 * Size-0 and equal-size decisions (docs/log.md): an inclusion proof in the empty tree is
 * impossible (every index ≥ 0 = size). A consistency proof between equal sizes must be
 * empty and the roots must be equal (for size 0, both must be EMPTY_ROOT). A consistency
 * proof from size 0 to a larger size is rejected as meaningless, as transparency-dev/merkle
 * does; a witness that accepts any tree after the empty one handles that case itself.
 */
import { CustosError } from '../errors.js';
import { EMPTY_ROOT, HASH_SIZE, bytesEqual, hashChildren, hashChildrenAt } from './hash.js';
import { assertCount, isPowerOfTwo } from './tree-math.js';

function assertHash(h: Uint8Array, what: string): void {
  if (h.length !== HASH_SIZE) {
    throw new CustosError('INVALID_PROOF', `${what} must be ${HASH_SIZE} bytes, got ${h.length}`);
  }
}

function assertProofHashes(proof: readonly Uint8Array[]): void {
  for (let i = 0; i < proof.length; i++) assertHash(proof[i]!, `proof hash ${i}`);
}

// Scratch for the running hash while folding a proof; never returned (results are copied).
const acc = new Uint8Array(HASH_SIZE);

/** Folds an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4) into `acc`; throws on bad shapes. */
function foldInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
): void {
  assertCount(treeSize, 'tree size', 'INVALID_TREE_SIZE');
  assertCount(index, 'leaf index', 'INVALID_LEAF_INDEX');
  if (index >= treeSize) {
    throw new CustosError('INVALID_LEAF_INDEX', `leaf index ${index} is not below tree size ${treeSize}`);
  }
  assertHash(leafHash, 'leaf hash');
  assertProofHashes(proof);
  acc.set(leafHash);
  if (treeSize <= SMALL_TREE) {
    foldInclusionSmall(index, treeSize, proof);
    return;
  }
  let fn = index;
  let sn = treeSize - 1;
  for (const p of proof) {
    if (sn === 0) throw new CustosError('INVALID_PROOF', 'inclusion proof is longer than the tree is deep');
    if (fn % 2 === 1 || fn === sn) {
      hashChildrenAt(p, 0, acc, 0, acc, 0);
      // Skip the levels where this node is the right edge without a sibling.
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      hashChildrenAt(acc, 0, p, 0, acc, 0);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new CustosError('INVALID_PROOF', 'inclusion proof is shorter than the tree is deep');
}

/** Trees up to this size take the 32-bit bit-operation path (same algorithm, faster). */
const SMALL_TREE = 0x7fffffff;

/** {@link foldInclusion}'s loop with 32-bit integer operations, for treeSize ≤ 2^31 - 1. */
function foldInclusionSmall(index: number, treeSize: number, proof: readonly Uint8Array[]): void {
  let fn = index | 0;
  let sn = (treeSize - 1) | 0;
  for (let i = 0; i < proof.length; i++) {
    const p = proof[i]!;
    if (sn === 0) throw new CustosError('INVALID_PROOF', 'inclusion proof is longer than the tree is deep');
    if ((fn & 1) === 1 || fn === sn) {
      hashChildrenAt(p, 0, acc, 0, acc, 0);
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>>= 1;
        sn >>>= 1;
      }
    } else {
      hashChildrenAt(acc, 0, p, 0, acc, 0);
    }
    fn >>>= 1;
    sn >>>= 1;
  }
  if (sn !== 0) throw new CustosError('INVALID_PROOF', 'inclusion proof is shorter than the tree is deep');
}

/**
 * Recomputes the root that `proof` implies for `leafHash` at `index` in a tree of
 * `treeSize` leaves (RFC 9162 §2.1.3.2 steps 1–4). Throws when the index is out of range or
 * the proof has the wrong length for that position.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  foldInclusion(leafHash, index, treeSize, proof);
  return acc.slice();
}

/** Verifies that `leafHash` is the leaf at `index` of the tree of `treeSize` leaves with `root`; throws if not. */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  assertHash(root, 'root');
  foldInclusion(leafHash, index, treeSize, proof);
  if (!bytesEqual(acc, root)) {
    throw new CustosError('INVALID_PROOF', 'inclusion proof does not lead to the given root');
  }
}

/**
 * Verifies that the tree of `size2` leaves with `root2` extends the tree of `size1` leaves
 * with `root1` (RFC 9162 §2.1.4.2); throws if not. See the module comment for sizes 0 and equal.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  assertCount(size1, 'first tree size', 'INVALID_TREE_SIZE');
  assertCount(size2, 'second tree size', 'INVALID_TREE_SIZE');
  if (size2 < size1) {
    throw new CustosError('INVALID_TREE_SIZE', `second tree size ${size2} is below first tree size ${size1}`);
  }
  if (size1 === size2) {
    // Equal sizes claim "the same tree": the roots are compared verbatim, whatever their
    // length (transparency-dev/merkle does the same; checkpoint parsers enforce 32 bytes).
    // For size 0 the only possible root is EMPTY_ROOT.
    if (proof.length !== 0) throw new CustosError('INVALID_PROOF', 'equal tree sizes need an empty proof');
    if (!bytesEqual(root1, root2))
      throw new CustosError('INVALID_PROOF', 'equal tree sizes with different roots');
    if (size1 === 0 && !bytesEqual(root1, EMPTY_ROOT)) {
      throw new CustosError('INVALID_PROOF', 'the empty tree has a different root');
    }
    return;
  }
  assertHash(root1, 'first root');
  assertHash(root2, 'second root');
  assertProofHashes(proof);
  if (size1 === 0) {
    throw new CustosError('INVALID_TREE_SIZE', 'a consistency proof from the empty tree proves nothing');
  }
  // Step 1: an empty path never proves growth.
  if (proof.length === 0) throw new CustosError('INVALID_PROOF', 'consistency proof is empty');
  // Step 2: when size1 is a power of two, root1 is itself the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  // Step 3.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 4: climb past the levels where the old tree's last node is a right child.
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 5.
  let fr = path[0]!;
  let sr = path[0]!;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) throw new CustosError('INVALID_PROOF', 'consistency proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn /= 2;
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 7.
  if (sn !== 0) throw new CustosError('INVALID_PROOF', 'consistency proof is too short');
  if (!bytesEqual(fr, root1))
    throw new CustosError('INVALID_PROOF', 'consistency proof does not match the first root');
  if (!bytesEqual(sr, root2))
    throw new CustosError('INVALID_PROOF', 'consistency proof does not match the second root');
}
