/** Public surface of core/tlog: RFC 9162 Merkle log hashing, tree state, proofs and C2SP tlog-tiles. */
export { HASH_SIZE, EMPTY_ROOT, hashLeaf, hashChildren } from './hash.js';
export { MAX_TREE_SIZE, parseCount } from './tree-math.js';
export { rootFromInclusionProof, verifyInclusion, verifyConsistency } from './proof-verification.js';
