/**
 * Rotating the key-manager key (`custos org unlock --rotate-key-manager`; docs/keys.md §5,
 * docs/officers.md §5). A quorum recovers the org signing key; it signs a delegation naming a
 * fresh key-manager key, valid from now to the end of the UTC month `days` days ahead. The new
 * private key is wrapped to the root archive key and to every officer in the profile's
 * org.json (never the server's list), and the officer device registers delegation and wraps
 * (POST /v1/orgs/:orgId/key-manager/rotations). Buckets registered under the old key keep
 * verifying through the chain; from now on bucket documents are signed with the new key, which
 * every officer's session takes from its wrap on the server (officer-session.ts).
 */
import { BucketPublicKey, openKeyManagerDelegation, sealKeyManagerDelegation } from '@custos/core';
import { b64u } from './ceremony-api.js';
import { ConsoleError } from './console-error.js';
import { delegationEnd, pinnedOrgSigningKey } from './delegation-reissue.js';
import { buildDelegationChain } from './key-manager-chain.js';
import { wrapKeyManagerKey } from './key-manager-wrap.js';
import { decodeOfficerPublicKey } from './officer-keys.js';
import { orgKeyManagerOf, recordDelegation } from './officer-profile-update.js';
import type { OfficerSession } from './officer-session.js';
import { fromB64u } from './profile-files.js';
import { keyFingerprint, SigningKey } from './signing-key.js';
import type { RootKeys } from './unlock-root.js';

/**
 * How far before `now` the new delegation starts: inside the server's allowed skew, and early
 * enough that the server's clock is past it, so buckets can be registered at once.
 */
export const ROTATION_START_LEAD_MS = 60_000;

/** The registered rotation. */
export interface KeyManagerRotated {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly keyManagerFingerprint: string;
  readonly previousFingerprint: string;
  /** Recipients the new key was wrapped to (`root` and officer indexes). */
  readonly wrappedTo: readonly string[];
}

/** Generates a new key-manager key, signs its delegation with the recovered org key and registers it. */
export async function rotateKeyManager(
  session: OfficerSession,
  root: RootKeys,
  days: number,
  now: number,
): Promise<KeyManagerRotated> {
  const signing = pinnedOrgSigningKey(session, root, days, 'rotating the key manager');
  const current = await session.orgKeys();
  const notBefore = now - ROTATION_START_LEAD_MS;
  const notAfter = delegationEnd(now, days);
  const next = SigningKey.generate();
  const delegation = sealKeyManagerDelegation({ key: next.publicKey, notBefore, notAfter }, signing);
  openKeyManagerDelegation(delegation, signing.publicKey);
  const org = session.officer.org;
  const info = (to: string) => ({ org: session.orgId, to, publicKey: next.publicKey });
  const wraps: { recipient: string; blob: string }[] = [];
  const rootKey = await BucketPublicKey.fromBytes(fromB64u(org.rootArchivePublicKey));
  wraps.push({ recipient: 'root', blob: b64u(await wrapKeyManagerKey(next, info('root'), rootKey)) });
  for (const o of org.officers) {
    const key = await BucketPublicKey.fromBytes(decodeOfficerPublicKey(fromB64u(o.publicKey)).hpke);
    const to = String(o.index);
    wraps.push({ recipient: to, blob: b64u(await wrapKeyManagerKey(next, info(to), key)) });
  }
  const r = await session.call('POST', `/v1/orgs/${session.orgId}/key-manager/rotations`, {
    delegation: b64u(delegation),
    wraps,
  });
  if (r.delegation !== b64u(delegation))
    throw new ConsoleError(
      'SERVER_REFUSED',
      'POST key-manager/rotations: the server stored another delegation',
    );
  const chain = buildDelegationChain(
    [...current.chain.map((l) => l.delegation), delegation],
    signing.publicKey,
  );
  recordDelegation(session.dir, orgKeyManagerOf(chain));
  return {
    notBefore,
    notAfter,
    keyManagerFingerprint: keyFingerprint(next.publicKey),
    previousFingerprint: keyFingerprint(current.keyManager.key),
    wrappedTo: wraps.map((w) => w.recipient),
  };
}
