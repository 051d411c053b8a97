/**
 * Re-issuing the key-manager delegation (docs/keys.md §3): a quorum of officers recovers the
 * org signing key and signs a new delegation for the same key-manager key with a later end.
 * The server accepts it only if it verifies with the org signing key, names the current
 * key-manager key, starts no later and ends strictly later than the current one — so every
 * registered bucket document still verifies, and an old delegation cannot be replayed to cut
 * the window short. The change is a `key-manager-delegated` key event in the same transaction.
 */
import { openKeyManagerDelegation, isCustosError } from '@custos/core';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { OrgRecord } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import { keyEvent, storedDelegation } from './key-registration.js';

/** Kind of the key event a re-issued delegation appends. */
export const KEY_MANAGER_EVENT_KIND = 'key-manager-delegated';

/** The stored delegation after a renewal, and whether this call changed it. */
export interface KeyManagerRenewal {
  readonly keyManager: OrgRecord['keyManager'];
  readonly changed: boolean;
}

/** Verifies and stores a re-issued delegation; the current one again is idempotent. */
export async function renewKeyManager(
  stores: Stores,
  orgId: OrgId,
  actor: DeviceId,
  delegation: Uint8Array,
  now: number,
): Promise<KeyManagerRenewal> {
  return stores.withTransaction(async (tx) => {
    const org = await tx.orgs.get(orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    if (Buffer.compare(org.keyManager.delegation, Buffer.from(delegation)) === 0)
      return { keyManager: org.keyManager, changed: false };
    let next;
    try {
      next = openKeyManagerDelegation(delegation, org.signingPublicKey);
    } catch (e) {
      throw new ServerError(
        'KEY_MANAGER_INVALID',
        `body.delegation: ${isCustosError(e) ? e.message : 'does not verify'}`,
        { cause: e },
      );
    }
    const current = storedDelegation(org);
    if (Buffer.compare(Buffer.from(next.key), Buffer.from(current.key)) !== 0) {
      throw new ServerError(
        'KEY_MANAGER_INVALID',
        'body.delegation: names another key-manager key (registered bucket documents would stop verifying)',
      );
    }
    if (next.notBefore > current.notBefore || next.notAfter <= current.notAfter) {
      throw new ServerError(
        'KEY_MANAGER_INVALID',
        'body.delegation: must start no later and end later than the current delegation',
      );
    }
    if (now < next.notBefore || now > next.notAfter) {
      throw new ServerError('KEY_MANAGER_INVALID', 'body.delegation: not valid now');
    }
    const keyManager = {
      delegation: Buffer.from(delegation),
      notBefore: next.notBefore,
      notAfter: next.notAfter,
    };
    await keyEvent(tx, orgId, actor, KEY_MANAGER_EVENT_KIND, 'key-manager', delegation, now);
    if (!(await tx.orgs.setKeyManager(orgId, keyManager))) throw new ServerError('ORG_NOT_FOUND');
    return { keyManager, changed: true };
  });
}
