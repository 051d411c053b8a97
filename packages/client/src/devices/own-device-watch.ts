/**
 * Keeps this device's list of its own user's other devices current, so sync copies reach a
 * newly linked device. The messenger repairs a peer's device list from the server's
 * mismatched-devices answer, but a copy to oneself goes out only to devices already known:
 * a device linked since the list was cached would never get one. So before a send, the
 * list is re-read from `GET /v1/devices` while a link code this device issued may still be
 * used, and otherwise at most every OWN_DEVICES_REFRESH_MS. Both times live in the store, so
 * a client opened per command (the `custos` CLI) does not re-read on every send.
 *
 * Every read also tells the user of a device added to their account since this device last
 * looked (an `own-device-added` warning each): whoever holds a new device of theirs reads what
 * is sent to them from then on, so an addition they did not make must not go unnoticed. The
 * server refuses an admin's code for a user with an active device (USER_HAS_DEVICE); this is
 * the user's own check. A device added while the user had none active is seen by the next
 * device they enrol with an admin's code, on its first read ({@link warnOfNewOwnDevices}) —
 * if it is still active: one revoked before is not warned of (the user sees it in their device
 * list). Sync and connect read the list every time (CustosClient.sync, connect).
 */
import type { LocalStore } from '../store/local-store.js';
import { addWarning } from '../messaging/message-store.js';
import { getContact, saveContact, userAddress, type PeerDevice, type PeerUser } from '../messaging/peers.js';
import type { ApiClient } from '../transport/api-client.js';
import { listOwnDevices, type OwnDevice } from './own-devices.js';

/** How often a send re-reads the user's own devices when no link is pending. */
export const OWN_DEVICES_REFRESH_MS = 15 * 60 * 1000;

/**
 * Sets the cached device list of this user to the server's active devices other than this
 * one; resolves to whether a device was added. Revoked devices leave the list, and so do
 * devices with a number no honest server gives ({@link plausibleNumber}).
 */
export function reconcileOwnDevices(
  store: LocalStore,
  me: PeerUser,
  selfDeviceId: string,
  devices: readonly OwnDevice[],
): boolean {
  const known = getContact(store, me);
  const active: PeerDevice[] = devices
    .filter((d) => d.revokedAt === null && d.deviceId !== selfDeviceId && plausibleNumber(d, devices))
    .map((d) => ({ deviceId: d.deviceId, deviceNumber: d.deviceNumber }));
  const had = new Set((known?.devices ?? []).map((d) => `${d.deviceId}.${d.deviceNumber}`));
  const now = new Set(active.map((d) => `${d.deviceId}.${d.deviceNumber}`));
  const added = [...now].some((k) => !had.has(k));
  const removed = [...had].some((k) => !now.has(k));
  if (added || removed) saveContact(store, { ...(known ?? me), devices: active });
  return added;
}

/** Row of the `profile` table: the highest device number of this user already told of (or known). */
const SEEN_KEY = 'own-devices-seen';

/**
 * Row of the `profile` table written at enrolment: the user's own device whose link code
 * enrolled this one, or null for an admin's enrolment code. Absent in a profile enrolled
 * before it was kept (or from an older server).
 */
const ENROLMENT_KEY = 'own-devices-enrolment';

interface OwnEnrolment {
  readonly linkedFrom: string | null;
}

/** At enrolment: records which of the user's devices linked this one (null: an admin's code). */
export function noteOwnEnrolment(store: LocalStore, linkedFrom: string | null): void {
  const row: OwnEnrolment = { linkedFrom };
  store.putJson('profile', ENROLMENT_KEY, row);
}

/** The largest time a JavaScript Date holds (ms either side of the epoch). */
const MAX_DATE_MS = 8.64e15;

/**
 * `2026-11-28 05:12 UTC`: a device's enrolment time in a warning; `an unknown time` for one
 * no Date holds (the server's value: `toISOString` would throw, and the warning be lost).
 */
