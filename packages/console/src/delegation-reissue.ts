/**
 * Re-issuing the key-manager delegation (`custos org unlock --reissue-delegation`;
 * docs/officers.md §5). A quorum recovers the org signing key (unlock-root.ts); it signs a
 * delegation for the same key-manager key, from the current delegation's start to the end of
 * the UTC month `days` days from now, and the officer device registers it
 * (PUT /v1/orgs/:orgId/key-manager). Keeping the key and the start means every registered
 * bucket document still verifies; the server refuses anything else. The profile's org.json
 * takes the new delegation.
 */
import { openKeyManagerDelegation, sealKeyManagerDelegation } from '@custos/core';
import { monthStart } from './bucket-periods.js';
import { b64u } from './ceremony-api.js';
import { ConsoleError } from './console-error.js';
import { recordDelegation } from './officer-profile-update.js';
import type { OfficerSession, VerifiedOrgKeys } from './officer-session.js';
import { keyFingerprint, type SigningKey } from './signing-key.js';
import type { RootKeys } from './unlock-root.js';

/** Default validity of a re-issued delegation, in days from now (about 13 months). */
export const DEFAULT_DELEGATION_DAYS = 396;
/** Longest validity accepted, in days. */
export const MAX_DELEGATION_DAYS = 3 * 366;
const DAY_MS = 86_400_000;

/** The registered delegation. */
export interface ReissuedDelegation {
  readonly notBefore: number;
  readonly notAfter: number;
  /** False when the server already held exactly this delegation. */
  readonly changed: boolean;
  readonly keyManagerFingerprint: string;
}

/**
 * The end of a delegation re-issued for `days` from `now`; refuses (DELEGATION_TOO_SHORT) one
 * that would not extend the current delegation. Needs no key, so `custos org unlock` asks it
 * before the quorum's share files are opened (seconds of passphrase KDF) as well as here.
 */
export async function extendedDelegationEnd(
  session: OfficerSession,
  days: number,
  now: number,
): Promise<{ readonly current: VerifiedOrgKeys; readonly notAfter: number }> {
  const current = await session.orgKeys();
  const notAfter = delegationEnd(now, days);
  if (notAfter <= current.keyManager.notAfter) {
    throw new ConsoleError(
      'DELEGATION_TOO_SHORT',
      `the current delegation is valid until ${new Date(current.keyManager.notAfter).toISOString()}; ` +
        `--days ${days} would not extend it: give more days. Nothing was changed`,
    );
  }
  return { current, notAfter };
}

/** Signs and registers a delegation valid until the end of the month `days` days after `now`. */
export async function reissueDelegation(
  session: OfficerSession,
  root: RootKeys,
  days: number,
  now: number,
): Promise<ReissuedDelegation> {
  const signing = pinnedOrgSigningKey(session, root, days, 'signing a delegation');
  const { current, notAfter } = await extendedDelegationEnd(session, days, now);
  const delegation = sealKeyManagerDelegation(
    { key: current.keyManager.key, notBefore: current.keyManager.notBefore, notAfter },
    signing,
  );
  // Check our own signature before anything leaves the machine.
  openKeyManagerDelegation(delegation, signing.publicKey);
  const r = await session.call('PUT', `/v1/orgs/${session.orgId}/key-manager`, {
    delegation: b64u(delegation),
  });
  if (r.delegation !== b64u(delegation))
    throw new ConsoleError('SERVER_REFUSED', 'PUT key-manager: the server stored another delegation');
  recordDelegation(session.dir, {
    publicKey: b64u(current.keyManager.key),
    delegation: b64u(delegation),
    notBefore: current.keyManager.notBefore,
    notAfter,
  });
  return {
    notBefore: current.keyManager.notBefore,
    notAfter,
    changed: r.changed === true,
    keyManagerFingerprint: keyFingerprint(current.keyManager.key),
  };
}

/**
 * Checks `--days` and that the shares recovered the org signing key this officer profile pins,
 * and returns it; `act` names what needs it in the error ("signing a delegation", …).
 */
export function pinnedOrgSigningKey(
  session: OfficerSession,
  root: RootKeys,
  days: number,
  act: string,
): SigningKey {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DELEGATION_DAYS)
    throw new ConsoleError('INVALID_OPTIONS', `--days must be an integer from 1 to ${MAX_DELEGATION_DAYS}`);
  const signing = root.signingKey;
  if (signing === undefined) {
    throw new ConsoleError(
      'INVALID_OPTIONS',
      `${act} needs the org signing key: give org-signing-key share files (or share folders)`,
    );
  }
  if (
    root.orgId !== session.orgId ||
    keyFingerprint(signing.publicKey) !== session.officer.profile.signingKeyFingerprint
  ) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      "the shares recover another org's signing key than this profile pins",
    );
  }
  return signing;
}

/** A delegation's last millisecond: the end of the UTC month `days` days after `now`. */
export function delegationEnd(now: number, days: number): number {
  return monthStart(now + days * DAY_MS, 1) - 1;
}
