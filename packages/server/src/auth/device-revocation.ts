/**
 * Revoking a device, by an admin (any device of the org) or by its own user (another of
 * their devices): the device's tokens are refused from its next request on (auth-guard
 * reads `revokedAt` every time) and the act is a `device.revoke` audit entry in the same
 * transaction, which also expires the unused enrolment and link codes the device issued
 * (unless it revokes itself). Once it commits, the device's open WebSockets close at once
 * (code 4003) on this node, and on every other node through the relay's cross-node wake-up
 * (PostgreSQL).
 */
import type { AuditSink } from '../audit/audit-sink.js';
import { handInDeadline, handInWindowMs } from './archive-hand-in.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { AppDeps } from '../http/route-def.js';
import { messagingOf } from '../relay/messaging-services.js';
import type { Stores } from '../store/stores.js';

/** Who revokes what. */
export interface DeviceRevocation {
  readonly orgId: OrgId;
  readonly deviceId: DeviceId;
  readonly actorDeviceId: DeviceId;
  /**
   * Set when a user revokes one of their own devices: a device of anyone else is then
   * DEVICE_NOT_FOUND (a member learns nothing about other users), and the audit detail is `own`.
   */
  readonly ownerUserId?: UserId;
  /**
   * Set when the device retires itself (its own user's choice, POST /v1/devices/retire): the
   * audit detail, `retire` or `retire stranded <first>-<last>` for the records it says it
   * could not upload first.
   */
  readonly retireDetail?: string;
  /**
   * Whether the device may still hand in the archive records it sealed before, for the
   * server's window (`archiveHandInDays`) from now: the deadline is stored with the revocation.
   * SECURITY: only when asked for, by an admin or by a user revoking another of their devices
   * (`allowHandIn`): another device is revoked mostly because it was lost or stolen, and its
   * thief holds its key (F5). A device retiring uploads first and needs none.
   */
  readonly allowHandIn: boolean;
  readonly now: number;
}

/** Revokes the device and records the audit entry, in `tx`; DEVICE_NOT_FOUND or DEVICE_ALREADY_REVOKED otherwise. */
async function revokeDevice(
  tx: Stores,
  audit: AuditSink,
  r: DeviceRevocation,
  handInUntil: number | null,
): Promise<void> {
  const device = await tx.devices.get(r.orgId, r.deviceId);
  if (device === undefined || (r.ownerUserId !== undefined && device.userId !== r.ownerUserId)) {
    throw new ServerError(
      'DEVICE_NOT_FOUND',
      r.ownerUserId === undefined
        ? 'params.deviceId: no such device'
        : 'params.deviceId: no such device of yours',
    );
  }
  if (!(await tx.devices.revoke(r.orgId, r.deviceId, r.now, handInUntil)))
    throw new ServerError('DEVICE_ALREADY_REVOKED');
  // SECURITY: a revoked device's unused codes MUST die with it: a stolen phone's link code, or
  // an admin device's code for a user with no device, would otherwise still enrol (the thief's
  // device) once no active device of the user is left to refuse it (enrolment-authority.ts).
  // A device revoking itself keeps them: the key ceremony's transient device issues the first
  // admin's code and then revokes itself, and the admin redeems that code later.
  // A device that retires is not the ceremony's: its codes die with it too.
  if (r.actorDeviceId !== r.deviceId || r.retireDetail !== undefined)
    await tx.enrolmentCodes.expireIssuedBy(r.orgId, r.deviceId, r.now);
  // Delivered to every node's sockets only if and when this transaction commits (PostgreSQL).
  await tx.relayQueue.announce(r.orgId, [r.deviceId], 'revoked');
  await audit.record(tx, r.orgId, {
    kind: 'device.revoke',
    actorDeviceId: r.actorDeviceId,
    subject: r.deviceId,
    detail: r.retireDetail ?? (r.ownerUserId === undefined ? null : 'own'),
    at: r.now,
  });
}

/**
 * Revokes in a transaction of its own ({@link revokeDevice}), then closes the device's open
 * sockets on this node; other nodes close theirs on the committed announcement. Resolves to
 * the hand-in deadline stored with the revocation (null: none).
 */
export async function revokeAndDisconnect(deps: AppDeps, r: DeviceRevocation): Promise<number | null> {
  const until = handInDeadline(r.allowHandIn, handInWindowMs(deps), r.now);
  await deps.stores.withTransaction((tx) => revokeDevice(tx, deps.audit, r, until));
  messagingOf(deps).hub.wake(r.orgId, r.deviceId, 'revoked');
  return until;
}