function utcMinute(ms: number): string {
  if (!(Math.abs(ms) <= MAX_DATE_MS)) return 'an unknown time';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * Whether a listed device's number is one an honest server gives: devices are numbered 1, 2,
 * … and every one stays listed (revoked ones too), so no number exceeds the list's length.
 */
function plausibleNumber(d: OwnDevice, devices: readonly OwnDevice[]): boolean {
  return d.deviceNumber >= 1 && d.deviceNumber <= devices.length;
}

/**
 * The number a device counts as when deciding what is new: its own, capped at the list's
 * length. Taken as is, a number near 2^53 from a faulty or lying server would become the
 * highest seen and silence every later warning for good; capped, the device is still warned
 * of (again each time the list grows) and a device added after it still is.
 */
function countedNumber(n: number, devices: readonly OwnDevice[]): number {
  return Math.min(n, devices.length);
}

/**
 * Records an `own-device-added` warning for each device of this user numbered above the last
 * one seen (device numbers only grow: revoked devices keep theirs), revoked ones included — a
 * device added, used and revoked between two reads was still added. Call before
 * {@link reconcileOwnDevices}, which updates the cached list.
 *
 * The first read (nothing seen yet) also looks below this device's own number:
 * - enrolled with an admin's code: every other active device is warned of. There should be
 *   none (the server refuses such a code to a user with one, USER_HAS_DEVICE); one that is
 *   there was added while the user had none active, where no device of theirs could see it.
 * - enrolled with a link code: the devices below are the linking device's to watch, and it
 *   did; none is warned of (the user linked this one from an active device of theirs).
 * - an upgraded profile (enrolled before this was kept): every active device not in its
 *   cached list, so not those it has long sent to, nor revoked ones it never knew.
 */
export function warnOfNewOwnDevices(
  store: LocalStore,
  me: PeerUser,
  self: { readonly deviceId: string; readonly deviceNumber: number },
  devices: readonly OwnDevice[],
  now: number,
): void {
  const known = getContact(store, me)?.devices ?? [];
  const counted = (n: number) => countedNumber(n, devices);
  const stored = store.getJson<number>('profile', SEEN_KEY);
  // A stored value above the list's length came from a server before that was capped.
  const seen = counted(stored ?? Math.max(self.deviceNumber, ...known.map((d) => d.deviceNumber)));
  const others = devices.filter((d) => d.deviceId !== self.deviceId);
  let added = others.filter((d) => counted(d.deviceNumber) > seen);
  if (stored === undefined) {
    const enrolment = store.getJson<OwnEnrolment>('profile', ENROLMENT_KEY);
    const cached = new Set(known.map((d) => d.deviceId));
    if (enrolment === undefined) {
      added = others.filter((d) => d.revokedAt === null && !cached.has(d.deviceId));
    } else if (enrolment.linkedFrom === null) {
      added = others.filter((d) => d.revokedAt === null || counted(d.deviceNumber) > seen);
    }
  }
  added.sort((a, b) => a.deviceNumber - b.deviceNumber);
  store.transaction(() => {
    for (const d of added) {
      const revoked = d.revokedAt === null ? '' : ` (revoked since, ${utcMinute(d.revokedAt)})`;
      addWarning(store, {
        at: now,
        kind: 'own-device-added',
        from: userAddress(me),
        detail: `a new device (#${d.deviceNumber}) was added to your account on ${utcMinute(d.createdAt)}${revoked}; if it was not you, revoke it ('custos devices revoke') and tell your security officer`,
      });
    }
    const highest = Math.max(seen, ...devices.map((d) => counted(d.deviceNumber)));
    if (highest !== store.getJson<number>('profile', SEEN_KEY)) store.putJson('profile', SEEN_KEY, highest);
  });
}

/** What the watch needs from the client. */
export interface OwnDeviceWatchDeps {
  readonly api: ApiClient;
  readonly store: LocalStore;
  readonly me: () => PeerUser;
  readonly deviceId: string;
  /** This device's number within its user: devices numbered above it were added after it. */
  readonly deviceNumber: number;
  readonly clock: () => number;
}

/** When the next read is due, and until when a link code this device issued may be used (ms). */
interface WatchTimes {
  readonly nextCheck: number;
  readonly linkPendingUntil: number;
}

/** Row of the `profile` table holding {@link WatchTimes}. */
const WATCH_KEY = 'own-devices-watch';

/** Per profile: when to re-read the user's own devices. Call its methods inside the client's serial queue. */
export class OwnDeviceWatch {
  constructor(private readonly deps: OwnDeviceWatchDeps) {}

  #times(): WatchTimes {
    return this.deps.store.getJson<WatchTimes>('profile', WATCH_KEY) ?? { nextCheck: 0, linkPendingUntil: 0 };
  }

  #save(t: WatchTimes): void {
    this.deps.store.putJson('profile', WATCH_KEY, t);
  }

  /** A link code was issued: re-read before each send until it expires or a new device shows up. */
  noteLinkCode(expiresAt: number): void {
    const t = this.#times();
    this.#save({ ...t, linkPendingUntil: Math.max(t.linkPendingUntil, expiresAt) });
  }

  /** Lists the user's devices, warns of new ones, and updates the cached list. */
  async list(): Promise<OwnDevice[]> {
    const devices = await listOwnDevices(this.deps.api);
    const { store, deviceId, deviceNumber } = this.deps;
    // The cached list is updated even when warning fails (what was seen then stays as it was,
    // so the next read warns again): sync copies must not stop reaching the user's devices.
    let failed: { readonly error: unknown } | undefined;
    try {
      warnOfNewOwnDevices(store, this.deps.me(), { deviceId, deviceNumber }, devices, this.deps.clock());
    } catch (error) {
      failed = { error };
    }
    const added = reconcileOwnDevices(store, this.deps.me(), deviceId, devices);
    const t = this.#times();
    this.#save({
      nextCheck: this.deps.clock() + OWN_DEVICES_REFRESH_MS,
      linkPendingUntil: added ? 0 : t.linkPendingUntil,
    });
    if (failed !== undefined) throw failed.error;
    return devices;
  }

  /**
   * On sync and connect: re-read now, so a device added to the account is warned of at once.
   * A failed read is ignored (the next one warns: what was seen only advances on a read).
   */
  async check(): Promise<void> {
    await this.list().catch(() => undefined);
  }

  /** Before a send: re-read when due. A failed read is ignored: the send goes to the devices known. */
  async beforeSend(): Promise<void> {
    const now = this.deps.clock();
    const t = this.#times();
    if (now < t.nextCheck && now >= t.linkPendingUntil) return;
    await this.list().catch(() => undefined);
  }
}
