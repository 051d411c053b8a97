/**
 * Binding an officer device to its officer (docs/officers.md §2; separation of duties, NIST
 * AC-5). An admin can give any user the role officer and enrol a device for them; only an
 * officer holds an officer signing key. So the role alone does not make a device an officer:
 * the officer signs a binding (core org-docs/officer-device-binding.ts) naming the org, the
 * device, its identity key and their officer index, and the server keeps it only when it
 * verifies with that officer's key in the org's current list. From then on the device acts for
 * that officer index (auth-guard.ts, requireOfficerBinding), until the officer leaves the list.
 *
 * A binding is an `officer.bind` audit act (subject the device, detail `officer=<index>
 * statement-sha256=<hex>`), so the log says which officer stands behind every act of that
 * device. Bindings never change: a device bound to one officer cannot be bound to another.
 */
import {
  findingAcknowledgementActDetail,
  isCustosError,
  openOfficerDeviceBinding,
  type OfficerDeviceBinding,
} from '@custos/core';
import type { AuditSink } from '../audit/audit-sink.js';
import { ServerError } from '../errors.js';
import type { AuthContext } from '../http/route-def.js';
import type { Stores } from '../store/stores.js';
import { sha256 } from '../crypto/secrets.js';
import { officerSigningKey } from './officer-signing-key.js';

/** How far a binding's issue time may lie from the server's clock (as for officer lists). */
export const OFFICER_BINDING_SKEW_MS = 10 * 60_000;

/** The device's binding after the call. */
export interface OfficerBound {
  readonly officerIndex: number;
  readonly boundAt: number;
  /** False when the device was already bound to this officer (nothing stored, no act). */
  readonly stored: boolean;
}

const invalid = (why: string, cause?: unknown): ServerError =>
  new ServerError(
    'OFFICER_BINDING_INVALID',
    `body.statement: ${why}`,
    cause === undefined ? undefined : { cause },
  );

/**
 * Verifies `statement` as the calling device's binding and stores it with an `officer.bind`
 * act; the same officer again changes nothing. OFFICER_BINDING_INVALID names what is wrong.
 */
export async function bindOfficerDevice(
  stores: Stores,
  audit: AuditSink,
  auth: AuthContext,
  statement: Uint8Array,
  now: number,
): Promise<OfficerBound> {
  return stores.withTransaction(async (tx) => {
    // Read in the transaction that stores the binding, under the officer-list lock (as the
    // acknowledgement route and execution take it), so a concurrent officer-list change cannot
    // slip between the check and the insert unseen (the guard rechecks every request).
    await tx.orgs.lockOfficerList(auth.orgId);
    const org = await tx.orgs.get(auth.orgId);
    if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
    let b: OfficerDeviceBinding;
    try {
      b = openOfficerDeviceBinding(statement, (i) => {
        const key = officerSigningKey(org, i);
        if (key === null)
          throw invalid(
            `officer index ${i} is not in the org's current officer list (or has no signing key)`,
          );
        return key;
      });
    } catch (e) {
      if (e instanceof ServerError) throw e;
      throw invalid(isCustosError(e) ? e.message : 'does not verify', e);
    }
    if (b.org !== auth.orgId) throw invalid('names another organisation');
    if (b.deviceId !== auth.deviceId) throw invalid('names another device than the caller');
    const identityHash = sha256(auth.device.identityKey);
    if (!identityHash.equals(b.identityKeyHash))
      throw invalid("names another identity key than the calling device's");
    if (Math.abs(b.issuedAt - now) > OFFICER_BINDING_SKEW_MS)
      throw invalid(
        `must be issued now (within ${OFFICER_BINDING_SKEW_MS / 60_000} minutes of the server's clock)`,
      );
    const officer = org.officers.find((o) => o.index === b.officerIndex);
    if (officer === undefined) throw invalid(`officer index ${b.officerIndex} is not listed`);
    const r = await tx.devices.bindOfficer(auth.orgId, auth.deviceId, {
      officerIndex: b.officerIndex,
      officerPublicKey: officer.publicKey,
      statement: Buffer.from(statement),
      boundAt: now,
    });
    if (!r.stored) {
      if (r.binding.officerIndex !== b.officerIndex)
        throw invalid(
          `this device is already bound to officer index ${r.binding.officerIndex}: an officer device serves one officer (enrol another device)`,
        );
      return { officerIndex: r.binding.officerIndex, boundAt: r.binding.boundAt, stored: false };
    }
    await audit.record(tx, auth.orgId, {
      kind: 'officer.bind',
      actorDeviceId: auth.deviceId,
      subject: auth.deviceId,
      detail: `officer=${b.officerIndex} ${findingAcknowledgementActDetail(statement)}`,
      at: now,
    });
    return { officerIndex: b.officerIndex, boundAt: now, stored: true };
  });
}

/**
 * The officer index the calling device is bound to. Officer routes always have it (the guard,
 * requireOfficerBinding, sets it or refuses); a route that reached here without it is refused
 * rather than let a decision through unchecked.
 */
export function boundOfficerIndex(auth: AuthContext): number {
  if (auth.officerIndex === undefined)
    throw new ServerError('OFFICER_NOT_BOUND', 'this device is not bound to an officer of the org');
  return auth.officerIndex;
}

/**
 * Refuses an officer's signed decision (a disposition approval, a finding acknowledgement) that
 * the calling device submits for another officer than the one it is bound to: the signature
 * alone would verify, but the audit act names the device, and through its binding the officer
 * behind it, so it must be that officer's own (OFFICER_NOT_SIGNER). `actingOfficer` is the
 * caller's bound officer index ({@link boundOfficerIndex}).
 */
export function requireOwnOfficer(actingOfficer: number, signedAs: number, where: string): void {
  if (actingOfficer === signedAs) return;
  throw new ServerError(
    'OFFICER_NOT_SIGNER',
    `${where}: signed as officer ${signedAs}, but this device is bound to officer ${actingOfficer}; nothing was recorded`,
  );
}
