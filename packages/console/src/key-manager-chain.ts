/**
 * The chain of key-manager delegations (docs/keys.md §5). A rotation installs a delegation
 * naming a new key-manager key; bucket documents signed under an earlier key stay valid for
 * the buckets registered before it. Every link is verified with the pinned org signing key, so
 * the server can add nothing to the chain; it can only fail to serve a link, which makes a
 * bucket fail verification (fail closed).
 *
 * Links are ordered by start; one link per key (renewals of a key keep the widest window); a
 * link is superseded at the start of the next one. The last link is the current delegation.
 */
import {
  CustosError,
  checkBucketWithinDelegation,
  openBucketKeyDocument,
  openKeyManagerDelegation,
  type BucketKeyDocument,
  type KeyManagerDelegation,
} from '@custos/core';

/** One verified delegation in the chain. */
export interface DelegationLink {
  readonly delegation: Uint8Array;
  readonly keyManager: KeyManagerDelegation;
  /** Start of the delegation that superseded this one; null for the current one. */
  readonly supersededAt: number | null;
}

/** A bucket document verified under one link of the chain. */
export interface ChainVerifiedBucket {
  readonly doc: BucketKeyDocument;
  /** True when signed by the current key-manager key. */
  readonly current: boolean;
  /** True when signed by a superseded key for a window starting after its rotation (devices no longer seal to it). */
  readonly retired: boolean;
}

const sameKey = (a: Uint8Array, b: Uint8Array): boolean =>
  Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/**
 * Verifies every delegation with the org signing key and orders them into a chain; throws the
 * first verification failure (callers decide whether that is the server's fault).
 */
export function buildDelegationChain(
  delegations: readonly Uint8Array[],
  orgSigningPublicKey: Uint8Array,
): DelegationLink[] {
  const best: { delegation: Uint8Array; keyManager: KeyManagerDelegation }[] = [];
  for (const delegation of delegations) {
    const keyManager = openKeyManagerDelegation(delegation, orgSigningPublicKey);
    const i = best.findIndex((b) => sameKey(b.keyManager.key, keyManager.key));
    if (i < 0) best.push({ delegation, keyManager });
    else if (keyManager.notAfter > best[i]!.keyManager.notAfter) best[i] = { delegation, keyManager };
  }
  if (best.length === 0) throw new CustosError('MALFORMED_INPUT', 'no key-manager delegation');
  best.sort((a, b) => a.keyManager.notBefore - b.keyManager.notBefore);
  return best.map((b, i) => ({ ...b, supersededAt: best[i + 1]?.keyManager.notBefore ?? null }));
}

/** The current (last) link. */
export function currentLink(chain: readonly DelegationLink[]): DelegationLink {
  return chain[chain.length - 1]!;
}

/**
 * Verifies a bucket document under the first link whose key signed it, with its window inside
 * that delegation's; SIGNATURE_INVALID when no link verifies it.
 */
export function verifyBucketUnderChain(
  document: Uint8Array,
  chain: readonly DelegationLink[],
): ChainVerifiedBucket {
  let last: unknown;
  for (let i = chain.length - 1; i >= 0; i--) {
    const link = chain[i]!;
    let doc: BucketKeyDocument;
    try {
      doc = openBucketKeyDocument(document, link.keyManager.key);
    } catch (e) {
      last = e;
      continue;
    }
    checkBucketWithinDelegation(doc, link.keyManager);
    return {
      doc,
      current: link.supersededAt === null,
      retired: link.supersededAt !== null && doc.notBefore >= link.supersededAt,
    };
  }
  throw last instanceof Error
    ? last
    : new CustosError('SIGNATURE_INVALID', 'bucket-key document: does not verify');
}
