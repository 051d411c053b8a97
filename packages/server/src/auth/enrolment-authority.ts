/**
 * Who may add a device to a user. A user who has an active device adds more only from it (a
 * link code, `custos devices link`); an admin's enrolment code is for a user who has none
 * (never enrolled, code expired unused, only device lost and revoked). Without this rule an
 * admin could give any user a silent extra device and read what is sent to them from then on:
 * peers encrypt to every device the server lists, and the user's own devices would not object.
 *
 * The rule is checked twice: when a code is issued, and again when it is redeemed, since a
 * code issued while the user had no device may be redeemed after they enrolled with another.
 * A code counts as the user's own only while the device that issued it is active: a link
 * code issued by a phone later revoked as stolen enrols nothing once the user has a device.
 * Nor does it when the user has none left: revoking a device by another one expires the
 * unused codes it issued (device-revocation.ts), so the check here never sees them.
 */
import { LIST_PAGE_MAX } from '../config/defaults.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { DeviceRecord } from '../store/records.js';
import type { Stores } from '../store/stores.js';

/** The user's active (non-revoked) device with the lowest number, or undefined when none. */
async function firstActiveDevice(
  tx: Stores,
  orgId: OrgId,
  userId: UserId,
): Promise<DeviceRecord | undefined> {
  let found: DeviceRecord | undefined;
  for (let after: DeviceId | null = null; ;) {
    const page = await tx.devices.list(orgId, { after, limit: LIST_PAGE_MAX }, userId);
    for (const d of page) {
      if (d.revokedAt === null && (found === undefined || d.deviceNumber < found.deviceNumber)) found = d;
    }
    const last = page.at(-1);
    if (page.length < LIST_PAGE_MAX || last === undefined) return found;
    after = last.deviceId;
  }
}

/**
 * Refuses (USER_HAS_DEVICE) a device for `userId` authorised by `issuer` — the device that
 * issues or issued the code, or null for the bootstrap token's first-admin code — when the
 * user has an active device and `issuer` is not one of them. `at` says which check this is,
 * for the message. Run inside the transaction that issues or redeems the code, so that a
 * refusal leaves the store as it was (a redeemed code stays unused); it locks the user
 * (UserStore.lockForDevices) until that transaction ends.
 */
export async function assertMayAddDevice(
  tx: Stores,
  orgId: OrgId,
  userId: UserId,
  issuer: DeviceId | null,
  at: 'issue' | 'redeem',
): Promise<void> {
  // SECURITY: first, so that concurrent issues and redemptions for the user run one after
  // the other, each seeing the device the one before added (PostgreSQL's READ COMMITTED
  // would otherwise let two codes both find no device and both enrol one).
  await tx.users.lockForDevices(orgId, userId);
  const active = await firstActiveDevice(tx, orgId, userId);
  if (active === undefined) return;
  if (issuer !== null) {
    const by = await tx.devices.get(orgId, issuer);
    if (by !== undefined && by.userId === userId && by.revokedAt === null) return;
  }
  const what =
    at === 'issue'
      ? `user ${userId} has an active device (#${active.deviceNumber}), so an admin's code cannot add one`
      : `this code was not issued by an active device of user ${userId}, who has one now (#${active.deviceNumber})`;
  throw new ServerError(
    'USER_HAS_DEVICE',
    `${what}: the user links another device from it with 'custos devices link'; ` +
      "if that device is lost, an admin revokes it first ('custos admin revoke DEVICE'), then issues a code",
  );
}
