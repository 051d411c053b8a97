/**
 * Rotating the key-manager key (docs/keys.md §5): a quorum recovers the org signing key and
 * signs a delegation naming a NEW key-manager key, valid from about now. The server keeps the
 * chain: the superseded delegation stays on record, so every bucket document registered under
 * an earlier key keeps verifying (against the delegation that was current when it was
 * registered), while new bucket documents must verify under the new one (key-registration.ts
 * always checks the current delegation). The new key's private half arrives wrapped to the
 * root archive key and to every officer the server knows (opaque to the server), so no officer
 * is left unable to sign bucket keys. The rotation is a `key-manager-rotated` key event in the
 * same transaction.
 */
import { openKeyManagerDelegation, type KeyManagerDelegation, isCustosError } from '@custos/core';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { KeyManagerRotation, OrgRecord } from '../store/records.js';
import type { Stores } from '../store/stores.js';
import { keyEvent, storedDelegation } from './key-registration.js';

/** Kind of the key event a rotation appends. */
export const KEY_MANAGER_ROTATED_EVENT_KIND = 'key-manager-rotated';
/**
 * How far a rotation's start may lie from the server's clock. A rotation takes over from its
 * start: one dated much earlier would let the new key sign buckets for a past the old key
 * already covered, one dated later would leave a gap in which no new bucket can be registered.
 */
export const ROTATION_START_SKEW_MS = 10 * 60_000;

/** A wrap of the new key-manager private key for one recipient (`root` or an officer index). */
export interface KeyManagerWrap {
  readonly recipient: string;
  readonly blob: Uint8Array;
}

/** Result of {@link rotateKeyManager}. */
export interface KeyManagerRotationResult {
  readonly keyManager: OrgRecord['keyManager'];
  /** False when this delegation was the current one already (nothing stored). */
  readonly changed: boolean;
}

function invalid(why: string): ServerError {
  return new ServerError('KEY_MANAGER_INVALID', `body.delegation: ${why}`);
}

/** The recipients a rotation must wrap the new key to: the root and every registered officer. */
export function rotationRecipients(org: OrgRecord): string[] {
  return ['root', ...org.officers.map((o) => String(o.index))];
}

/**
 * Verifies and installs a rotated delegation. Checks, in order: it verifies with the org
 * signing key; it names a key that is neither the current nor any earlier key-manager key; its
 * start is within ROTATION_START_SKEW_MS of now and after the current delegation's start, and
 * it is valid now; `wraps` names exactly the root and every officer. The current delegation
 * again is idempotent (changed: false).
 */
export async function rotateKeyManager(
  stores: Stores,
  orgId: OrgId,
  actor: DeviceId,
  delegation: Uint8Array,
  wraps: readonly KeyManagerWrap[],
  now: number,
): Promise<KeyManagerRotationResult> {
  return stores.withTransaction(async (tx) => {
    const org = await tx.orgs.get(orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    if (Buffer.compare(org.keyManager.delegation, Buffer.from(delegation)) === 0)
      return { keyManager: org.keyManager, changed: false };
    let next: KeyManagerDelegation;
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
    const history = await tx.orgs.keyManagerRotations(orgId);
    const usedKeys = [
      current.key,
      ...history.map((h) => openKeyManagerDelegation(h.superseded, org.signingPublicKey).key),
    ];
    if (usedKeys.some((k) => Buffer.compare(Buffer.from(k), Buffer.from(next.key)) === 0)) {
      throw invalid(
        'names a key-manager key this org has used: a rotation needs a new key (a longer window for the current key is PUT /v1/orgs/:orgId/key-manager)',
      );
    }
    if (Math.abs(next.notBefore - now) > ROTATION_START_SKEW_MS)
      throw invalid(
        `must start now (within ${ROTATION_START_SKEW_MS / 60_000} minutes of the server's clock)`,
      );
    if (next.notBefore <= current.notBefore) throw invalid('must start after the current delegation starts');
    if (next.notAfter < now) throw invalid('is not valid now');
    const need = rotationRecipients(org);
    const given = wraps.map((w) => w.recipient);
    const missing = need.filter((r) => !given.includes(r));
    const extra = given.filter((r, i) => !need.includes(r) || given.indexOf(r) !== i);
    if (missing.length > 0 || extra.length > 0) {
      throw new ServerError(
        'INVALID_REQUEST',
        `body.wraps: needs exactly one wrap for the root and each officer` +
          (missing.length > 0 ? ` (missing: ${missing.join(', ')})` : '') +
          (extra.length > 0 ? ` (not expected: ${extra.join(', ')})` : ''),
      );
    }
    const logIndex = await keyEvent(
      tx,
      orgId,
      actor,
      KEY_MANAGER_ROTATED_EVENT_KIND,
      'key-manager',
      delegation,
      now,
    );
    const rotation: KeyManagerRotation = {
      seq: history.length + 1,
      superseded: org.keyManager.delegation,
      delegation: Buffer.from(delegation),
      wraps: wraps.map((w) => ({ recipient: w.recipient, blob: Buffer.from(w.blob) })),
      rotatedBy: actor,
      rotatedAt: now,
      logIndex,
    };
    await tx.orgs.addKeyManagerRotation(orgId, rotation);
    const keyManager = {
      delegation: Buffer.from(delegation),
      notBefore: next.notBefore,
      notAfter: next.notAfter,
    };
    if (!(await tx.orgs.setKeyManager(orgId, keyManager))) throw new ServerError('ORG_NOT_FOUND');
    return { keyManager, changed: true };
  });
}

/**
 * The chain a verifier needs: every superseded delegation, oldest first, and the wraps of the
 * current key (empty while the org never rotated, or when the current key came from the ceremony).
 */
export async function keyManagerChain(
  stores: Stores,
  org: OrgRecord,
): Promise<{ previous: Buffer[]; wraps: { recipient: string; blob: Buffer }[] }> {
  const history = await stores.orgs.keyManagerRotations(org.orgId);
  const last = history.at(-1);
  let wraps: { recipient: string; blob: Buffer }[] = [];
  if (last !== undefined) {
    // A renewal after a rotation keeps the key: the last rotation's wraps are the current key's.
    const lastKey = openKeyManagerDelegation(last.delegation, org.signingPublicKey).key;
    const currentKey = storedDelegation(org).key;
    if (Buffer.compare(Buffer.from(lastKey), Buffer.from(currentKey)) === 0) wraps = [...last.wraps];
  }
  return { previous: history.map((h) => h.superseded), wraps };
}
